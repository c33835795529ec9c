// Device events: envelope + payload, a union discriminated on `type`. Wire JSON is snake_case and
// every object is closed (additionalProperties: false) so that a typo is an error, not a silent drop.
import { type Static, type TSchema, Type } from '@sinclair/typebox'
import {
  EpochMsSchema,
  IdSchema,
  literalUnion,
  nullable,
  SchemaVersionSchema,
  SeqSchema,
  TransportSchema,
  Uuidv7Schema,
} from './common.js'
import { ORDER_STATUSES } from './order-status.js'

export const EVENT_TYPES = [
  'order.placed',
  'order.status_changed',
  'order.rated',
  'device.telemetry',
  'device.heartbeat',
] as const
export type EventType = (typeof EVENT_TYPES)[number]
export const EventTypeSchema = literalUnion(EVENT_TYPES, { description: 'Event type' })

export const ORDER_CHANNELS = ['kiosk', 'table', 'app'] as const
export type OrderChannel = (typeof ORDER_CHANNELS)[number]

export const CURRENCIES = ['BRL'] as const
export type Currency = (typeof CURRENCIES)[number]

export const SENSORS = ['fridge_temp', 'freezer_temp', 'fryer_oil_temp', 'ambient_temp', 'humidity'] as const
export type Sensor = (typeof SENSORS)[number]

export const UNITS = ['celsius', 'percent'] as const
export type Unit = (typeof UNITS)[number]

/** The one unit each sensor reports in; checked semantically because JSON Schema cannot pair enums. */
export const SENSOR_UNITS: { readonly [S in Sensor]: Unit } = {
  fridge_temp: 'celsius',
  freezer_temp: 'celsius',
  fryer_oil_temp: 'celsius',
  ambient_temp: 'celsius',
  humidity: 'percent',
}

export const ORDER_MAX_ITEMS = 50
export const ITEM_MAX_QUANTITY = 99
export const UNIT_PRICE_MAX_CENTS = 10_000_000
export const RATING_COMMENT_MAX_LENGTH = 500
export const STATUS_REASON_MAX_LENGTH = 200

export const OrderStatusSchema = literalUnion(ORDER_STATUSES, { description: 'Order status' })

export const OrderItemSchema = Type.Object(
  {
    sku: IdSchema,
    name: Type.String({ minLength: 1, maxLength: 80 }),
    quantity: Type.Integer({ minimum: 1, maximum: ITEM_MAX_QUANTITY }),
    // Money is integer cents (DESIGN.md "Contracts"): floats cannot represent 0.1 BRL exactly.
    unit_price_cents: Type.Integer({ minimum: 0, maximum: UNIT_PRICE_MAX_CENTS }),
  },
  { additionalProperties: false },
)

export const OrderPlacedPayloadSchema = Type.Object(
  {
    order_id: IdSchema,
    customer_id: IdSchema,
    channel: literalUnion(ORDER_CHANNELS),
    items: Type.Array(OrderItemSchema, { minItems: 1, maxItems: ORDER_MAX_ITEMS }),
    // Semantic rule (validate.ts): equals Σ quantity × unit_price_cents.
    total_cents: Type.Integer({ minimum: 0 }),
    currency: literalUnion(CURRENCIES),
    notify_device_id: Type.Optional(IdSchema),
    table: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
  },
  { additionalProperties: false },
)

export const OrderStatusChangedPayloadSchema = Type.Object(
  {
    order_id: IdSchema,
    // null: the first event of an order (it did not exist before).
    from: nullable(OrderStatusSchema),
    to: OrderStatusSchema,
    // Semantic rule (validate.ts): required when `to` is cancelled or rejected.
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: STATUS_REASON_MAX_LENGTH })),
  },
  { additionalProperties: false },
)

export const OrderRatedPayloadSchema = Type.Object(
  {
    order_id: IdSchema,
    rating: Type.Integer({ minimum: 1, maximum: 5 }),
    comment: Type.Optional(Type.String({ maxLength: RATING_COMMENT_MAX_LENGTH })),
  },
  { additionalProperties: false },
)

export const DeviceTelemetryPayloadSchema = Type.Object(
  {
    sensor: literalUnion(SENSORS),
    // TypeBox's default policy (AllowNaN = false) rejects NaN and ±Infinity for Type.Number.
    value: Type.Number(),
    // Semantic rule (validate.ts): equals SENSOR_UNITS[sensor].
    unit: literalUnion(UNITS),
  },
  { additionalProperties: false },
)

export const DeviceHeartbeatPayloadSchema = Type.Object(
  {
    uptime_s: Type.Integer({ minimum: 0 }),
    firmware: Type.String({ minLength: 1, maxLength: 32 }),
    // null = mains powered, so "no battery" is not confused with "battery empty".
    battery_pct: nullable(Type.Integer({ minimum: 0, maximum: 100 })),
    // null = wired link (serial, Ethernet) with no radio.
    rssi_dbm: nullable(Type.Integer({ minimum: -130, maximum: 0 })),
  },
  { additionalProperties: false },
)

const envelopeHead = {
  v: SchemaVersionSchema,
  event_id: Uuidv7Schema,
}
const envelopeTail = {
  device_id: IdSchema,
  restaurant_id: IdSchema,
  event_time: EpochMsSchema,
  seq: SeqSchema,
}
const ingestProperties = {
  received_at: EpochMsSchema,
  gateway_id: IdSchema,
  transport: TransportSchema,
}

function eventSchema<K extends EventType, P extends TSchema>(type: K, payload: P) {
  return Type.Object(
    { ...envelopeHead, type: Type.Literal(type), ...envelopeTail, payload },
    { additionalProperties: false, title: `DeviceEvent ${type}` },
  )
}

function ingestedSchema<K extends EventType, P extends TSchema>(type: K, payload: P) {
  return Type.Object(
    { ...envelopeHead, type: Type.Literal(type), ...envelopeTail, payload, ...ingestProperties },
    { additionalProperties: false, title: `IngestedEvent ${type}` },
  )
}

export const OrderPlacedEventSchema = eventSchema('order.placed', OrderPlacedPayloadSchema)
export const OrderStatusChangedEventSchema = eventSchema(
  'order.status_changed',
  OrderStatusChangedPayloadSchema,
)
export const OrderRatedEventSchema = eventSchema('order.rated', OrderRatedPayloadSchema)
export const DeviceTelemetryEventSchema = eventSchema('device.telemetry', DeviceTelemetryPayloadSchema)
export const DeviceHeartbeatEventSchema = eventSchema('device.heartbeat', DeviceHeartbeatPayloadSchema)

/** Every device event, any transport. */
export const DeviceEventSchema = Type.Union(
  [
    OrderPlacedEventSchema,
    OrderStatusChangedEventSchema,
    OrderRatedEventSchema,
    DeviceTelemetryEventSchema,
    DeviceHeartbeatEventSchema,
  ],
  { title: 'DeviceEvent' },
)

/** Per-type schemas, for dispatch on `type` (precise error paths) and for per-table derivations. */
export const EVENT_SCHEMAS = {
  'order.placed': OrderPlacedEventSchema,
  'order.status_changed': OrderStatusChangedEventSchema,
  'order.rated': OrderRatedEventSchema,
  'device.telemetry': DeviceTelemetryEventSchema,
  'device.heartbeat': DeviceHeartbeatEventSchema,
} as const satisfies { [K in EventType]: TSchema }

export const OrderPlacedIngestedSchema = ingestedSchema('order.placed', OrderPlacedPayloadSchema)
export const OrderStatusChangedIngestedSchema = ingestedSchema(
  'order.status_changed',
  OrderStatusChangedPayloadSchema,
)
export const OrderRatedIngestedSchema = ingestedSchema('order.rated', OrderRatedPayloadSchema)
export const DeviceTelemetryIngestedSchema = ingestedSchema('device.telemetry', DeviceTelemetryPayloadSchema)
export const DeviceHeartbeatIngestedSchema = ingestedSchema('device.heartbeat', DeviceHeartbeatPayloadSchema)

/** What the gateway writes to Kafka: the device event plus receive time, gateway id and transport. */
export const IngestedEventSchema = Type.Union(
  [
    OrderPlacedIngestedSchema,
    OrderStatusChangedIngestedSchema,
    OrderRatedIngestedSchema,
    DeviceTelemetryIngestedSchema,
    DeviceHeartbeatIngestedSchema,
  ],
  { title: 'IngestedEvent' },
)

export const INGESTED_EVENT_SCHEMAS = {
  'order.placed': OrderPlacedIngestedSchema,
  'order.status_changed': OrderStatusChangedIngestedSchema,
  'order.rated': OrderRatedIngestedSchema,
  'device.telemetry': DeviceTelemetryIngestedSchema,
  'device.heartbeat': DeviceHeartbeatIngestedSchema,
} as const satisfies { [K in EventType]: TSchema }

/** Envelope with an unchecked payload: the fallback when `type` is missing or unknown. */
export const EventEnvelopeSchema = Type.Object(
  { ...envelopeHead, type: EventTypeSchema, ...envelopeTail, payload: Type.Unknown() },
  { additionalProperties: false, title: 'EventEnvelope' },
)
export const IngestedEnvelopeSchema = Type.Object(
  { ...envelopeHead, type: EventTypeSchema, ...envelopeTail, payload: Type.Unknown(), ...ingestProperties },
  { additionalProperties: false, title: 'IngestedEnvelope' },
)

export type OrderItem = Static<typeof OrderItemSchema>
export type OrderPlacedPayload = Static<typeof OrderPlacedPayloadSchema>
export type OrderStatusChangedPayload = Static<typeof OrderStatusChangedPayloadSchema>
export type OrderRatedPayload = Static<typeof OrderRatedPayloadSchema>
export type DeviceTelemetryPayload = Static<typeof DeviceTelemetryPayloadSchema>
export type DeviceHeartbeatPayload = Static<typeof DeviceHeartbeatPayloadSchema>

export type OrderPlacedEvent = Static<typeof OrderPlacedEventSchema>
export type OrderStatusChangedEvent = Static<typeof OrderStatusChangedEventSchema>
export type OrderRatedEvent = Static<typeof OrderRatedEventSchema>
export type DeviceTelemetryEvent = Static<typeof DeviceTelemetryEventSchema>
export type DeviceHeartbeatEvent = Static<typeof DeviceHeartbeatEventSchema>
export type DeviceEvent = Static<typeof DeviceEventSchema>
export type IngestedEvent = Static<typeof IngestedEventSchema>

export type EventOf<T extends EventType> = Extract<DeviceEvent, { type: T }>
export type PayloadOf<T extends EventType> = EventOf<T>['payload']
export type OrderEvent = EventOf<'order.placed' | 'order.status_changed' | 'order.rated'>

/** Fields the gateway adds when it accepts an event. */
export interface IngestMeta {
  receivedAt: number
  gatewayId: string
  transport: Static<typeof TransportSchema>
}

/** The ingested form of a validated device event (same field order as the schema). */
export function toIngested(event: DeviceEvent, meta: IngestMeta): IngestedEvent {
  return {
    ...event,
    received_at: meta.receivedAt,
    gateway_id: meta.gatewayId,
    transport: meta.transport,
  }
}

/** The device event inside an ingested one, e.g. to re-check it or to compare with the original. */
export function fromIngested(event: IngestedEvent): DeviceEvent {
  const { received_at: _r, gateway_id: _g, transport: _t, ...device } = event
  return device as DeviceEvent
}
