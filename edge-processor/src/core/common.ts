// Shared pieces of the pure core: the output union, event-time timers and the de-duplication store.
// No sockets, no clocks (STYLE.md §2): every decision is a function of the partition's input sequence.
import type { IngestedEvent, OrderReadyCommand } from '@pedepronto/contracts'
import type { Alert, Contribution, LateEvent, OrderFact, RestaurantKpi, WatermarkMarker } from '../schemas.js'

export type Output =
  | { kind: 'fact'; key: string; value: OrderFact }
  | { kind: 'command'; key: string; value: OrderReadyCommand }
  | { kind: 'alert'; key: string; value: Alert }
  | { kind: 'contribution'; key: string; value: Contribution }
  /** Broadcast by the runner to every partition of the repartition topic. */
  | { kind: 'marker'; key: string; value: WatermarkMarker }
  | { kind: 'kpi'; key: string; value: RestaurantKpi }
  | { kind: 'late'; key: string; value: LateEvent }

export type OutputKind = Output['kind']

/** The processor's knobs the core needs (a projection of ProcessorConfig['processor']). */
export interface CoreConfig {
  windowMs: number
  allowedLatenessMs: number
  dedupHorizonMs: number
  ratingTimeoutMs: number
  unknownOrderGraceMs: number
  slaPlacedMs: number
  slaReceivedMs: number
  slaAcceptedMs: number
  slaPreparingMs: number
  slaReadyMs: number
  heartbeatIntervalMs: number
  missedHeartbeats: number
}

export const DEFAULT_CORE_CONFIG: CoreConfig = {
  windowMs: 60_000,
  allowedLatenessMs: 120_000,
  dedupHorizonMs: 3_600_000,
  ratingTimeoutMs: 600_000,
  unknownOrderGraceMs: 60_000,
  slaPlacedMs: 60_000,
  slaReceivedMs: 180_000,
  slaAcceptedMs: 300_000,
  slaPreparingMs: 1_200_000,
  slaReadyMs: 600_000,
  heartbeatIntervalMs: 30_000,
  missedHeartbeats: 3,
}

export function windowStart(eventTime: number, windowMs: number): number {
  return Math.floor(eventTime / windowMs) * windowMs
}

/** Binary min-heap ordered by (at, tie): the tie keeps firing order independent of insertion order. */
export class MinHeap<T> {
  readonly #items: { at: number; tie: string; value: T }[] = []

  get size(): number {
    return this.#items.length
  }

  push(at: number, tie: string, value: T): void {
    const items = this.#items
    items.push({ at, tie, value })
    let i = items.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.#less(i, p)) break
      ;[items[i], items[p]] = [items[p]!, items[i]!]
      i = p
    }
  }

  peekAt(): number | undefined {
    return this.#items[0]?.at
  }

  pop(): { at: number; tie: string; value: T } | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    items[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < items.length && this.#less(l, m)) m = l
      if (r < items.length && this.#less(r, m)) m = r
      if (m === i) break
      ;[items[i], items[m]] = [items[m]!, items[i]!]
      i = m
    }
    return top
  }

  #less(a: number, b: number): boolean {
    const x = this.#items[a]!
    const y = this.#items[b]!
    return x.at < y.at || (x.at === y.at && x.tie < y.tie)
  }
}

/**
 * Event ids seen within the horizon (event time). An id is forgotten once the watermark has passed
 * its event time by the horizon; an event that old is refused before lookup (see `tooOld`), so a
 * forgotten id can never be let through twice.
 */
export class DedupStore {
  readonly #seen = new Map<string, number>()
  readonly #expiry = new MinHeap<string>()
  readonly #horizonMs: number

  constructor(horizonMs: number) {
    this.#horizonMs = horizonMs
  }

  get size(): number {
    return this.#seen.size
  }

  tooOld(eventTime: number, watermark: number): boolean {
    return eventTime < watermark - this.#horizonMs
  }

  /** True the first time an id is offered (within the horizon), false for a duplicate. */
  firstSeen(eventId: string, eventTime: number): boolean {
    if (this.#seen.has(eventId)) return false
    this.#seen.set(eventId, eventTime)
    this.#expiry.push(eventTime, eventId, eventId)
    return true
  }

  evict(watermark: number): void {
    const limit = watermark - this.#horizonMs
    for (let at = this.#expiry.peekAt(); at !== undefined && at < limit; at = this.#expiry.peekAt()) {
      const e = this.#expiry.pop()!
      this.#seen.delete(e.value)
    }
  }
}

/** Per-partition event-time watermark: max event time seen minus the allowed lateness. */
export class Watermark {
  #max = Number.NEGATIVE_INFINITY
  readonly #latenessMs: number

  constructor(latenessMs: number) {
    this.#latenessMs = latenessMs
  }

  get value(): number {
    return this.#max - this.#latenessMs
  }

  observe(eventTime: number): void {
    if (eventTime > this.#max) this.#max = eventTime
  }
}

export interface CoreCounters {
  eventsIn: number
  duplicates: number
  invalid: number
  tooOld: number
  lateRatings: number
}

export function newCounters(): CoreCounters {
  return { eventsIn: 0, duplicates: 0, invalid: 0, tooOld: 0, lateRatings: 0 }
}

/**
 * The first step of every task for one input record: a value that did not parse (null) is counted
 * invalid, an event older than the dedup horizon behind the watermark is counted too old, an event
 * id seen before is counted a duplicate; anything else is returned to be applied.
 */
export function admit(
  event: IngestedEvent | null,
  dedup: DedupStore,
  watermark: number,
  counters: Pick<CoreCounters, 'invalid' | 'eventsIn' | 'tooOld' | 'duplicates'>,
): IngestedEvent | null {
  if (event === null) {
    counters.invalid++
    return null
  }
  counters.eventsIn++
  if (dedup.tooOld(event.event_time, watermark)) {
    counters.tooOld++
    return null
  }
  if (!dedup.firstSeen(event.event_id, event.event_time)) {
    counters.duplicates++
    return null
  }
  return event
}
