// Output records of the processor (issue #5). TypeBox, so one declaration gives the static type, the
// validator the tests use and the JSON Schema the sink derives its Parquet columns from. Every record
// is closed and carries `v`; nullable fields are present with null (never missing), as in contracts.
import {
  EpochMsSchema,
  IdSchema,
  literalUnion,
  nullable,
  ORDER_CHANNELS,
  SchemaVersionSchema,
  Uuidv7Schema,
} from '@pedepronto/contracts'
import { type Static, Type } from '@sinclair/typebox'

export const FACT_END_STATUSES = ['picked_up', 'cancelled', 'rejected'] as const
export type FactEndStatus = (typeof FACT_END_STATUSES)[number]

/** Signed: stage times come from different device clocks (customer vs kitchen), which may be skewed. */
const DurationMs = Type.Integer({ description: 'Milliseconds between two event times (may be negative)' })

export const OrderFactSchema = Type.Object(
  {
    v: SchemaVersionSchema,
    order_id: IdSchema,
    restaurant_id: IdSchema,
    device_id: IdSchema,
    customer_id: IdSchema,
    channel: literalUnion(ORDER_CHANNELS),
    end_status: literalUnion(FACT_END_STATUSES),
    placed_at: EpochMsSchema,
    ended_at: EpochMsSchema,
    placed_to_accepted_ms: nullable(DurationMs),
    accepted_to_ready_ms: nullable(DurationMs),
    ready_to_picked_up_ms: nullable(DurationMs),
    total_cents: Type.Integer({ minimum: 0 }),
    item_count: Type.Integer({ minimum: 1 }),
    rating: nullable(Type.Integer({ minimum: 1, maximum: 5 })),
    rated_at: nullable(EpochMsSchema),
  },
  { additionalProperties: false, title: 'OrderFact' },
)
export type OrderFact = Static<typeof OrderFactSchema>

export const RestaurantKpiSchema = Type.Object(
  {
    v: SchemaVersionSchema,
    restaurant_id: IdSchema,
    window_start: EpochMsSchema,
    window_end: EpochMsSchema,
    orders_placed: Type.Integer({ minimum: 0 }),
    revenue_cents: Type.Integer({ minimum: 0, description: 'Total of orders picked up in the window' }),
    cancellations: Type.Integer({ minimum: 0 }),
    prep_count: Type.Integer({ minimum: 0 }),
    prep_mean_ms: nullable(Type.Integer()),
    prep_p95_ms: nullable(Type.Integer()),
    rating_count: Type.Integer({ minimum: 0 }),
    rating_mean: nullable(Type.Number({ minimum: 1, maximum: 5 })),
    open_orders: Type.Integer({ description: 'Orders placed and not ended at window end' }),
  },
  { additionalProperties: false, title: 'RestaurantKpi' },
)
export type RestaurantKpi = Static<typeof RestaurantKpiSchema>

export const ALERT_KINDS = [
  'order_stuck',
  'sensor_out_of_range',
  'device_offline',
  'illegal_transition',
  'unknown_order',
] as const
export type AlertKind = (typeof ALERT_KINDS)[number]

export const AlertSchema = Type.Object(
  {
    v: SchemaVersionSchema,
    alert_id: Uuidv7Schema,
    kind: literalUnion(ALERT_KINDS),
    restaurant_id: IdSchema,
    device_id: nullable(IdSchema),
    order_id: nullable(IdSchema),
    event_time: EpochMsSchema,
    detail: Type.String({ maxLength: 500 }),
  },
  { additionalProperties: false, title: 'Alert' },
)
export type Alert = Static<typeof AlertSchema>

export const CONTRIBUTION_KINDS = ['placed', 'cancelled', 'rejected', 'picked_up', 'ready', 'rated'] as const
export type ContributionKind = (typeof CONTRIBUTION_KINDS)[number]

export const LateEventSchema = Type.Object(
  {
    v: SchemaVersionSchema,
    event_id: Uuidv7Schema,
    kind: literalUnion(CONTRIBUTION_KINDS),
    restaurant_id: IdSchema,
    order_id: IdSchema,
    event_time: EpochMsSchema,
    window_start: EpochMsSchema,
    watermark: Type.Integer({ description: 'Watermark of the source partition when it was judged late' }),
  },
  { additionalProperties: false, title: 'LateEvent' },
)
export type LateEvent = Static<typeof LateEventSchema>

/**
 * Internal (repartition topic): one order event's share of a restaurant window, judged late or not
 * by stage 1 against its source partition's watermark (see core/orders.ts for why there).
 */
export interface Contribution {
  t: 'c'
  kind: ContributionKind
  event_id: string
  restaurant_id: string
  order_id: string
  event_time: number
  late: boolean
  watermark: number
  placed: number
  revenue_cents: number
  cancelled: number
  prep_ms: number | null
  rating: number | null
  open_delta: number
}

/** Internal (repartition topic): stage-1 source partition `source` has reached watermark `wm`. */
export interface WatermarkMarker {
  t: 'w'
  source: number
  sources: number
  wm: number
}

export type RepartitionRecord = Contribution | WatermarkMarker
