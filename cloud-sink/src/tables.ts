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

/** Where a table puts one row's cells, by column index (columns.ts stores them column by column). */
export interface RowWriter {
  set(column: number, value: CellValue): void
}

export type RowVerdict = { ok: true; eventTime: number } | { ok: false; reason: string }

export type TableName = 'order_events' | 'telemetry' | 'order_facts' | 'restaurant_kpis' | 'alerts'

export interface TableDef {
  readonly name: TableName
  /** The Kafka topic (contracts id) the table is fed from. */
  readonly topic: KafkaTopicId
  /** Column whose value partitions the files (dt/hr) — always event time, never arrival time. */
  readonly eventTimeColumn: string
  readonly columns: readonly ColumnDef[]
  readonly description: string
  /**
   * Writes a Kafka record value's cells into `out` (cells not set are null), or says why it does not
   * fit the table; after a rejection `out` may hold part of a row, which the caller discards. The one
   * mapping from records to rows: `toRow` is derived from it.
   */
  writeRow(value: Buffer | null, out: RowWriter): RowVerdict
  /** The same row as an object (side effects, the writer bench, tests). */
  toRow(value: Buffer | null): RowResult
}

/** Column name → index, checked once at load: a renamed column fails here, not in a file. */
function columnIndex<N extends string>(columns: readonly ColumnDef[], ...names: N[]): Record<N, number> {
  const out = {} as Record<N, number>
  for (const name of names) {
    const i = columns.findIndex((c) => c.name === name)
    if (i < 0) throw new Error(`no column ${name} in ${columns.map((c) => c.name).join(', ')}`)
    out[name] = i
  }
  return out
}

/** A table from its column list and its `writeRow`; `toRow` fills a null row through the same code. */
function defineTable(def: Omit<TableDef, 'toRow'>): TableDef {
  const { columns } = def
  return {
    ...def,
    toRow(value) {
      const row = nullRow(columns)
      const verdict = def.writeRow(value, {
        set: (column, cell) => {
          row[(columns[column] as ColumnDef).name] = cell
        },
      })
      return verdict.ok ? { ok: true, row, eventTime: verdict.eventTime } : verdict
    },
  }
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

const ENV = columnIndex(
  envelopeColumns,
  'event_id',
  'type',
  'v',
  'device_id',
  'restaurant_id',
  'event_time',
  'received_at',
  'seq',
  'gateway_id',
  'transport',
)

/** The envelope columns lead both raw tables, so their indexes are the same in each. */
function writeEnvelope(e: IngestedEvent, out: RowWriter): void {
  out.set(ENV.event_id, e.event_id)
  out.set(ENV.type, e.type)
  out.set(ENV.v, e.v)
  out.set(ENV.device_id, e.device_id)
  out.set(ENV.restaurant_id, e.restaurant_id)
  out.set(ENV.event_time, e.event_time)
  out.set(ENV.received_at, e.received_at)
  out.set(ENV.seq, e.seq)
  out.set(ENV.gateway_id, e.gateway_id)
  out.set(ENV.transport, e.transport)
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

const OE = columnIndex(
  orderEventColumns,
  'order_id',
  'status_from',
  'status_to',
  'reason',
  'rating',
  'comment',
  'total_cents',
  'currency',
  'item_count',
  'line_count',
  'channel',
  'customer_id',
  'notify_device_id',
  'table_label',
  'items_json',
)

export const ORDER_EVENTS: TableDef = defineTable({
  name: 'order_events',
  topic: 'orders',
  eventTimeColumn: 'event_time',
  columns: orderEventColumns,
  description: 'Ingested order.* events, one row per event, payload flattened',
  writeRow(value, out) {
    const parsed = parseIngested(value)
    if (!parsed.ok) return parsed
    const e = parsed.event
    switch (e.type) {
      case 'order.placed': {
        const items = e.payload.items
        let quantity = 0
        for (const item of items) quantity += item.quantity
        out.set(OE.order_id, e.payload.order_id)
        out.set(OE.total_cents, e.payload.total_cents)
        out.set(OE.currency, e.payload.currency)
        out.set(OE.item_count, quantity)
        out.set(OE.line_count, items.length)
        out.set(OE.channel, e.payload.channel)
        out.set(OE.customer_id, e.payload.customer_id)
        out.set(OE.notify_device_id, e.payload.notify_device_id ?? null)
        out.set(OE.table_label, e.payload.table ?? null)
        out.set(OE.items_json, JSON.stringify(items))
        break
      }
      case 'order.status_changed':
        out.set(OE.order_id, e.payload.order_id)
        out.set(OE.status_from, e.payload.from)
        out.set(OE.status_to, e.payload.to)
        out.set(OE.reason, e.payload.reason ?? null)
        break
      case 'order.rated':
        out.set(OE.order_id, e.payload.order_id)
        out.set(OE.rating, e.payload.rating)
        out.set(OE.comment, e.payload.comment ?? null)
        break
      default:
        return {
          ok: false,
          reason: `type ${e.type} does not belong to table order_events (topic pp.orders.v1)`,
        }
    }
    writeEnvelope(e, out)
    return { ok: true, eventTime: e.event_time }
  },
})

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

const TE = columnIndex(
  telemetryColumns,
  'sensor',
  'value',
  'unit',
  'uptime_s',
  'firmware',
  'battery_pct',
  'rssi_dbm',
)

export const TELEMETRY: TableDef = defineTable({
  name: 'telemetry',
  topic: 'telemetry',
  eventTimeColumn: 'event_time',
  columns: telemetryColumns,
  description: 'Ingested device.telemetry and device.heartbeat events, nullable columns per kind',
  writeRow(value, out) {
    const parsed = parseIngested(value)
    if (!parsed.ok) return parsed
    const e = parsed.event
    switch (e.type) {
      case 'device.telemetry':
        out.set(TE.sensor, e.payload.sensor)
        out.set(TE.value, e.payload.value)
        out.set(TE.unit, e.payload.unit)
        break
      case 'device.heartbeat':
        out.set(TE.uptime_s, e.payload.uptime_s)
        out.set(TE.firmware, e.payload.firmware)
        out.set(TE.battery_pct, e.payload.battery_pct)
        out.set(TE.rssi_dbm, e.payload.rssi_dbm)
        break
      default:
        return {
          ok: false,
          reason: `type ${e.type} does not belong to table telemetry (topic pp.telemetry.v1)`,
        }
    }
    writeEnvelope(e, out)
    return { ok: true, eventTime: e.event_time }
  },
})

/**
 * Checks a JSON object against the column list: every non-nullable column present with its type,
 * nullable ones absent or null or typed. Timestamps are epoch milliseconds (integers), as on the wire.
 * Unknown fields are ignored: the producer may add a column before the sink does (add-only evolution).
 * Writes the cells into `out` as it goes; on a rejection `out` holds part of a row (see writeRow).
 */
function writeObject(
  columns: readonly ColumnDef[],
  value: unknown,
  out: RowWriter,
): { ok: true } | { ok: false; reason: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'schema: expected a JSON object' }
  }
  const record = value as Record<string, unknown>
  const problems: string[] = []
  for (let i = 0; i < columns.length; i++) {
    const col = columns[i] as ColumnDef
    const v = record[col.name]
    if (v === undefined || v === null) {
      if (!col.nullable) problems.push(`/${col.name}: required`)
      out.set(i, null)
      continue
    }
    switch (col.type) {
      case 'string':
        if (typeof v === 'string') out.set(i, v)
        else if (typeof v === 'object') out.set(i, JSON.stringify(v))
        else problems.push(`/${col.name}: expected a string, got ${JSON.stringify(v)}`)
        break
      case 'int64':
      case 'timestamp_ms':
        if (typeof v === 'number' && Number.isSafeInteger(v)) out.set(i, v)
        else problems.push(`/${col.name}: expected an integer, got ${JSON.stringify(v)}`)
        break
      case 'double':
        if (typeof v === 'number' && Number.isFinite(v)) out.set(i, v)
        else problems.push(`/${col.name}: expected a finite number, got ${JSON.stringify(v)}`)
        break
    }
  }
  return problems.length > 0 ? { ok: false, reason: `schema: ${problems.join('; ')}` } : { ok: true }
}

/** `writeObject` into a fresh row object. */
export function rowFromObject(
  columns: readonly ColumnDef[],
  value: unknown,
): { ok: true; row: Row } | { ok: false; reason: string } {
  const row = nullRow(columns)
  const r = writeObject(columns, value, {
    set: (column, cell) => {
      row[(columns[column] as ColumnDef).name] = cell
    },
  })
  return r.ok ? { ok: true, row } : r
}

function jsonTable(def: Omit<TableDef, 'toRow' | 'writeRow'>): TableDef {
  const timeColumn = def.columns.findIndex((c) => c.name === def.eventTimeColumn)
  if (timeColumn < 0) throw new Error(`table ${def.name}: no event-time column ${def.eventTimeColumn}`)
  return defineTable({
    ...def,
    writeRow(value, out) {
      if (value === null) return { ok: false, reason: 'tombstone: the record has no value' }
      let parsed: unknown
      try {
        parsed = JSON.parse(value.toString('utf8'))
      } catch (error) {
        return { ok: false, reason: `malformed_json: ${(error as Error).message}` }
      }
      const r = writeObject(def.columns, parsed, out)
      if (!r.ok) return r
      // writeObject accepted it, so the non-nullable timestamp column holds a safe integer.
      const t = (parsed as Record<string, unknown>)[def.eventTimeColumn]
      if (typeof t !== 'number') return { ok: false, reason: `schema: /${def.eventTimeColumn}: required` }
      return { ok: true, eventTime: t }
    },
  })
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
