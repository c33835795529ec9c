/**
 * Stage 2, one partition of the restaurant-keyed repartition topic: tumbling event-time windows per
 * restaurant, the KPI records and the late-event records.
 *
 * The stage's watermark is the minimum over every stage-1 source partition's latest marker (as a
 * Flink operator takes the minimum over its input channels); until every source has reported, no
 * window closes. Lateness is decided by stage 1 (see core/orders.ts), so a window's content — and
 * the KPI record — is a function of the input data, not of how the source partitions interleave.
 */
import { percentile, round } from '@pedepronto/common'
import type { Contribution, RepartitionRecord, RestaurantKpi } from '../schemas.js'
import { type Output, windowStart } from './common.js'

interface Acc {
  placed: number
  revenue: number
  cancelled: number
  prep: number[]
  ratingSum: number
  ratingCount: number
  openDelta: number
}

export interface KpiCounters {
  contributions: number
  late: number
  /** Contributions for a window already closed although stage 1 had not judged them late: a bug if > 0. */
  unexpectedLate: number
  windowsClosed: number
}

export class KpiTask {
  readonly counters: KpiCounters = { contributions: 0, late: 0, unexpectedLate: 0, windowsClosed: 0 }
  readonly #windowMs: number
  readonly #sourceWm = new Map<number, number>()
  #sources = 0
  #closedUpTo = Number.NEGATIVE_INFINITY
  readonly #windows = new Map<string, Map<number, Acc>>()
  readonly #open = new Map<string, number>()

  constructor(windowMs: number) {
    this.#windowMs = windowMs
  }

  get watermark(): number {
    return this.#closedUpTo
  }

  get openWindows(): number {
    let n = 0
    for (const w of this.#windows.values()) n += w.size
    return n
  }

  process(record: RepartitionRecord | null): Output[] {
    if (record === null) return []
    const out: Output[] = []
    if (record.t === 'w') {
      this.#sources = Math.max(this.#sources, record.sources)
      const prev = this.#sourceWm.get(record.source) ?? Number.NEGATIVE_INFINITY
      if (record.wm > prev) this.#sourceWm.set(record.source, record.wm)
      this.#close(out)
      return out
    }
    this.counters.contributions++
    const ws = windowStart(record.event_time, this.#windowMs)
    if (record.late || ws + this.#windowMs <= this.#closedUpTo) {
      if (!record.late) this.counters.unexpectedLate++
      this.counters.late++
      out.push(lateRecord(record, ws))
      return out
    }
    let perRestaurant = this.#windows.get(record.restaurant_id)
    if (perRestaurant === undefined) {
      perRestaurant = new Map()
      this.#windows.set(record.restaurant_id, perRestaurant)
    }
    let acc = perRestaurant.get(ws)
    if (acc === undefined) {
      acc = { placed: 0, revenue: 0, cancelled: 0, prep: [], ratingSum: 0, ratingCount: 0, openDelta: 0 }
      perRestaurant.set(ws, acc)
    }
    acc.placed += record.placed
    acc.revenue += record.revenue_cents
    acc.cancelled += record.cancelled
    if (record.prep_ms !== null) acc.prep.push(record.prep_ms)
    if (record.rating !== null) {
      acc.ratingSum += record.rating
      acc.ratingCount++
    }
    acc.openDelta += record.open_delta
    return out
  }

  #close(out: Output[]): void {
    if (this.#sources === 0 || this.#sourceWm.size < this.#sources) return
    const wm = Math.min(...this.#sourceWm.values())
    if (wm <= this.#closedUpTo) return
    this.#closedUpTo = wm
    const due: { restaurant: string; start: number; acc: Acc }[] = []
    for (const [restaurant, windows] of this.#windows) {
      for (const [start, acc] of windows) {
        if (start + this.#windowMs <= wm) due.push({ restaurant, start, acc })
      }
    }
    due.sort((a, b) => a.start - b.start || (a.restaurant < b.restaurant ? -1 : 1))
    for (const { restaurant, start, acc } of due) {
      this.#windows.get(restaurant)!.delete(start)
      const open = (this.#open.get(restaurant) ?? 0) + acc.openDelta
      this.#open.set(restaurant, open)
      this.counters.windowsClosed++
      out.push({
        kind: 'kpi',
        key: restaurant,
        value: kpiRecord(restaurant, start, this.#windowMs, acc, open),
      })
    }
  }
}

export function kpiRecord(
  restaurant: string,
  start: number,
  windowMs: number,
  acc: Acc,
  open: number,
): RestaurantKpi {
  const n = acc.prep.length
  return {
    v: 1,
    restaurant_id: restaurant,
    window_start: start,
    window_end: start + windowMs,
    orders_placed: acc.placed,
    revenue_cents: acc.revenue,
    cancellations: acc.cancelled,
    prep_count: n,
    prep_mean_ms: n === 0 ? null : Math.round(acc.prep.reduce((s, x) => s + x, 0) / n),
    prep_p95_ms: n === 0 ? null : percentile(acc.prep, 95),
    rating_count: acc.ratingCount,
    rating_mean: acc.ratingCount === 0 ? null : round(acc.ratingSum / acc.ratingCount, 3),
    open_orders: open,
  }
}

export type { Acc as KpiAccumulator }

function lateRecord(c: Contribution, ws: number): Output {
  return {
    kind: 'late',
    key: c.restaurant_id,
    value: {
      v: 1,
      event_id: c.event_id,
      kind: c.kind,
      restaurant_id: c.restaurant_id,
      order_id: c.order_id,
      event_time: c.event_time,
      window_start: ws,
      watermark: c.watermark,
    },
  }
}
