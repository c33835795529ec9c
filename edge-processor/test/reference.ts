/**
 * Reference batch implementation of the processor's outputs, for the integration tests: a plain
 * recomputation over the whole recorded input, written independently of src/core (no heaps, no
 * buffers that expire, no incremental windows, no Kafka). It needs each record's partition and its
 * position in the partition, because the watermark — and so lateness, timeouts and SLA alerts — is
 * defined per source partition by arrival (issue #5: event time, watermark = max seen − lateness).
 *
 * Rules (the processor's semantics, restated):
 * - dedup: an event id counts once; an event older than watermark − horizon is dropped.
 * - a timer with deadline D armed at arrival index a fires at the first index i ≥ a whose watermark
 *   after the event exceeds D (after that event is applied).
 * - order lifecycle: transitions apply along the from→to chain (first pending in arrival order);
 *   contributions are late when their window end ≤ the watermark before the applying event.
 * - KPI windows close when the minimum final watermark over all order partitions passes them.
 */
import { type IngestedEvent, isLegalTransition, type OrderStatus } from '@pedepronto/contracts'
import {
  type Alert,
  type Contribution,
  type CoreConfig,
  deterministicUuidv7,
  type LateEvent,
  ORDER_READY_MESSAGE,
  ORDER_READY_TTL_MS,
  type OrderFact,
  type RestaurantKpi,
  SENSOR_RANGES,
} from '../src/index.js'

export interface Positioned {
  event: IngestedEvent
  partition: number
}

export interface ReferenceOutputs {
  facts: Map<string, OrderFact>
  kpis: Map<string, RestaurantKpi>
  alerts: Map<string, Alert>
  late: Map<string, LateEvent>
  commands: Map<string, { command_id: string; device_id: string; payload: { order_id: string } }>
}

interface Arrival {
  e: IngestedEvent
  idx: number
  wmBefore: number
  wmAfter: number
}

/** Dedup and watermark of one partition, in arrival order. */
function arrivals(seq: readonly IngestedEvent[], c: CoreConfig): Arrival[] {
  const out: Arrival[] = []
  const seen = new Set<string>()
  let max = Number.NEGATIVE_INFINITY
  for (const e of seq) {
    const wm = max - c.allowedLatenessMs
    if (e.event_time < wm - c.dedupHorizonMs || seen.has(e.event_id)) continue
    seen.add(e.event_id)
    max = Math.max(max, e.event_time)
    out.push({ e, idx: out.length, wmBefore: wm, wmAfter: max - c.allowedLatenessMs })
  }
  return out
}

function fireIndex(arr: readonly Arrival[], armIdx: number, deadline: number): number {
  for (let i = armIdx; i < arr.length; i++) if (arr[i]!.wmAfter > deadline) return i
  return Number.POSITIVE_INFINITY
}

const alertOf = (
  kind: Alert['kind'],
  t: number,
  restaurant: string,
  device: string | null,
  order: string | null,
  subject: string,
  disc: string,
  detail: string,
): Alert => ({
  v: 1,
  alert_id: deterministicUuidv7(t, kind, subject, disc),
  kind,
  restaurant_id: restaurant,
  device_id: device,
  order_id: order,
  event_time: t,
  detail,
})

export function reference(
  input: readonly Positioned[],
  c: CoreConfig,
  orderPartitions: number,
): ReferenceOutputs {
  const res: ReferenceOutputs = {
    facts: new Map(),
    kpis: new Map(),
    alerts: new Map(),
    late: new Map(),
    commands: new Map(),
  }
  const contributions: Contribution[] = []
  const addAlert = (a: Alert) => res.alerts.set(a.alert_id, a)
  const W = c.windowMs
  const lateAt = (t: number, wm: number) => Math.floor(t / W) * W + W <= wm

  const ordersByPartition = new Map<number, IngestedEvent[]>()
  const telemetryByPartition = new Map<number, IngestedEvent[]>()
  for (const { event, partition } of input) {
    const m = event.type.startsWith('order.') ? ordersByPartition : telemetryByPartition
    m.set(partition, [...(m.get(partition) ?? []), event])
  }

  const finalWm: number[] = []
  for (let p = 0; p < orderPartitions; p++) {
    const arr = arrivals(ordersByPartition.get(p) ?? [], c)
    finalWm.push(arr.at(-1)?.wmAfter ?? Number.NEGATIVE_INFINITY)
    const byOrder = new Map<string, Arrival[]>()
    for (const a of arr) {
      const id = (a.e.payload as { order_id: string }).order_id
      byOrder.set(id, [...(byOrder.get(id) ?? []), a])
    }
    for (const [id, evs] of byOrder) referenceOrder(id, evs, arr, c, res, contributions, addAlert, lateAt)
  }

  // KPIs: windows of non-late contributions that every order partition's watermark has passed.
  const closeWm = Math.min(...finalWm)
  const windows = new Map<string, Contribution[]>()
  for (const x of contributions) {
    const ws = Math.floor(x.event_time / W) * W
    if (x.late) {
      res.late.set(x.event_id, {
        v: 1,
        event_id: x.event_id,
        kind: x.kind,
        restaurant_id: x.restaurant_id,
        order_id: x.order_id,
        event_time: x.event_time,
        window_start: ws,
        watermark: x.watermark,
      })
      continue
    }
    const k = `${x.restaurant_id}|${ws}`
    windows.set(k, [...(windows.get(k) ?? []), x])
  }
  const open = new Map<string, number>()
  const keys = [...windows.keys()].sort((a, b) => {
    const [ra, sa] = a.split('|')
    const [rb, sb] = b.split('|')
    return Number(sa) - Number(sb) || (ra! < rb! ? -1 : 1)
  })
  for (const k of keys) {
    const [r, s] = k.split('|') as [string, string]
    const start = Number(s)
    if (start + W > closeWm) continue
    const xs = windows.get(k)!
    const o = (open.get(r) ?? 0) + xs.reduce((n, x) => n + x.open_delta, 0)
    open.set(r, o)
    const prep = xs.flatMap((x) => (x.prep_ms === null ? [] : [x.prep_ms])).sort((a, b) => a - b)
    const ratings = xs.flatMap((x) => (x.rating === null ? [] : [x.rating]))
    res.kpis.set(k, {
      v: 1,
      restaurant_id: r,
      window_start: start,
      window_end: start + W,
      orders_placed: xs.reduce((n, x) => n + x.placed, 0),
      revenue_cents: xs.reduce((n, x) => n + x.revenue_cents, 0),
      cancellations: xs.reduce((n, x) => n + x.cancelled, 0),
      prep_count: prep.length,
      prep_mean_ms: prep.length === 0 ? null : Math.round(prep.reduce((a, b) => a + b, 0) / prep.length),
      prep_p95_ms: prep.length === 0 ? null : prep[Math.max(0, Math.ceil(0.95 * prep.length) - 1)]!,
      rating_count: ratings.length,
      rating_mean:
        ratings.length === 0
          ? null
          : Math.round((ratings.reduce((a, b) => a + b, 0) / ratings.length) * 1000) / 1000,
      open_orders: o,
    })
  }

  // Telemetry: sensor alerts on entering a violation, offline alerts by the partition's watermark.
  for (const [, seq] of telemetryByPartition) {
    const arr = arrivals(seq, c)
    const outside = new Map<string, boolean>()
    const raises = new Map<string, number[]>() // device → arrival indices of heartbeats that raised its latest
    const lastHb = new Map<string, number>()
    for (const a of arr) {
      const e = a.e
      if (e.type === 'device.telemetry') {
        const r = SENSOR_RANGES[e.payload.sensor]
        const bad = e.payload.value < r.min || e.payload.value > r.max
        const k = `${e.device_id}/${e.payload.sensor}`
        if (bad && outside.get(k) !== true) {
          addAlert(
            alertOf(
              'sensor_out_of_range',
              e.event_time,
              e.restaurant_id,
              e.device_id,
              null,
              e.device_id,
              e.event_id,
              '',
            ),
          )
        }
        outside.set(k, bad)
      } else if (e.type === 'device.heartbeat') {
        const last = lastHb.get(e.device_id)
        if (last === undefined || e.event_time > last) {
          lastHb.set(e.device_id, e.event_time)
          raises.set(e.device_id, [...(raises.get(e.device_id) ?? []), a.idx])
        }
      }
    }
    for (const [device, idxs] of raises) {
      idxs.forEach((armIdx, n) => {
        const hb = arr[armIdx]!.e
        const deadline = hb.event_time + c.missedHeartbeats * c.heartbeatIntervalMs
        const f = fireIndex(arr, armIdx, deadline)
        const nextRaise = idxs[n + 1] ?? Number.POSITIVE_INFINITY
        if (f < nextRaise) {
          addAlert(
            alertOf(
              'device_offline',
              deadline,
              hb.restaurant_id,
              device,
              null,
              device,
              String(hb.event_time),
              '',
            ),
          )
        }
      })
    }
  }
  return res
}

type StatusEv = Extract<IngestedEvent, { type: 'order.status_changed' }>
type RatedEv = Extract<IngestedEvent, { type: 'order.rated' }>
type PlacedEv = Extract<IngestedEvent, { type: 'order.placed' }>

function referenceOrder(
  id: string,
  evs: readonly Arrival[],
  arr: readonly Arrival[],
  c: CoreConfig,
  res: ReferenceOutputs,
  contributions: Contribution[],
  addAlert: (a: Alert) => void,
  lateAt: (t: number, wm: number) => boolean,
): void {
  let placed: PlacedEv | undefined
  let status: OrderStatus | null = null
  const times: Partial<Record<OrderStatus, number>> = {}
  let pending: StatusEv[] = []
  let rating: RatedEv | undefined
  let ended: number | undefined
  let factDone = false
  let finished = false
  let orphans: { first: StatusEv | RatedEv; count: number; fire: number } | undefined
  // Pending timers: fire index, then the action.
  let timers: { fire: number; deadline: number; tie: string; run: (wmNow: number) => void }[] = []
  const sla: Record<string, number> = {
    placed: c.slaPlacedMs,
    received: c.slaReceivedMs,
    accepted: c.slaAcceptedMs,
    preparing: c.slaPreparingMs,
    ready: c.slaReadyMs,
  }

  const contribute = (
    kind: Contribution['kind'],
    e: IngestedEvent,
    wmNow: number,
    parts: Partial<Contribution>,
  ) => {
    const p = placed!
    contributions.push({
      t: 'c',
      kind,
      event_id: e.event_id,
      restaurant_id: p.restaurant_id,
      order_id: id,
      event_time: e.event_time,
      late: lateAt(e.event_time, wmNow),
      watermark: Number.isFinite(wmNow) ? wmNow : 0,
      placed: 0,
      revenue_cents: 0,
      cancelled: 0,
      prep_ms: null,
      rating: null,
      open_delta: 0,
      ...parts,
    })
  }
  const ratingCounts = () =>
    rating !== undefined && ended !== undefined && rating.event_time <= ended + c.ratingTimeoutMs
  const emitFact = (wmNow: number) => {
    factDone = true
    const p = placed!
    const r = ratingCounts() ? rating! : undefined
    res.facts.set(id, {
      v: 1,
      order_id: id,
      restaurant_id: p.restaurant_id,
      device_id: p.device_id,
      customer_id: p.payload.customer_id,
      channel: p.payload.channel,
      end_status: status as OrderFact['end_status'],
      placed_at: p.event_time,
      ended_at: ended!,
      placed_to_accepted_ms: times.accepted === undefined ? null : times.accepted - p.event_time,
      accepted_to_ready_ms:
        times.accepted === undefined || times.ready === undefined ? null : times.ready - times.accepted,
      ready_to_picked_up_ms:
        times.ready === undefined || times.picked_up === undefined ? null : times.picked_up - times.ready,
      total_cents: p.payload.total_cents,
      item_count: p.payload.items.reduce((n, i) => n + i.quantity, 0),
      rating: r?.payload.rating ?? null,
      rated_at: r?.event_time ?? null,
    })
    if (r !== undefined) contribute('rated', r, wmNow, { rating: r.payload.rating })
  }
  const arm = (armIdx: number, deadline: number, tie: string, run: (wmNow: number) => void) =>
    timers.push({ fire: fireIndex(arr, armIdx, deadline), deadline, tie, run })
  const applyRating = (r: RatedEv, wmNow: number) => {
    if (rating !== undefined) return
    rating = r
    if (ended !== undefined && !factDone && ratingCounts()) emitFact(wmNow)
  }
  const drain = (idx: number, wmNow: number) => {
    for (;;) {
      const i = pending.findIndex((x) => x.payload.from === status)
      if (i < 0) return
      const e = pending.splice(i, 1)[0]!
      const to = e.payload.to
      status = to
      times[to] = e.event_time
      const p = placed!
      if (to === 'ready') {
        if (times.accepted !== undefined)
          contribute('ready', e, wmNow, { prep_ms: e.event_time - times.accepted })
        const cmdId = deterministicUuidv7(e.event_time, 'order.ready', e.event_id)
        res.commands.set(cmdId, {
          command_id: cmdId,
          device_id: p.payload.notify_device_id ?? p.device_id,
          payload: { order_id: id },
        })
        void ORDER_READY_MESSAGE
        void ORDER_READY_TTL_MS
      }
      if (to === 'picked_up')
        contribute('picked_up', e, wmNow, { revenue_cents: p.payload.total_cents, open_delta: -1 })
      if (to === 'cancelled') contribute('cancelled', e, wmNow, { cancelled: 1, open_delta: -1 })
      if (to === 'rejected') contribute('rejected', e, wmNow, { open_delta: -1 })
      if (to === 'picked_up' || to === 'cancelled' || to === 'rejected') {
        ended = e.event_time
        arm(idx, e.event_time + c.ratingTimeoutMs, `r:${id}`, (wm) => {
          if (!factDone) emitFact(wm)
          for (const x of pending) {
            addAlert(
              alertOf(
                'illegal_transition',
                x.event_time,
                p.restaurant_id,
                x.device_id,
                id,
                id,
                x.event_id,
                '',
              ),
            )
          }
          pending = []
          finished = true
          placed = undefined
        })
        if (ratingCounts()) emitFact(wmNow)
      } else {
        const entered = status
        arm(idx, e.event_time + sla[to]!, `s:${id}:${to}`, () => {
          if (placed !== undefined && status === entered && ended === undefined)
            addAlert(alertOf('order_stuck', e.event_time + sla[to]!, p.restaurant_id, null, id, id, to, ''))
        })
      }
    }
  }
  const fireBefore = (limit: number, inclusive: boolean) => {
    for (;;) {
      const due = timers
        .filter((t) => (inclusive ? t.fire <= limit : t.fire < limit))
        .sort((a, b) => a.fire - b.fire || a.deadline - b.deadline || (a.tie < b.tie ? -1 : 1))
      const t = due[0]
      if (t === undefined) return
      timers = timers.filter((x) => x !== t)
      t.run(arr[t.fire]!.wmAfter)
    }
  }
  const addOrphan = (e: StatusEv | RatedEv, idx: number) => {
    if (orphans !== undefined) {
      orphans.count++
      return
    }
    const o = { first: e, count: 1, fire: 0 }
    orphans = o
    arm(idx, e.event_time + c.unknownOrderGraceMs, `o:${id}:${e.event_id}`, () => {
      if (orphans !== o) return
      orphans = undefined
      addAlert(alertOf('unknown_order', e.event_time, e.restaurant_id, e.device_id, id, id, e.event_id, ''))
    })
  }
  const orphanEvents: (StatusEv | RatedEv)[] = []

  for (const a of evs) {
    fireBefore(a.idx, false)
    const e = a.e
    if (e.type === 'order.placed') {
      if (placed !== undefined || finished) {
        addAlert(
          alertOf('illegal_transition', e.event_time, e.restaurant_id, e.device_id, id, id, e.event_id, ''),
        )
      } else {
        placed = e
        contribute('placed', e, a.wmBefore, { placed: 1, open_delta: 1 })
        arm(a.idx, e.event_time + sla.placed!, `s:${id}:placed`, () => {
          if (placed !== undefined && status === null)
            addAlert(
              alertOf('order_stuck', e.event_time + sla.placed!, e.restaurant_id, null, id, id, 'placed', ''),
            )
        })
        if (orphans !== undefined) {
          orphans = undefined
          for (const o of orphanEvents.splice(0)) {
            if (o.type === 'order.status_changed') {
              pending.push(o)
              drain(a.idx, a.wmBefore)
            } else applyRating(o, a.wmBefore)
          }
        }
        orphanEvents.length = 0
      }
    } else if (e.type === 'order.status_changed') {
      if (!isLegalTransition(e.payload.from, e.payload.to)) {
        addAlert(
          alertOf('illegal_transition', e.event_time, e.restaurant_id, e.device_id, id, id, e.event_id, ''),
        )
      } else if (placed === undefined) {
        if (!finished) {
          if (orphans === undefined) orphanEvents.length = 0
          addOrphan(e, a.idx)
          orphanEvents.push(e)
        }
      } else {
        pending.push(e)
        drain(a.idx, a.wmBefore)
      }
    } else if (e.type === 'order.rated') {
      if (e.event_time < a.wmBefore) {
        // late rating: dropped
      } else if (placed === undefined) {
        if (!finished) {
          if (orphans === undefined) orphanEvents.length = 0
          addOrphan(e, a.idx)
          orphanEvents.push(e)
        }
      } else applyRating(e, a.wmBefore)
    }
    fireBefore(a.idx, true)
  }
  fireBefore(Number.MAX_SAFE_INTEGER, true)
}
