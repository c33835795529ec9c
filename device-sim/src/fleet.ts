/**
 * The fleet as a pure discrete-event simulation: restaurants × devices, each device a small
 * firmware-like behaviour driven by virtual time and its own seeded stream. No sockets, no wall
 * clock: `--dry-run` pulls the whole stream instantly, a live run pulls the same stream and maps its
 * virtual times onto wall time. One seed, one stream (same ids, contents and per-device order).
 */
import type { Random } from '@pedepronto/common'
import {
  type Command,
  type DeviceEvent,
  EPOCH_MS_MAX,
  EPOCH_MS_MIN,
  type EventOf,
  type EventType,
  eventTopic,
  type OrderItem,
  type OrderStatus,
  type PayloadOf,
} from '@pedepronto/contracts'
import { EVENT_FAULTS, type EventFault, type FaultName } from './faults.js'
import { TimedHeap } from './heap.js'
import { backoffMs, deviceRandom, normal, STREAM, sampleMs, weighted } from './random.js'
import type { Behaviour, Scenario } from './scenario.js'
import { fastUuidv7 } from './uuid.js'

export const DEVICE_KINDS = ['kitchen', 'kiosk', 'table', 'app', 'pager', 'fridge', 'fryer'] as const
export type DeviceKind = (typeof DEVICE_KINDS)[number]

/**
 * Slots of a restaurant, in order: the first eight cover every kind once (two pagers), the rest
 * cycle through customer devices and pagers, the kinds a busy restaurant has many of.
 */
const LAYOUT: readonly DeviceKind[] = [
  'kitchen',
  'kiosk',
  'pager',
  'fridge',
  'fryer',
  'table',
  'app',
  'pager',
]
const EXTRA: readonly DeviceKind[] = ['kiosk', 'table', 'app', 'pager']

export function kindAt(slot: number): DeviceKind {
  return slot < LAYOUT.length ? LAYOUT[slot]! : EXTRA[(slot - LAYOUT.length) % EXTRA.length]!
}

export const FIRMWARE: { readonly [K in DeviceKind]: string } = {
  kitchen: 'kds-2.4.1',
  kiosk: 'kiosk-3.1.0',
  table: 'tablet-1.8.2',
  app: 'app-5.12.0',
  pager: 'pager-1.2.7',
  fridge: 'sens-0.9.3',
  fryer: 'sens-0.9.3',
}

const MAINS_POWERED: ReadonlySet<DeviceKind> = new Set(['kitchen', 'kiosk'])
const WIRED: ReadonlySet<DeviceKind> = new Set(['kiosk'])
export const CUSTOMER_KINDS: ReadonlySet<DeviceKind> = new Set(['kiosk', 'table', 'app'])

export interface DeviceSpec {
  index: number
  restaurantIndex: number
  slot: number
  kind: DeviceKind
  restaurantId: string
  deviceId: string
  firmware: string
}

export function restaurantId(r: number): string {
  return `rest-${String(r + 1).padStart(4, '0')}`
}

/** `firstRestaurant` shifts the numbering so that two fleets on one broker never share an id. */
export function fleetLayout(
  restaurants: number,
  devicesPerRestaurant: number,
  firstRestaurant = 0,
): DeviceSpec[] {
  const out: DeviceSpec[] = []
  for (let r = firstRestaurant; r < firstRestaurant + restaurants; r++) {
    for (let slot = 0; slot < devicesPerRestaurant; slot++) {
      const kind = kindAt(slot)
      out.push({
        index: out.length,
        restaurantIndex: r - firstRestaurant,
        slot,
        kind,
        restaurantId: restaurantId(r),
        deviceId: `r${String(r + 1).padStart(4, '0')}-${kind}-${String(slot).padStart(3, '0')}`,
        firmware: FIRMWARE[kind],
      })
    }
  }
  return out
}

/** What the simulation hands to a transport (or to the dry-run writer). */
export type Emission =
  | {
      kind: 'event'
      /** Virtual time (epoch ms) at which the firmware hands it to its transport. */
      at: number
      device: number
      event: DeviceEvent
      topic: string
      /** Faults applied to this send; empty for a clean event. */
      faults: EventFault[]
      /** Bytes to send instead of the event's JSON (malformed or oversized faults). */
      raw?: string
    }
  | { kind: 'disconnect'; at: number; device: number; durationMs: number }

export interface SimCounters {
  events: number
  byType: Record<EventType, number>
  faults: Record<FaultName, number>
  orders: {
    placed: number
    cancelled: number
    rejected: number
    ready: number
    pickedUp: number
    rated: number
    /** Ready orders whose customer was never paged and walked up after `pagePatienceS`. */
    unpaged: number
  }
  commands: { received: number; acknowledged: number; expired: number; ignored: number }
}

interface OrderState {
  id: string
  restaurant: number
  customer: number
  notify: number | undefined
  status: OrderStatus
  placedAt: number
  /** The customer's pager or app showed "order ready" (pickupTrigger command). */
  paged?: boolean
}

interface DeviceState {
  spec: DeviceSpec
  random: Random
  faultRandom: Random
  seq: number
  bootAt: number
  /** Clock skew plus any injected clock jumps: device time = virtual time + offset. */
  clockOffsetMs: number
  battery: number | null
  /** Sensors: slow drift and an excursion in progress. */
  drift: number
  excursionLeft: number
  excursionSize: number
  /** An event held back by the `reorder` fault, released after the next one. */
  held: Emission | undefined
  ordersPlaced: number
  /** The device's event topics, built on first use: one string per (device, type), not per event. */
  topics: Partial<Record<EventType, string>>
}

type Action = () => void

/** The fleet simulation. Pull emissions with `next()` (virtual-time order) until it returns undefined. */
export class FleetSimulation {
  readonly scenario: Scenario
  readonly devices: DeviceSpec[]
  readonly counters: SimCounters
  readonly #b: Behaviour
  readonly #heap = new TimedHeap<Action>()
  readonly #state: DeviceState[]
  readonly #out: Emission[] = []
  readonly #orders = new Map<string, OrderState>()
  readonly #kitchen: (number | undefined)[] = []
  readonly #pagers: number[][] = []
  readonly #end: number
  readonly #menuWeights: number[]
  /** This event's fault draws, reused across events (one per EVENT_FAULTS entry). */
  readonly #draws = new Float64Array(EVENT_FAULTS.length)
  #now: number

  constructor(scenario: Scenario) {
    this.scenario = scenario
    this.#b = scenario.behaviour
    this.#menuWeights = this.#b.menu.map((m) => m.weight)
    this.#now = scenario.startMs
    this.#end = scenario.startMs + scenario.durationMs
    this.devices = fleetLayout(
      scenario.restaurants,
      scenario.devicesPerRestaurant,
      scenario.firstRestaurant ?? 0,
    )
    this.counters = {
      events: 0,
      byType: {
        'order.placed': 0,
        'order.status_changed': 0,
        'order.rated': 0,
        'device.telemetry': 0,
        'device.heartbeat': 0,
      },
      faults: {
        duplicate: 0,
        reorder: 0,
        clock_jump: 0,
        malformed: 0,
        oversized: 0,
        foreign_topic: 0,
        disconnect: 0,
        serial_noise: 0,
      },
      orders: { placed: 0, cancelled: 0, rejected: 0, ready: 0, pickedUp: 0, rated: 0, unpaged: 0 },
      commands: { received: 0, acknowledged: 0, expired: 0, ignored: 0 },
    }
    this.#state = this.devices.map((spec) => {
      const random = deviceRandom(scenario.seed, spec.index, STREAM.behaviour)
      const skew = Math.round(normal(random, 0, this.#b.clockSkewSdMs))
      return {
        spec,
        random,
        faultRandom: deviceRandom(scenario.seed, spec.index, STREAM.faults),
        seq: 0,
        bootAt: scenario.startMs,
        clockOffsetMs: skew,
        battery: MAINS_POWERED.has(spec.kind) ? null : 40 + Math.floor(random() * 61),
        drift: 0,
        excursionLeft: 0,
        excursionSize: 0,
        held: undefined,
        ordersPlaced: 0,
        topics: {},
      }
    })
    for (const spec of this.devices) {
      if (spec.kind === 'kitchen' && this.#kitchen[spec.restaurantIndex] === undefined)
        this.#kitchen[spec.restaurantIndex] = spec.index
      if (spec.kind === 'pager') {
        const list = this.#pagers[spec.restaurantIndex] ?? []
        list.push(spec.index)
        this.#pagers[spec.restaurantIndex] = list
      }
    }
    const customers = this.devices.filter((d) => CUSTOMER_KINDS.has(d.kind)).length
    for (const st of this.#state) this.#boot(st, customers)
    this.#scheduleStorms()
  }

  /** The virtual time of the last action run. */
  get now(): number {
    return this.#now
  }

  get endMs(): number {
    return this.#end
  }

  /** The next emission in virtual-time order, or undefined when the run is over. */
  next(): Emission | undefined {
    while (this.#out.length === 0) {
      const top = this.#heap.peek()
      if (top === undefined || top.at > this.#end) return this.#flushHeld()
      this.#heap.pop()
      this.#now = top.at
      top.value()
    }
    return this.#out.shift()
  }

  /** Every emission of the run (dry-run). */
  all(): Emission[] {
    const out: Emission[] = []
    for (let e = this.next(); e !== undefined; e = this.next()) out.push(e)
    return out
  }

  /**
   * A downlink command reached device `index` (live runs). A pager in `command` mode shows the order
   * and starts the pickup; otherwise the command is acknowledged (counted) only.
   */
  deliverCommand(index: number, command: Command, atMs: number): 'acknowledged' | 'expired' | 'ignored' {
    const st = this.#state[index]
    if (st === undefined) return 'ignored'
    this.counters.commands.received++
    if (command.expires_at <= atMs + st.clockOffsetMs) {
      this.counters.commands.expired++
      return 'expired'
    }
    if (command.type !== 'order.ready') {
      this.counters.commands.ignored++
      return 'ignored'
    }
    this.counters.commands.acknowledged++
    const order = this.#orders.get(command.payload.order_id)
    if (
      this.#b.pickupTrigger === 'command' &&
      order !== undefined &&
      order.status === 'ready' &&
      !order.paged
    ) {
      order.paged = true
      this.#at(Math.max(atMs, this.#now), () => this.#startPickup(st, order))
    }
    return 'acknowledged'
  }

  // ---- scheduling -----------------------------------------------------------------------------

  #at(at: number, action: Action): void {
    if (at <= this.#end) this.#heap.push(at, action)
  }

  #after(ms: number, action: Action): void {
    this.#at(this.#now + ms, action)
  }

  #boot(st: DeviceState, customers: number): void {
    // Devices power up within the first two seconds, not all in the same millisecond.
    const bootDelay = Math.floor(st.random() * 2000)
    st.bootAt = this.scenario.startMs + bootDelay
    const hbMs = this.#b.heartbeatIntervalS * 1000
    this.#at(st.bootAt, () => {
      this.#heartbeat(st)
      const loop = () => {
        this.#heartbeat(st)
        this.#after(hbMs, loop)
      }
      this.#after(hbMs, loop)
    })
    const kind = st.spec.kind
    if (CUSTOMER_KINDS.has(kind) && this.scenario.ratePerS > 0 && customers > 0) {
      // Superposed Poisson processes are Poisson: each customer device gets an equal share.
      const perMs = this.scenario.ratePerS / customers / 1000
      const closesAt = this.scenario.startMs + (this.scenario.ordersUntilMs ?? this.scenario.durationMs)
      const arrive = () => {
        // After the last order time the restaurant keeps working: open orders finish, nothing new.
        if (this.#now > closesAt) return
        this.#placeOrder(st)
        this.#after(Math.max(1, Math.round(-Math.log(1 - st.random()) / perMs)), arrive)
      }
      this.#at(st.bootAt + Math.max(1, Math.round(-Math.log(1 - st.random()) / perMs)), arrive)
    }
    if (kind === 'fridge' || kind === 'fryer') {
      const every = this.#b.telemetryIntervalS * 1000
      const read = () => {
        this.#telemetry(st)
        this.#after(every, read)
      }
      this.#at(st.bootAt + Math.floor(st.random() * every), read)
    }
  }

  #scheduleStorms(): void {
    const f = this.scenario.faults
    if (f.disconnect_storms_per_min <= 0 || f.disconnect_fraction <= 0) return
    const r = deviceRandom(this.scenario.seed, 0, STREAM.storms)
    const perMs = f.disconnect_storms_per_min / 60_000
    const storm = () => {
      for (const st of this.#state) {
        if (r() < f.disconnect_fraction) {
          // Spread over the storm's first half second, like a Wi-Fi access point rebooting.
          const jitter = Math.floor(r() * 500)
          this.counters.faults.disconnect++
          this.#out.push({
            kind: 'disconnect',
            at: this.#now + jitter,
            device: st.spec.index,
            durationMs: f.disconnect_ms,
          })
        }
      }
      this.#after(Math.max(1, Math.round(-Math.log(1 - r()) / perMs)), storm)
    }
    this.#at(this.scenario.startMs + Math.max(1, Math.round(-Math.log(1 - r()) / perMs)), storm)
  }

  // ---- behaviours ---------------------------------------------------------------------------------

  #heartbeat(st: DeviceState): void {
    const kind = st.spec.kind
    if (st.battery !== null) {
      // Drains about 3 %/h under use; a charger at 15 % puts it back to 100 % (staff swap the pager).
      st.battery = st.battery - this.#b.heartbeatIntervalS / 1200
      if (st.battery < 15) st.battery = 100
    }
    const rssi = WIRED.has(kind) ? null : Math.max(-120, Math.min(-30, Math.round(normal(st.random, -62, 8))))
    this.#emit(st, 'device.heartbeat', {
      uptime_s: Math.max(0, Math.floor((this.#now - st.bootAt) / 1000)),
      firmware: st.spec.firmware,
      battery_pct: st.battery === null ? null : Math.max(0, Math.min(100, Math.round(st.battery))),
      rssi_dbm: rssi,
    })
  }

  #telemetry(st: DeviceState): void {
    const fridge = st.spec.kind === 'fridge'
    const base = fridge ? 4 : 175
    // A bounded random walk (compressor cycling, thermostat wear) plus sensor noise.
    st.drift = Math.max(-1.5, Math.min(1.5, st.drift + normal(st.random, 0, fridge ? 0.05 : 0.3)))
    const noise = normal(st.random, 0, fridge ? 0.15 : 0.8)
    const startExcursion = st.random() < this.#b.excursionRate
    if (st.excursionLeft === 0 && startExcursion) {
      st.excursionLeft = 3 + Math.floor(st.random() * 10)
      st.excursionSize = fridge ? 4 + st.random() * 6 : 12 + st.random() * 25
    }
    let value = base + st.drift * (fridge ? 1 : 4) + noise
    if (st.excursionLeft > 0) {
      value += st.excursionSize
      st.excursionLeft--
    }
    this.#emit(st, 'device.telemetry', {
      sensor: fridge ? 'fridge_temp' : 'fryer_oil_temp',
      value: Math.round(value * 100) / 100,
      unit: 'celsius',
    })
  }

  #placeOrder(st: DeviceState): void {
    const b = this.#b
    const r = st.random
    const spec = st.spec
    const kitchen = this.#kitchen[spec.restaurantIndex]
    const count = 1 + Math.floor(r() * b.maxItemsPerOrder)
    const items: OrderItem[] = []
    const weights = this.#menuWeights
    for (let i = 0; i < count; i++) {
      const m = weighted(r, b.menu, weights)
      const quantity = 1 + Math.floor(r() * r() * 3)
      const existing = items.find((it) => it.sku === m.sku)
      if (existing) existing.quantity = Math.min(99, existing.quantity + quantity)
      else items.push({ sku: m.sku, name: m.name, quantity, unit_price_cents: m.priceCents })
    }
    const total = items.reduce((acc, it) => acc + it.quantity * it.unit_price_cents, 0)
    st.ordersPlaced++
    const orderId = `${spec.deviceId}-o${st.ordersPlaced}`
    const pagers = this.#pagers[spec.restaurantIndex] ?? []
    const notify =
      spec.kind === 'app'
        ? spec.index
        : pagers.length > 0
          ? pagers[Math.floor(r() * pagers.length)]
          : undefined
    const channel = spec.kind === 'kiosk' ? 'kiosk' : spec.kind === 'table' ? 'table' : 'app'
    const payload: PayloadOf<'order.placed'> = {
      order_id: orderId,
      customer_id: `cust-${1 + Math.floor(r() * 50_000)}`,
      channel,
      items,
      total_cents: total,
      currency: 'BRL',
    }
    if (notify !== undefined) payload.notify_device_id = this.devices[notify]!.deviceId
    if (spec.kind === 'table') payload.table = `T${1 + (spec.slot % 40)}`
    this.#emit(st, 'order.placed', payload)
    this.counters.orders.placed++
    const order: OrderState = {
      id: orderId,
      restaurant: spec.restaurantIndex,
      customer: spec.index,
      notify,
      status: 'received',
      placedAt: this.#now,
    }
    this.#orders.set(orderId, order)
    // The customer may change their mind: the cancel time is drawn now, applied if still possible.
    const willCancel = r() < b.cancelRate
    const cancelAfter = sampleMs(r, b.cancelTime)
    if (willCancel) this.#after(cancelAfter, () => this.#cancel(st, order))
    if (kitchen === undefined) return
    const k = this.#state[kitchen]!
    // The kitchen display learns of the order after the network hop (the order service's push).
    this.#after(150 + Math.floor(k.random() * 200), () => this.#kitchenReceive(k, order))
  }

  #transition(st: DeviceState, order: OrderState, to: OrderStatus, reason?: string): void {
    const payload: PayloadOf<'order.status_changed'> = {
      order_id: order.id,
      from: order.status,
      to,
    }
    if (reason !== undefined) payload.reason = reason
    order.status = to
    this.#emit(st, 'order.status_changed', payload)
  }

  #kitchenReceive(k: DeviceState, order: OrderState): void {
    if (order.status !== 'received') return
    const b = this.#b
    this.#emit(k, 'order.status_changed', { order_id: order.id, from: null, to: 'received' })
    const reject = k.random() < b.rejectRate
    const acceptMs = sampleMs(k.random, b.acceptTime)
    this.#after(acceptMs, () => {
      if (order.status !== 'received') return
      if (reject) {
        this.#transition(k, order, 'rejected', REJECT_REASONS[Math.floor(k.random() * REJECT_REASONS.length)])
        this.counters.orders.rejected++
        return
      }
      this.#transition(k, order, 'accepted')
      this.#after(sampleMs(k.random, b.prepStartTime), () => {
        if (order.status !== 'accepted') return
        this.#transition(k, order, 'preparing')
        this.#after(sampleMs(k.random, b.prepTime), () => {
          if (order.status !== 'preparing') return
          this.#transition(k, order, 'ready')
          this.counters.orders.ready++
          const n = order.notify === undefined ? k : this.#state[order.notify]!
          if (b.pickupTrigger === 'sim') {
            this.#after(50, () => this.#startPickup(n, order))
          } else {
            // Never paged: after a while the customer walks up to the counter anyway (counted).
            this.#after(b.pagePatienceS * 1000, () => {
              if (order.status !== 'ready' || order.paged) return
              this.counters.orders.unpaged++
              this.#startPickup(n, order)
            })
          }
        })
      })
    })
  }

  /** The pager (or app) shows "pede pronto"; the customer walks up after a drawn delay. */
  #startPickup(notifier: DeviceState, order: OrderState): void {
    if (order.status !== 'ready') return
    const kitchen = this.#kitchen[order.restaurant]
    this.#after(sampleMs(notifier.random, this.#b.pickupTime), () => {
      if (order.status !== 'ready' || kitchen === undefined) return
      const k = this.#state[kitchen]!
      this.#transition(k, order, 'picked_up')
      this.counters.orders.pickedUp++
      const c = this.#state[order.customer]!
      const rate = c.random() < this.#b.ratingRate
      const after = sampleMs(c.random, this.#b.ratingTime)
      if (rate) this.#after(after, () => this.#rate(c, order))
    })
  }

  #cancel(st: DeviceState, order: OrderState): void {
    if (order.status !== 'received' && order.status !== 'accepted' && order.status !== 'preparing') return
    this.#transition(st, order, 'cancelled', CANCEL_REASONS[Math.floor(st.random() * CANCEL_REASONS.length)])
    this.counters.orders.cancelled++
  }

  #rate(c: DeviceState, order: OrderState): void {
    const b = this.#b
    const rating = weighted(c.random, [1, 2, 3, 4, 5], b.ratingWeights)
    const payload: PayloadOf<'order.rated'> = { order_id: order.id, rating }
    if (c.random() < b.commentRate) payload.comment = COMMENTS[rating - 1]![Math.floor(c.random() * 2)]!
    this.#emit(c, 'order.rated', payload)
    this.counters.orders.rated++
    this.#orders.delete(order.id)
  }

  // ---- the firmware's send path ---------------------------------------------------------------------

  #emit<T extends EventType>(st: DeviceState, type: T, payload: PayloadOf<T>): void {
    const f = this.scenario.faults
    const fr = st.faultRandom
    // One draw per fault, always, in EVENT_FAULTS order (see faults.ts).
    const draws = this.#draws
    for (let i = 0; i < draws.length; i++) draws[i] = fr()
    const sign = fr() < 0.5 ? -1 : 1
    const other = fr()
    const hit = (name: EventFault) => draws[FAULT_INDEX[name]]! < f[name]
    const faults: EventFault[] = []
    if (hit('clock_jump')) {
      st.clockOffsetMs += sign * f.clock_jump_ms
      faults.push('clock_jump')
    }
    const deviceTime = clamp(this.#now + st.clockOffsetMs, EPOCH_MS_MIN, EPOCH_MS_MAX)
    const event = {
      v: 1,
      event_id: fastUuidv7(deviceTime, st.random),
      type,
      device_id: st.spec.deviceId,
      restaurant_id: st.spec.restaurantId,
      event_time: deviceTime,
      seq: st.seq,
      payload,
    } as EventOf<T> as DeviceEvent
    st.seq = (st.seq + 1) >>> 0
    this.counters.events++
    this.counters.byType[type]++
    let topic = topicOf(st, type)
    if (hit('foreign_topic') && this.devices.length > 1) {
      const victim = (st.spec.index + 1 + Math.floor(other * (this.devices.length - 1))) % this.devices.length
      topic = topicOf(this.#state[victim]!, type)
      faults.push('foreign_topic')
    }
    let raw: string | undefined
    if (hit('malformed')) {
      const json = JSON.stringify(event)
      raw = json.slice(0, Math.max(1, Math.floor(json.length / 2)))
      faults.push('malformed')
    } else if (hit('oversized')) {
      const json = JSON.stringify(event)
      raw = `${json.slice(0, -1)},"padding":"${'x'.repeat(f.oversized_bytes)}"}`
      faults.push('oversized')
    }
    const emission: Emission = { kind: 'event', at: this.#now, device: st.spec.index, event, topic, faults }
    if (raw !== undefined) emission.raw = raw
    const dup = hit('duplicate')
    const reorder = hit('reorder')
    for (const name of faults) this.counters.faults[name]++
    if (dup) {
      this.counters.faults.duplicate++
      faults.push('duplicate')
    }
    const held = st.held
    st.held = undefined
    if (reorder && held === undefined) {
      // Sent after the device's next event: the receiver sees seq n+1 before seq n.
      this.counters.faults.reorder++
      faults.push('reorder')
      st.held = emission
    } else {
      this.#out.push(emission)
    }
    if (dup) this.#out.push({ ...emission, at: this.#now })
    if (held !== undefined) this.#out.push({ ...held, at: this.#now })
  }

  #flushHeld(): Emission | undefined {
    for (const st of this.#state) {
      if (st.held !== undefined) {
        const h = st.held
        st.held = undefined
        return h
      }
    }
    return undefined
  }
}

const FAULT_INDEX = Object.fromEntries(EVENT_FAULTS.map((name, i) => [name, i])) as Record<EventFault, number>

function topicOf(st: DeviceState, type: EventType): string {
  let topic = st.topics[type]
  if (topic === undefined) {
    topic = eventTopic(st.spec.restaurantId, st.spec.deviceId, type)
    st.topics[type] = topic
  }
  return topic
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x))
}

const REJECT_REASONS = ['out_of_stock', 'kitchen_overloaded', 'closing_soon', 'payment_declined'] as const
const CANCEL_REASONS = ['customer_changed_mind', 'waited_too_long', 'ordered_twice'] as const
const COMMENTS: readonly (readonly string[])[] = [
  ['Pedido chegou frio.', 'Demorou demais.'],
  ['Faltou um item.', 'Batata murcha.'],
  ['Ok, nada demais.', 'Poderia ser mais rápido.'],
  ['Muito bom!', 'Chegou quentinho.'],
  ['Perfeito, pede pronto rapidinho!', 'Melhor coxinha da cidade.'],
]

/** Re-exported for the live runner's backoff (same full-jitter rule). */
export { backoffMs }
