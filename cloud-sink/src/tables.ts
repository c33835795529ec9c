/**
 * The lake's tables: one typed column list per table, the single source for the Parquet schema
 * (parquet.ts), the Glue columns (glue.ts) and the Athena/Redshift DDL (sql.ts). Raw tables are
 * derived from the contracts' ingested event schemas (payloads flattened, one nullable column per
 * payload field of any event type in the table); the processor's outputs (order_facts,
 * restaurant_kpis, alerts) are defined here from their column lists so that they can be aligned with
 * edge-processor/src/schemas.ts later without a code dependency.
 *
 * Evolution rule (as Iceberg/Glue expect): columns are only ever *added*, at the end, nullable.
 * `checkEvolution` enforces it; old files then read through `union_by_name` with NULLs.
 */
import {
  type IngestedEvent,
  KAFKA_TOPICS,
  type KafkaTopicId,
  parseIngestedEvent,
} from '@pedepronto/contracts'

export type ColumnType = 'string' | 'int64' | 'double' | 'timestamp_ms'

export interface ColumnDef {
  readonly name: string
  readonly type: ColumnType
  readonly nullable: boolean
  readonly description: string
}

export type CellValue = string | number | null
export type Row = Record<string, CellValue>

export type RowResult = { ok: true; row: Row; eventTime: number } | { ok: false; reason: string }

export type TableName = 'order_events' | 'telemetry' | 'order_facts' | 'restaurant_kpis' | 'alerts'

export interface TableDef {
  readonly name: TableName
  /** The Kafka topic (contracts id) the table is fed from. */
  readonly topic: KafkaTopicId
  /** Column whose value partitions the files (dt/hr) — always event time, never arrival time. */
  readonly eventTimeColumn: string
  readonly columns: readonly ColumnDef[]
  readonly description: string
  /** Turns a Kafka record value into a row, or says why it does not fit the table. */
  toRow(value: Buffer | null): RowResult
}

const c = (name: string, type: ColumnType, nullable: boolean, description: string): ColumnDef => ({
  name,
  type,
  nullable,
  description,
})

const envelopeColumns: readonly ColumnDef[] = [
  c('event_id', 'string', false, 'UUIDv7 of the event (dedup key)'),
  c('type', 'string', false, 'event type'),
  c('v', 'int64', false, 'schema version of the envelope'),
  c('device_id', 'string', false, 'device that produced the event'),
  c('restaurant_id', 'string', false, 'restaurant of the device'),
  c('event_time', 'timestamp_ms', false, 'device event time (UTC); partitions the files'),
  c('received_at', 'timestamp_ms', false, 'gateway receive time (UTC)'),
  c('seq', 'int64', false, 'per-device sequence number'),
  c('gateway_id', 'string', false, 'gateway that accepted the event'),
  c('transport', 'string', false, 'mqtt, mqtts, ws or serial'),
]

function envelopeRow(e: IngestedEvent): Row {
  return {
    event_id: e.event_id,
    type: e.type,
    v: e.v,
    device_id: e.device_id,
    restaurant_id: e.restaurant_id,
    event_time: e.event_time,
    received_at: e.received_at,
    seq: e.seq,
    gateway_id: e.gateway_id,
    transport: e.transport,
  }
}

function nullRow(columns: readonly ColumnDef[]): Row {
  const row: Row = {}
  for (const col of columns) row[col.name] = null
  return row
}

type ParsedIngested = { ok: true; event: IngestedEvent } | { ok: false; reason: string }

function parseIngested(value: Buffer | null): ParsedIngested {
  if (value === null) return { ok: false, reason: 'tombstone: the record has no value' }
  const parsed = parseIngestedEvent(value)
  if (!parsed.ok) {
    const detail = parsed.errors.map((e) => `${e.path || '/'}: ${e.message}`).join('; ')
    return { ok: false, reason: `${parsed.reason}: ${detail}` }
  }
  return { ok: true, event: parsed.value }
}

const orderEventColumns: readonly ColumnDef[] = [
  ...envelopeColumns,
  c('order_id', 'string', false, 'order the event belongs to'),
  c('status_from', 'string', true, 'order.status_changed: previous status (null for a new order)'),
  c('status_to', 'string', true, 'order.status_changed: new status'),
  c('reason', 'string', true, 'order.status_changed: why (cancelled, rejected)'),
  c('rating', 'int64', true, 'order.rated: 1–5'),
  c('comment', 'string', true, 'order.rated: optional comment'),
  c('total_cents', 'int64', true, 'order.placed: total in integer cents'),
  c('currency', 'string', true, 'order.placed: ISO currency (BRL)'),
  c('item_count', 'int64', true, 'order.placed: Σ quantity'),
  c('line_count', 'int64', true, 'order.placed: number of item lines'),
  c('channel', 'string', true, 'order.placed: kiosk, table or app'),
  c('customer_id', 'string', true, 'order.placed: customer'),
  c('notify_device_id', 'string', true, 'order.placed: pager or app to notify'),
  c('table_label', 'string', true, 'order.placed: table number or name'),
  c('items_json', 'string', true, 'order.placed: items as JSON (sku, name, quantity, unit_price_cents)'),
]

export const ORDER_EVENTS: TableDef = {
  name: 'order_events',
  topic: 'orders',
  eventTimeColumn: 'event_time',
  columns: orderEventColumns,
  description: 'Ingested order.* events, one row per event, payload flattened',
  toRow(value) {
    const parsed = parseIngested(value)
    if (!parsed.ok) return parsed
    const e = parsed.event
    const row: Row = { ...nullRow(orderEventColumns), ...envelopeRow(e) }
    switch (e.type) {
      case 'order.placed':
        row.order_id = e.payload.order_id
        row.total_cents = e.payload.total_cents
        row.currency = e.payload.currency
        row.item_count = e.payload.items.reduce((sum, item) => sum + item.quantity, 0)
        row.line_count = e.payload.items.length
        row.channel = e.payload.channel
        row.customer_id = e.payload.customer_id
        row.notify_device_id = e.payload.notify_device_id ?? null
        row.table_label = e.payload.table ?? null
        row.items_json = JSON.stringify(e.payload.items)
        break
      case 'order.status_changed':
        row.order_id = e.payload.order_id
        row.status_from = e.payload.from
        row.status_to = e.payload.to
        row.reason = e.payload.reason ?? null
        break
      case 'order.rated':
        row.order_id = e.payload.order_id
        row.rating = e.payload.rating
        row.comment = e.payload.comment ?? null
        break
      default:
        return {
          ok: false,
          reason: `type ${e.type} does not belong to table order_events (topic pp.orders.v1)`,
        }
    }
    return { ok: true, row, eventTime: e.event_time }
  },
}

const telemetryColumns: readonly ColumnDef[] = [
  ...envelopeColumns,
  c('sensor', 'string', true, 'device.telemetry: sensor kind'),
  c('value', 'double', true, 'device.telemetry: reading'),
  c('unit', 'string', true, 'device.telemetry: celsius or percent'),
  c('uptime_s', 'int64', true, 'device.heartbeat: seconds since boot'),
  c('firmware', 'string', true, 'device.heartbeat: firmware version'),
  c('battery_pct', 'int64', true, 'device.heartbeat: battery (null = mains powered)'),
  c('rssi_dbm', 'int64', true, 'device.heartbeat: signal (null = wired)'),
]

export const TELEMETRY: TableDef = {
  name: 'telemetry',
  topic: 'telemetry',
  eventTimeColumn: 'event_time',
  columns: telemetryColumns,
  description: 'Ingested device.telemetry and device.heartbeat events, nullable columns per kind',
  toRow(value) {
    const parsed = parseIngested(value)
    if (!parsed.ok) return parsed
    const e = parsed.event
    const row: Row = { ...nullRow(telemetryColumns), ...envelopeRow(e) }
    switch (e.type) {
      case 'device.telemetry':
        row.sensor = e.payload.sensor
        row.value = e.payload.value
        row.unit = e.payload.unit
        break
      case 'device.heartbeat':
        row.uptime_s = e.payload.uptime_s
        row.firmware = e.payload.firmware
        row.battery_pct = e.payload.battery_pct
        row.rssi_dbm = e.payload.rssi_dbm
        break
      default:
        return {
          ok: false,
          reason: `type ${e.type} does not belong to table telemetry (topic pp.telemetry.v1)`,
        }
    }
    return { ok: true, row, eventTime: e.event_time }
  },
}

/**
 * Checks a JSON object against the column list: every non-nullable column present with its type,
 * nullable ones absent or null or typed. Timestamps are epoch milliseconds (integers), as on the wire.
 * Unknown fields are ignored: the producer may add a column before the sink does (add-only evolution).
 */
export function rowFromObject(
  columns: readonly ColumnDef[],
  value: unknown,
): { ok: true; row: Row } | { ok: false; reason: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'schema: expected a JSON object' }
  }
  const record = value as Record<string, unknown>
  const row: Row = {}
  const problems: string[] = []
  for (const col of columns) {
    const v = record[col.name]
    if (v === undefined || v === null) {
      if (!col.nullable) problems.push(`/${col.name}: required`)
      row[col.name] = null
      continue
    }
    switch (col.type) {
      case 'string':
        if (typeof v === 'string') row[col.name] = v
        else if (typeof v === 'object') row[col.name] = JSON.stringify(v)
        else problems.push(`/${col.name}: expected a string, got ${JSON.stringify(v)}`)
        break
      case 'int64':
      case 'timestamp_ms':
        if (typeof v === 'number' && Number.isSafeInteger(v)) row[col.name] = v
        else problems.push(`/${col.name}: expected an integer, got ${JSON.stringify(v)}`)
        break
      case 'double':
        if (typeof v === 'number' && Number.isFinite(v)) row[col.name] = v
        else problems.push(`/${col.name}: expected a finite number, got ${JSON.stringify(v)}`)
        break
    }
  }
  return problems.length > 0 ? { ok: false, reason: `schema: ${problems.join('; ')}` } : { ok: true, row }
}

function jsonTable(def: Omit<TableDef, 'toRow'>): TableDef {
  return {
    ...def,
    toRow(value) {
      if (value === null) return { ok: false, reason: 'tombstone: the record has no value' }
      let parsed: unknown
      try {
        parsed = JSON.parse(value.toString('utf8'))
      } catch (error) {
        return { ok: false, reason: `malformed_json: ${(error as Error).message}` }
      }
      const r = rowFromObject(def.columns, parsed)
      if (!r.ok) return r
      const t = r.row[def.eventTimeColumn]
      if (typeof t !== 'number') return { ok: false, reason: `schema: /${def.eventTimeColumn}: required` }
      return { ok: true, row: r.row, eventTime: t }
    },
  }
}

export const ORDER_FACTS: TableDef = jsonTable({
  name: 'order_facts',
  topic: 'orderFacts',
  eventTimeColumn: 'placed_at',
  description: 'Joined order facts from the edge-processor (one row per finished order)',
  columns: [
    c('order_id', 'string', false, 'order'),
    c('restaurant_id', 'string', false, 'restaurant'),
    c('channel', 'string', true, 'kiosk, table or app'),
    c('end_status', 'string', true, 'picked_up, cancelled or rejected (null while open)'),
    c('placed_at', 'timestamp_ms', false, 'event time of order.placed; partitions the files'),
    c('ended_at', 'timestamp_ms', true, 'event time of the terminal status'),
    c('placed_to_accepted_ms', 'int64', true, 'ms from placed to accepted'),
    c('accepted_to_ready_ms', 'int64', true, 'ms from accepted to ready (preparation time)'),
    c('ready_to_picked_up_ms', 'int64', true, 'ms from ready to picked up'),
    c('total_cents', 'int64', true, 'order total, integer cents'),
    c('item_count', 'int64', true, 'Σ quantity'),
    c('rating', 'int64', true, '1–5 if rated'),
  ],
})

export const RESTAURANT_KPIS: TableDef = jsonTable({
  name: 'restaurant_kpis',
  topic: 'kpis',
  eventTimeColumn: 'window_start',
  description: 'Event-time window aggregates per restaurant from the edge-processor',
  columns: [
    c('restaurant_id', 'string', false, 'restaurant'),
    c('window_start', 'timestamp_ms', false, 'window start (inclusive); partitions the files'),
    c('window_end', 'timestamp_ms', false, 'window end (exclusive)'),
    c('orders_placed', 'int64', true, 'orders placed in the window'),
    c('revenue_cents', 'int64', true, 'revenue, integer cents'),
    c('cancellations', 'int64', true, 'cancelled or rejected orders'),
    c('prep_mean_ms', 'double', true, 'mean accepted→ready ms'),
    c('prep_p95_ms', 'double', true, 'p95 accepted→ready ms'),
    c('rating_mean', 'double', true, 'mean rating'),
    c('open_orders', 'int64', true, 'orders open at window end'),
  ],
})

export const ALERTS: TableDef = jsonTable({
  name: 'alerts',
  topic: 'alerts',
  eventTimeColumn: 'event_time',
  description: 'Operational alerts from the edge-processor',
  columns: [
    c('alert_id', 'string', false, 'alert id'),
    c('kind', 'string', false, 'alert kind'),
    c('restaurant_id', 'string', false, 'restaurant'),
    c('device_id', 'string', true, 'device concerned'),
    c('order_id', 'string', true, 'order concerned'),
    c('event_time', 'timestamp_ms', false, 'event time that raised it; partitions the files'),
    c('detail', 'string', true, 'human-readable detail (objects are stored as JSON)'),
  ],
})

export const TABLES: readonly TableDef[] = [ORDER_EVENTS, TELEMETRY, ORDER_FACTS, RESTAURANT_KPIS, ALERTS]
export const TABLE_NAMES: readonly TableName[] = TABLES.map((t) => t.name)

export function tableByName(name: string): TableDef | undefined {
  return TABLES.find((t) => t.name === name)
}

/** Base (unprefixed) Kafka topic name of a table. */
export function tableTopic(table: TableDef): string {
  return KAFKA_TOPICS[table.topic].name
}

/**
 * Add-only evolution: every old column kept with its type and nullability, new ones nullable.
 * Returns the problems; empty means `next` can read every file written with `previous`.
 */
export function checkEvolution(previous: readonly ColumnDef[], next: readonly ColumnDef[]): string[] {
  const problems: string[] = []
  previous.forEach((old, i) => {
    const now = next[i]
    if (now === undefined || now.name !== old.name) {
      problems.push(`column ${old.name} (position ${i}) was removed, renamed or moved`)
    } else if (now.type !== old.type) {
      problems.push(`column ${old.name} changed type ${old.type} → ${now.type}`)
    } else if (now.nullable !== old.nullable && !now.nullable) {
      problems.push(`column ${old.name} became non-nullable`)
    }
  })
  for (const added of next.slice(previous.length)) {
    if (!added.nullable) problems.push(`new column ${added.name} must be nullable`)
  }
  return problems
}
