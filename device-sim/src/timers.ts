/**
 * One wall-clock timer for the whole fleet: ten thousand devices each waiting on an ack timeout or a
 * reconnect backoff share a heap and a single setTimeout, instead of ten thousand Node timers.
 */
import { TimedHeap } from './heap.js'

export interface TimerHandle {
  cancel(): void
}

export interface Timers {
  now(): number
  after(ms: number, fn: () => void): TimerHandle
}

export class SharedTimers implements Timers {
  readonly #heap = new TimedHeap<{ fn: () => void; cancelled: boolean }>()
  readonly #now: () => number
  #timer: NodeJS.Timeout | undefined
  #armedFor = Number.POSITIVE_INFINITY
  #closed = false

  constructor(now: () => number = () => performance.now()) {
    this.#now = now
  }

  now(): number {
    return this.#now()
  }

  after(ms: number, fn: () => void): TimerHandle {
    const entry = { fn, cancelled: false }
    const at = this.#now() + Math.max(0, ms)
    this.#heap.push(at, entry)
    this.#arm()
    return {
      cancel: () => {
        entry.cancelled = true
      },
    }
  }

  /** Drops every pending callback; later `after` calls are ignored. */
  close(): void {
    this.#closed = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #arm(): void {
    if (this.#closed) return
    const top = this.#heap.peek()
    if (top === undefined) return
    if (this.#timer !== undefined && top.at >= this.#armedFor) return
    if (this.#timer) clearTimeout(this.#timer)
    this.#armedFor = top.at
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, top.at - this.#now()))
  }

  #fire(): void {
    this.#timer = undefined
    this.#armedFor = Number.POSITIVE_INFINITY
    const now = this.#now()
    for (let top = this.#heap.peek(); top !== undefined && top.at <= now + 1; top = this.#heap.peek()) {
      this.#heap.pop()
      if (!top.value.cancelled && !this.#closed) top.value.fn()
    }
    this.#arm()
  }
}
