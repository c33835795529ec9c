/**
 * What the lake must say after an end-to-end run, checked with DuckDB over the Parquet files the sink
 * wrote (the same views `pedepronto lake query` uses):
 * - lost: events a device was acknowledged for that no raw table holds;
 * - edge duplicates (allowed by DESIGN.md, removed downstream) and sink duplicates (two files of one
 *   topic-partition covering the same offsets: never allowed);
 * - facts: exactly one per order, stage times and totals equal the raw events' times;
 * - KPIs: every closed window equals a recomputation from the raw order events;
 * - alerts: no alert twice.
 */
import { join } from 'node:path'
import { type QueryResult, queryLake, resolveLakeDir, TABLES } from '@pedepronto/cloud-sink'
import { percentile, round } from '@pedepronto/common'

export interface LakeCheckInput {
  lakeDir: string
  acked: ReadonlySet<string>
  /** Orders whose fact must be there (placed in phase 1). */
  orders: ReadonlySet<string>
  ratingTimeoutMs: number
  windowMs: number
  /** KPI windows ending at or before this event time are compared (the tail's windows may be open). */
  kpiUntil: number
}

export interface LakeCheck {
  rows: Record<string, number>
  rawDistinct: number
  /** Raw rows beyond the first of their event id (device retransmits across a gateway crash). */
  edgeDuplicates: number
  lost: string[]
  /** Files of one table and partition whose offset ranges overlap (a sink duplicate). */
  fileOverlaps: string[]
  /**
   * missing: orders that ended (picked up, cancelled, rejected) with no fact; unfinished: orders
   * whose lifecycle had not ended when the run stopped (no fact is owed yet; a clean run has none).
   */
  facts: {
    rows: number
    duplicated: string[]
    missing: string[]
    /** The processor's alerts about the missing orders. */
    missingAlerts: string[]
    unfinished: string[]
    mismatches: string[]
  }
  kpis: { rows: number; duplicated: number; compared: number; mismatches: string[] }
  alerts: { rows: number; duplicated: number; byKind: Record<string, number> }
  /** Orders that reached `ready` (each owes its pager an "order ready" command), with the event time. */
  readyOrders: string[]
  readyAt: Map<string, number>
  /** Orders whose fact carries a rating. */
  ratedOrders: Set<string>
}

const n = (v: unknown): number => (v === null || v === undefined ? Number.NaN : Number(v))
const nOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))

async function q(dir: string, sql: string): Promise<QueryResult['rows']> {
  return (await queryLake(dir, sql)).rows
}

interface OrderTimes {
  restaurant: string
  placed?: number
  total?: number
  status: Map<string, number>
  rating?: { value: number; at: number }
}

export async function checkLake(input: LakeCheckInput): Promise<LakeCheck> {
  const dir = resolveLakeDir(input.lakeDir)
  const rows: Record<string, number> = {}
  for (const t of TABLES) rows[t.name] = n((await q(dir, `SELECT count(*) FROM ${t.name}`))[0]?.[0])

  // Raw: acknowledged ids present, duplicates counted.
  const ids = await q(dir, 'SELECT event_id FROM order_events UNION ALL SELECT event_id FROM telemetry')
  const raw = new Set<string>()
  for (const [id] of ids) raw.add(String(id))
  const lost = [...input.acked].filter((id) => !raw.has(id))

  // Sink duplicates: per table and topic-partition, file offset ranges must not overlap.
  const fileOverlaps: string[] = []
  for (const t of TABLES) {
    if (rows[t.name] === 0) continue
    const glob = join(dir, t.name, '**', '*.parquet').replace(/'/g, "''")
    const files = await q(
      dir,
      `SELECT filename, count(*) FROM read_parquet('${glob}', filename = true) GROUP BY 1`,
    )
    const ranges = new Map<string, { first: bigint; rows: bigint; name: string }[]>()
    for (const [file, count] of files) {
      const m = /([^/]+)\+(\d+)\+(\d+)\.parquet$/.exec(String(file))
      if (!m) continue
      const key = `${m[1]}+${m[2]}`
      const list = ranges.get(key) ?? []
      list.push({ first: BigInt(m[3] as string), rows: BigInt(String(count)), name: String(file) })
      ranges.set(key, list)
    }
    for (const list of ranges.values()) {
      list.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0))
      for (let i = 1; i < list.length; i++) {
        const a = list[i - 1]!
        const b = list[i]!
        if (a.first + a.rows > b.first) fileOverlaps.push(`${a.name} overlaps ${b.name}`)
      }
    }
  }

  // Orders from the raw events (each event once).
  const events = await q(
    dir,
    `SELECT DISTINCT ON (event_id) type, order_id, restaurant_id, status_to, epoch_ms(event_time), total_cents, rating
       FROM order_events`,
  )
  const orders = new Map<string, OrderTimes>()
  for (const [type, orderId, restaurant, to, t, total, rating] of events) {
    const id = String(orderId)
    let o = orders.get(id)
    if (o === undefined) {
      o = { restaurant: String(restaurant), status: new Map() }
      orders.set(id, o)
    }
    if (type === 'order.placed') {
      o.placed = n(t)
      o.total = n(total)
    } else if (type === 'order.status_changed' && to !== null) o.status.set(String(to), n(t))
    else if (type === 'order.rated' && o.rating === undefined) o.rating = { value: n(rating), at: n(t) }
  }
  const ended = (o: OrderTimes) =>
    o.status.get('picked_up') ?? o.status.get('cancelled') ?? o.status.get('rejected')
  const ratingCounts = (o: OrderTimes) => {
    const end = ended(o)
    return o.rating !== undefined && end !== undefined && o.rating.at <= end + input.ratingTimeoutMs
  }

  // Facts.
  const factRows = await q(
    dir,
    `SELECT order_id, epoch_ms(placed_at), epoch_ms(ended_at), placed_to_accepted_ms, accepted_to_ready_ms,
            ready_to_picked_up_ms, total_cents, rating, end_status FROM order_facts`,
  )
  const factCount = new Map<string, number>()
  const mismatches: string[] = []
  const ratedOrders = new Set<string>()
  for (const [orderId, placedAt, endedAt, pa, ar, rp, total, rating, endStatus] of factRows) {
    const id = String(orderId)
    factCount.set(id, (factCount.get(id) ?? 0) + 1)
    if (rating !== null) ratedOrders.add(id)
    const o = orders.get(id)
    if (o === undefined || o.placed === undefined) {
      mismatches.push(`${id}: a fact without an order.placed event in the lake`)
      continue
    }
    const s = o.status
    const diff = (what: string, got: number | string | null, want: number | string | null) => {
      if (got !== want) mismatches.push(`${id}: ${what} is ${got}, the raw events say ${want}`)
    }
    const minus = (a: number | undefined, b: number | undefined) =>
      a === undefined || b === undefined ? null : a - b
    diff('placed_at', n(placedAt), o.placed)
    diff('ended_at', nOrNull(endedAt), ended(o) ?? null)
    const endWant = ['picked_up', 'cancelled', 'rejected'].find((x) => s.has(x)) ?? null
    diff('end_status', endStatus === null ? null : String(endStatus), endWant)
    diff('placed_to_accepted_ms', nOrNull(pa), minus(s.get('accepted'), o.placed))
    diff('accepted_to_ready_ms', nOrNull(ar), minus(s.get('ready'), s.get('accepted')))
    diff('ready_to_picked_up_ms', nOrNull(rp), minus(s.get('picked_up'), s.get('ready')))
    diff('total_cents', n(total), o.total ?? null)
    diff('rating', nOrNull(rating), ratingCounts(o) ? (o.rating?.value ?? null) : null)
  }
  const duplicated = [...factCount].filter(([, c]) => c > 1).map(([id]) => id)
  const owed = (id: string) => {
    const o = orders.get(id)
    return o !== undefined && ended(o) !== undefined
  }
  const missing = [...input.orders].filter((id) => owed(id) && !factCount.has(id))
  const unfinished = [...input.orders].filter((id) => !owed(id))

  // KPIs: recomputed from the raw order events, window by window, open orders carried forward.
  interface Acc {
    placed: number
    revenue: number
    cancelled: number
    prep: number[]
    ratings: number[]
    open: number
  }
  const windows = new Map<string, Map<number, Acc>>()
  const add = (restaurant: string, t: number | undefined, f: (a: Acc) => void) => {
    if (t === undefined) return
    const ws = Math.floor(t / input.windowMs) * input.windowMs
    let per = windows.get(restaurant)
    if (per === undefined) {
      per = new Map()
      windows.set(restaurant, per)
    }
    let acc = per.get(ws)
    if (acc === undefined) {
      acc = { placed: 0, revenue: 0, cancelled: 0, prep: [], ratings: [], open: 0 }
      per.set(ws, acc)
    }
    f(acc)
  }
  for (const o of orders.values()) {
    if (o.placed === undefined) continue
    const s = o.status
    add(o.restaurant, o.placed, (a) => {
      a.placed++
      a.open++
    })
    const accepted = s.get('accepted')
    const ready = s.get('ready')
    if (ready !== undefined && accepted !== undefined)
      add(o.restaurant, ready, (a) => a.prep.push(ready - accepted))
    add(o.restaurant, s.get('picked_up'), (a) => {
      a.revenue += o.total ?? 0
      a.open--
    })
    add(o.restaurant, s.get('cancelled'), (a) => {
      a.cancelled++
      a.open--
    })
    add(o.restaurant, s.get('rejected'), (a) => {
      a.open--
    })
    if (ratingCounts(o)) add(o.restaurant, o.rating?.at, (a) => a.ratings.push(o.rating?.value ?? 0))
  }
  const expected = new Map<string, number[]>()
  for (const [restaurant, per] of windows) {
    let open = 0
    for (const ws of [...per.keys()].sort((a, b) => a - b)) {
      const a = per.get(ws)!
      open += a.open
      if (ws + input.windowMs > input.kpiUntil) continue
      const prepMean =
        a.prep.length === 0 ? Number.NaN : Math.round(a.prep.reduce((x, y) => x + y, 0) / a.prep.length)
      const prepP95 = a.prep.length === 0 ? Number.NaN : percentile(a.prep, 95)
      const rating =
        a.ratings.length === 0
          ? Number.NaN
          : round(a.ratings.reduce((x, y) => x + y, 0) / a.ratings.length, 3)
      expected.set(`${restaurant}@${ws}`, [a.placed, a.revenue, a.cancelled, prepMean, prepP95, rating, open])
    }
  }
  const kpiRows = await q(
    dir,
    `SELECT restaurant_id, epoch_ms(window_start), orders_placed, revenue_cents, cancellations, prep_mean_ms,
            prep_p95_ms, rating_mean, open_orders FROM restaurant_kpis`,
  )
  const seen = new Map<string, number>()
  const kpiMismatches: string[] = []
  const names = [
    'orders_placed',
    'revenue_cents',
    'cancellations',
    'prep_mean_ms',
    'prep_p95_ms',
    'rating_mean',
    'open_orders',
  ]
  let compared = 0
  for (const [restaurant, ws, ...values] of kpiRows) {
    const key = `${restaurant}@${n(ws)}`
    seen.set(key, (seen.get(key) ?? 0) + 1)
    if (n(ws) + input.windowMs > input.kpiUntil) continue
    const want = expected.get(key)
    if (want === undefined) {
      kpiMismatches.push(`${key}: a KPI window the raw events do not produce`)
      continue
    }
    compared++
    values.forEach((v, i) => {
      const got = n(v)
      const w = want[i] as number
      const same = (Number.isNaN(got) && Number.isNaN(w)) || Math.abs(got - w) < 1e-6
      if (!same) kpiMismatches.push(`${key}: ${names[i]} is ${got}, recomputed ${w}`)
    })
  }
  for (const key of expected.keys())
    if (!seen.has(key)) kpiMismatches.push(`${key}: window missing from the lake`)
  const alertIds = await q(dir, 'SELECT alert_id, count(*) FROM alerts GROUP BY 1 HAVING count(*) > 1')
  const byKind: Record<string, number> = {}
  for (const r of await q(dir, 'SELECT kind, count(*) AS n FROM alerts GROUP BY 1 ORDER BY 1'))
    byKind[String(r[0])] = n(r[1])
  // What the processor said about an order it owes a fact for (unknown_order, illegal_transition):
  // tells a late order.placed or a broken lifecycle from a fact lost on its way.
  const missingAlerts: string[] = []
  if (missing.length > 0) {
    const list = missing.map((id) => `'${id.replaceAll("'", "''")}'`).join(', ')
    for (const r of await q(
      dir,
      `SELECT order_id, kind, detail FROM alerts WHERE order_id IN (${list}) ORDER BY 1`,
    ))
      missingAlerts.push(`${r[0]}: ${r[1]} ${r[2] ?? ''}`.trim())
  }

  const readyOrders = [...orders].filter(([, o]) => o.status.has('ready')).map(([id]) => id)
  const readyAt = new Map(readyOrders.map((id) => [id, orders.get(id)?.status.get('ready') ?? 0]))
  return {
    rows,
    rawDistinct: raw.size,
    edgeDuplicates: ids.length - raw.size,
    lost,
    fileOverlaps,
    facts: { rows: factRows.length, duplicated, missing, missingAlerts, unfinished, mismatches },
    kpis: {
      rows: kpiRows.length,
      duplicated: [...seen.values()].filter((c) => c > 1).length,
      compared,
      mismatches: kpiMismatches,
    },
    alerts: { rows: rows.alerts ?? 0, duplicated: alertIds.length, byKind },
    readyOrders,
    readyAt,
    ratedOrders,
  }
}
