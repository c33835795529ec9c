/**
 * Stage 1, one partition of `pp.orders.v1`: de-duplication, the order state machine, order facts,
 * `order.ready` commands, order alerts, and each order event's contribution to its restaurant's KPI
 * window (sent on to stage 2 through the restaurant-keyed repartition topic).
 *
 * Per record, in this order: refuse what is older than the dedup horizon, drop duplicates, apply the
 * event (lateness judged against the watermark *before* it), advance the watermark with its event
 * time, fire the event-time timers whose deadline the watermark has passed. The output is therefore a
 * pure function of the partition's record sequence — the property the runner's rebuild-by-replay
 * and the reference test rely on.
 *
 * Out-of-order arrival: transitions are applied along their `from → to` chain, not by arrival or
 * device time. A transition whose `from` is not the order's state waits in the order's pending list
 * until its predecessor arrives (device clocks are skewed between the customer's device and the
 * kitchen, so event time alone cannot order one lifecycle). For a lifecycle without conflicting
 * branches any arrival order gives the same states and times; a transition that never fits the chain
 * is alerted when the order is evicted. Events of an order not (yet) placed wait in an orphan buffer
 * until `order.placed` arrives or the watermark passes the grace, then become an `unknown_order` alert.
 */
import {
  type IngestedEvent,
  isLegalTransition,
  isTerminal,
  type OrderChannel,
  type OrderReadyCommand,
  type OrderStatus,
} from '@pedepronto/contracts'
import type { Contribution, ContributionKind, FactEndStatus, OrderFact } from '../schemas.js'
import {
  admit,
  type CoreConfig,
  type CoreCounters,
  DedupStore,
  MinHeap,
  newCounters,
  type Output,
  Watermark,
  windowStart,
} from './common.js'
import { deterministicUuidv7 } from './ids.js'

/** How long an `order.ready` command stays valid on the device (issue #5). */
export const ORDER_READY_TTL_MS = 10 * 60_000
export const ORDER_READY_MESSAGE = 'Seu pedido está pronto! Retire no balcão.'

type StatusEvent = Extract<IngestedEvent, { type: 'order.status_changed' }>
type RatedEvent = Extract<IngestedEvent, { type: 'order.rated' }>
type PlacedEvent = Extract<IngestedEvent, { type: 'order.placed' }>

interface OrderState {
  id: string
  restaurantId: string
  deviceId: string
  notifyDeviceId: string | undefined
  customerId: string
  channel: OrderChannel
  totalCents: number
  itemCount: number
  placedAt: number
  status: OrderStatus | null
  times: Partial<Record<OrderStatus, number>>
  pending: StatusEvent[]
  rating: { value: number; at: number; eventId: string } | null
  endedAt: number | null
  factEmitted: boolean
}

interface Orphans {
  events: (StatusEvent | RatedEvent)[]
  first: StatusEvent | RatedEvent
}

type Timer =
  | { type: 'sla'; orderId: string; status: OrderStatus | null; enteredAt: number }
  | { type: 'rating'; orderId: string }
  | { type: 'orphan'; orderId: string; firstEventId: string }
  | { type: 'forget'; orderId: string }

export interface OrdersTaskOptions {
  config: CoreConfig
  /** This task's partition and the partition count of the orders topic (for watermark markers). */
  partition: number
  partitions: number
}

export class OrdersTask {
  readonly counters: CoreCounters = newCounters()
  readonly #c: CoreConfig
  readonly #partition: number
  readonly #partitions: number
  readonly #dedup: DedupStore
  readonly #wm: Watermark
  readonly #timers = new MinHeap<Timer>()
  readonly #orders = new Map<string, OrderState>()
  readonly #orphans = new Map<string, Orphans>()
  /** Orders whose fact is written; later events for them are ignored until the horizon passes. */
  readonly #finished = new Set<string>()
  #lastMarker = Number.NEGATIVE_INFINITY

  constructor(options: OrdersTaskOptions) {
    this.#c = options.config
    this.#partition = options.partition
    this.#partitions = options.partitions
    this.#dedup = new DedupStore(options.config.dedupHorizonMs)
    this.#wm = new Watermark(options.config.allowedLatenessMs)
  }

  get watermark(): number {
    return this.#wm.value
  }

  get openOrders(): number {
    return this.#orders.size
  }

  /** One input record; `null` is a value that did not parse as an ingested event (counted, skipped). */
  process(input: IngestedEvent | null): Output[] {
    const wmBefore = this.#wm.value
    const event = admit(input, this.#dedup, wmBefore, this.counters)
    if (event === null) return []
    const out: Output[] = []
    switch (event.type) {
      case 'order.placed':
        this.#placed(event, wmBefore, out)
        break
      case 'order.status_changed':
        this.#statusChanged(event, wmBefore, out)
        break
      case 'order.rated':
        this.#rated(event, wmBefore, out)
        break
      default:
        this.counters.invalid++
        return out
    }
    this.#wm.observe(event.event_time)
    this.#fire(out)
    this.#dedup.evict(this.#wm.value)
    return out
  }

  /** A watermark marker when the watermark moved since the last one (sent after every batch). */
  endOfBatch(): Output[] {
    const wm = this.#wm.value
    if (!Number.isFinite(wm) || wm <= this.#lastMarker) return []
    this.#lastMarker = wm
    return [
      {
        kind: 'marker',
        key: `wm-${this.#partition}`,
        value: { t: 'w', source: this.#partition, sources: this.#partitions, wm },
      },
    ]
  }

  /** Markers must be re-sent after a rebuild: the replay is silent. */
  forgetMarker(): void {
    this.#lastMarker = Number.NEGATIVE_INFINITY
  }

  #placed(e: PlacedEvent, wmNow: number, out: Output[]): void {
    const id = e.payload.order_id
    if (this.#orders.has(id) || this.#finished.has(id)) {
      this.#alert(out, 'illegal_transition', e.event_time, e.restaurant_id, e.device_id, id, e.event_id, [
        `second order.placed (event ${e.event_id}) for an existing order`,
      ])
      return
    }
    const order: OrderState = {
      id,
      restaurantId: e.restaurant_id,
      deviceId: e.device_id,
      notifyDeviceId: e.payload.notify_device_id,
      customerId: e.payload.customer_id,
      channel: e.payload.channel,
      totalCents: e.payload.total_cents,
      itemCount: e.payload.items.reduce((n, it) => n + it.quantity, 0),
      placedAt: e.event_time,
      status: null,
      times: {},
      pending: [],
      rating: null,
      endedAt: null,
      factEmitted: false,
    }
    this.#orders.set(id, order)
    this.#contribute(out, order, 'placed', e.event_id, e.event_time, wmNow, { placed: 1, open_delta: 1 })
    this.#armSla(order, null, e.event_time)
    const orphans = this.#orphans.get(id)
    if (orphans !== undefined) {
      this.#orphans.delete(id)
      for (const o of orphans.events) {
        if (o.type === 'order.status_changed') {
          order.pending.push(o)
          this.#drain(order, wmNow, out)
        } else {
          this.#applyRating(order, o, wmNow, out)
        }
      }
    }
  }

  #statusChanged(e: StatusEvent, wmNow: number, out: Output[]): void {
    const { order_id: id, from, to } = e.payload
    if (!isLegalTransition(from, to)) {
      this.#alert(out, 'illegal_transition', e.event_time, e.restaurant_id, e.device_id, id, e.event_id, [
        `${from ?? 'null'} → ${to} is not a legal transition (event ${e.event_id})`,
      ])
      return
    }
    const order = this.#orders.get(id)
    if (order === undefined) {
      if (!this.#finished.has(id)) this.#orphan(e)
      return
    }
    order.pending.push(e)
    this.#drain(order, wmNow, out)
  }

  #rated(e: RatedEvent, wmNow: number, out: Output[]): void {
    // A rating behind the watermark may belong to a fact already written without it: dropped, so
    // whether a rating joins its fact depends on the data, not on when the fact happened to be cut.
    if (e.event_time < wmNow) {
      this.counters.lateRatings++
      return
    }
    const order = this.#orders.get(e.payload.order_id)
    if (order === undefined) {
      if (!this.#finished.has(e.payload.order_id)) this.#orphan(e)
      return
    }
    this.#applyRating(order, e, wmNow, out)
  }

  #applyRating(order: OrderState, e: RatedEvent, wmNow: number, out: Output[]): void {
    if (order.rating !== null) return
    order.rating = { value: e.payload.rating, at: e.event_time, eventId: e.event_id }
    if (order.endedAt !== null && !order.factEmitted && this.#ratingCounts(order)) {
      this.#emitFact(order, wmNow, out)
    }
  }

  #ratingCounts(order: OrderState): boolean {
    return (
      order.rating !== null &&
      order.endedAt !== null &&
      order.rating.at <= order.endedAt + this.#c.ratingTimeoutMs
    )
  }

  #orphan(e: StatusEvent | RatedEvent): void {
    const id = e.payload.order_id
    const existing = this.#orphans.get(id)
    if (existing !== undefined) {
      existing.events.push(e)
      return
    }
    this.#orphans.set(id, { events: [e], first: e })
    this.#timers.push(e.event_time + this.#c.unknownOrderGraceMs, `o:${id}:${e.event_id}`, {
      type: 'orphan',
      orderId: id,
      firstEventId: e.event_id,
    })
  }

  #drain(order: OrderState, wmNow: number, out: Output[]): void {
    for (;;) {
      const i = order.pending.findIndex((p) => p.payload.from === order.status)
      if (i < 0) return
      const [next] = order.pending.splice(i, 1)
      this.#apply(order, next!, wmNow, out)
    }
  }

  #apply(order: OrderState, e: StatusEvent, wmNow: number, out: Output[]): void {
    const to = e.payload.to
    const t = e.event_time
    order.status = to
    order.times[to] = t
    switch (to) {
      case 'ready': {
        const accepted = order.times.accepted
        if (accepted !== undefined) {
          this.#contribute(out, order, 'ready', e.event_id, t, wmNow, { prep_ms: t - accepted })
        }
        out.push(this.#readyCommand(order, e))
        break
      }
      case 'picked_up':
        this.#contribute(out, order, 'picked_up', e.event_id, t, wmNow, {
          revenue_cents: order.totalCents,
          open_delta: -1,
        })
        break
      case 'cancelled':
        this.#contribute(out, order, 'cancelled', e.event_id, t, wmNow, { cancelled: 1, open_delta: -1 })
        break
      case 'rejected':
        this.#contribute(out, order, 'rejected', e.event_id, t, wmNow, { open_delta: -1 })
        break
      default:
        break
    }
    if (isTerminal(to)) {
      order.endedAt = t
      this.#timers.push(t + this.#c.ratingTimeoutMs, `r:${order.id}`, { type: 'rating', orderId: order.id })
      if (this.#ratingCounts(order)) this.#emitFact(order, wmNow, out)
    } else {
      this.#armSla(order, to, t)
    }
  }

  #armSla(order: OrderState, status: OrderStatus | null, enteredAt: number): void {
    this.#timers.push(enteredAt + this.#sla(status), `s:${order.id}:${status ?? 'placed'}`, {
      type: 'sla',
      orderId: order.id,
      status,
      enteredAt,
    })
  }

  #sla(status: OrderStatus | null): number {
    const c = this.#c
    switch (status) {
      case null:
        return c.slaPlacedMs
      case 'received':
        return c.slaReceivedMs
      case 'accepted':
        return c.slaAcceptedMs
      case 'preparing':
        return c.slaPreparingMs
      case 'ready':
        return c.slaReadyMs
      default:
        return Number.POSITIVE_INFINITY
    }
  }

  #readyCommand(order: OrderState, e: StatusEvent): Output {
    const deviceId = order.notifyDeviceId ?? order.deviceId
    const value: OrderReadyCommand = {
      v: 1,
      command_id: deterministicUuidv7(e.event_time, 'order.ready', e.event_id),
      type: 'order.ready',
      device_id: deviceId,
      restaurant_id: order.restaurantId,
      issued_at: e.event_time,
      expires_at: e.event_time + ORDER_READY_TTL_MS,
      payload: { order_id: order.id, message: ORDER_READY_MESSAGE },
    }
    return { kind: 'command', key: deviceId, value }
  }

  #emitFact(order: OrderState, wmNow: number, out: Output[]): void {
    order.factEmitted = true
    const t = order.times
    const rating = this.#ratingCounts(order) ? order.rating : null
    const end = order.status as FactEndStatus
    const fact: OrderFact = {
      v: 1,
      order_id: order.id,
      restaurant_id: order.restaurantId,
      device_id: order.deviceId,
      customer_id: order.customerId,
      channel: order.channel,
      end_status: end,
      placed_at: order.placedAt,
      ended_at: order.endedAt as number,
      placed_to_accepted_ms: t.accepted === undefined ? null : t.accepted - order.placedAt,
      accepted_to_ready_ms: t.accepted === undefined || t.ready === undefined ? null : t.ready - t.accepted,
      ready_to_picked_up_ms:
        t.ready === undefined || t.picked_up === undefined ? null : t.picked_up - t.ready,
      total_cents: order.totalCents,
      item_count: order.itemCount,
      rating: rating?.value ?? null,
      rated_at: rating?.at ?? null,
    }
    out.push({ kind: 'fact', key: order.id, value: fact })
    if (rating !== null) {
      this.#contribute(out, order, 'rated', rating.eventId, rating.at, wmNow, { rating: rating.value })
    }
  }

  #contribute(
    out: Output[],
    order: OrderState,
    kind: ContributionKind,
    eventId: string,
    eventTime: number,
    wmNow: number,
    parts: Partial<
      Pick<Contribution, 'placed' | 'revenue_cents' | 'cancelled' | 'prep_ms' | 'rating' | 'open_delta'>
    >,
  ): void {
    // Judged here, against this partition's watermark when the contribution is *emitted*: stage 2
    // closes a window only when every source partition's watermark has passed it, so a contribution
    // that is not late here always finds its window open there, whatever the interleaving of the
    // source partitions in the repartition topic. KPIs are thus a function of the input data alone.
    const late = windowStart(eventTime, this.#c.windowMs) + this.#c.windowMs <= wmNow
    out.push({
      kind: 'contribution',
      key: order.restaurantId,
      value: {
        t: 'c',
        kind,
        event_id: eventId,
        restaurant_id: order.restaurantId,
        order_id: order.id,
        event_time: eventTime,
        late,
        watermark: Number.isFinite(wmNow) ? wmNow : 0,
        placed: parts.placed ?? 0,
        revenue_cents: parts.revenue_cents ?? 0,
        cancelled: parts.cancelled ?? 0,
        prep_ms: parts.prep_ms ?? null,
        rating: parts.rating ?? null,
        open_delta: parts.open_delta ?? 0,
      },
    })
  }

  #alert(
    out: Output[],
    kind: 'order_stuck' | 'illegal_transition' | 'unknown_order',
    eventTime: number,
    restaurantId: string,
    deviceId: string | null,
    orderId: string,
    discriminator: string,
    detail: string[],
  ): void {
    out.push({
      kind: 'alert',
      key: restaurantId,
      value: {
        v: 1,
        alert_id: deterministicUuidv7(eventTime, kind, orderId, discriminator),
        kind,
        restaurant_id: restaurantId,
        device_id: deviceId,
        order_id: orderId,
        event_time: eventTime,
        detail: detail.join('; ').slice(0, 500),
      },
    })
  }

  #fire(out: Output[]): void {
    const wm = this.#wm.value
    for (let at = this.#timers.peekAt(); at !== undefined && at < wm; at = this.#timers.peekAt()) {
      const { value: timer } = this.#timers.pop()!
      switch (timer.type) {
        case 'sla': {
          const order = this.#orders.get(timer.orderId)
          if (order === undefined || order.status !== timer.status || order.endedAt !== null) break
          const sla = this.#sla(timer.status)
          this.#alert(out, 'order_stuck', at, order.restaurantId, null, order.id, timer.status ?? 'placed', [
            `order in state ${timer.status ?? 'placed'} for more than ${sla} ms (since ${timer.enteredAt})`,
          ])
          break
        }
        case 'rating': {
          const order = this.#orders.get(timer.orderId)
          if (order === undefined) break
          if (!order.factEmitted) this.#emitFact(order, wm, out)
          for (const p of order.pending) {
            this.#alert(
              out,
              'illegal_transition',
              p.event_time,
              order.restaurantId,
              p.device_id,
              order.id,
              p.event_id,
              [
                `${p.payload.from ?? 'null'} → ${p.payload.to} never applied: the order went ${order.status} (event ${p.event_id})`,
              ],
            )
          }
          this.#orders.delete(order.id)
          this.#finished.add(order.id)
          this.#timers.push(at + this.#c.dedupHorizonMs, `f:${order.id}`, {
            type: 'forget',
            orderId: order.id,
          })
          break
        }
        case 'orphan': {
          const orphans = this.#orphans.get(timer.orderId)
          if (orphans === undefined || orphans.first.event_id !== timer.firstEventId) break
          this.#orphans.delete(timer.orderId)
          const f = orphans.first
          this.#alert(
            out,
            'unknown_order',
            f.event_time,
            f.restaurant_id,
            f.device_id,
            timer.orderId,
            f.event_id,
            [
              `${orphans.events.length} event(s) for order ${timer.orderId}, never placed (first ${f.type} ${f.event_id})`,
            ],
          )
          break
        }
        case 'forget':
          this.#finished.delete(timer.orderId)
          break
      }
    }
  }
}
