/**
 * The firmware loop of one device around a DeviceTransport: boot → connect → (subscribe, inside
 * the transport) → run. It keeps the device's messages in one ordered queue: at most `window` are in
 * flight; while disconnected new ones wait in a bounded offline queue (drop-oldest, counted); on a
 * lost connection the unacknowledged ones go back to the head of the queue in their original order
 * and are resent after reconnecting, so the receiver sees every message at least once and, taking
 * first occurrences, in the device's order. Reconnects back off exponentially with full jitter.
 */
import type { Random } from '@pedepronto/common'
import { backoffMs } from './random.js'
import type { TimerHandle, Timers } from './timers.js'
import type { DeviceTransport, OutboundMessage } from './transport/types.js'

export interface Outgoing {
  message: OutboundMessage
  /** Event type (for per-type counts) and id (for tracing). */
  type: string
  eventId: string
  /** Bumped when the item is requeued, so a late callback of an older send is ignored. */
  generation: number
  sends: number
  /** When the current send went out (timers clock). */
  sentAt: number
}

export interface FirmwareOptions {
  timers: Timers
  /** The device's backoff stream (seeded). */
  random: Random
  window: number
  offlineQueueMax: number
  ackTimeoutMs: number
  reconnectBaseMs: number
  reconnectCapMs: number
}

export interface FirmwareHooks {
  onConnected(): void
  onDisconnected(): void
  onConnectFailed(error: Error): void
  onSent(item: Outgoing): void
  onAcked(item: Outgoing, latencyMs: number): void
  onRejected(item: Outgoing, error: Error): void
  onDropped(item: Outgoing): void
  onAckTimeout(item: Outgoing): void
}

export type FirmwareState = 'boot' | 'connecting' | 'online' | 'backoff' | 'held' | 'closed'

export class DeviceFirmware {
  readonly transport: DeviceTransport
  #state: FirmwareState = 'boot'
  readonly #o: FirmwareOptions
  readonly #hooks: FirmwareHooks
  readonly #queue: Outgoing[] = []
  #queueHead = 0
  readonly #inflight: Outgoing[] = []
  #attempt = 0
  #heldUntil = 0
  #timer: TimerHandle | undefined
  /** One ack watchdog per device, armed for the oldest message in flight (see #armWatchdog). */
  #watchdog: TimerHandle | undefined
  #idleWaiters: (() => void)[] = []

  constructor(transport: DeviceTransport, options: FirmwareOptions, hooks: FirmwareHooks) {
    this.transport = transport
    this.#o = options
    this.#hooks = hooks
    transport.onDisconnect(() => this.#onLost())
  }

  get state(): FirmwareState {
    return this.#state
  }

  /** Messages not yet acknowledged: queued plus in flight. */
  get pending(): number {
    return this.#queue.length - this.#queueHead + this.#inflight.length
  }

  /** Connects once; on failure it keeps retrying with backoff. Resolves after the first attempt. */
  async start(): Promise<void> {
    if (this.#state !== 'boot') return
    await this.#connect()
  }

  submit(message: OutboundMessage, type: string, eventId: string): void {
    if (this.#state === 'closed') return
    this.#enqueue({ message, type, eventId, generation: 0, sends: 0, sentAt: 0 })
    this.#pump()
  }

  /** A disconnect storm: drop the link now and stay offline for `ms` before reconnecting. */
  disconnectFor(ms: number): void {
    if (this.#state === 'closed' || this.#state === 'boot') return
    this.#heldUntil = Math.max(this.#heldUntil, this.#o.timers.now() + ms)
    if (this.#state === 'online') {
      this.#state = 'held'
      this.transport.drop()
    }
  }

  /** Resolves when nothing is pending (or at once if nothing is). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  async close(): Promise<void> {
    this.#state = 'closed'
    this.#timer?.cancel()
    this.#disarmWatchdog()
    await this.transport.close()
  }

  async #connect(): Promise<void> {
    this.#state = 'connecting'
    try {
      await this.transport.connect()
    } catch (error) {
      if (this.#isClosed()) return
      this.#hooks.onConnectFailed(error as Error)
      this.#scheduleReconnect()
      return
    }
    if (this.#isClosed()) {
      await this.transport.close()
      return
    }
    this.#state = 'online'
    this.#attempt = 0
    this.#hooks.onConnected()
    this.#pump()
  }

  // A method, so the compiler does not narrow #state across the await above: close() may run meanwhile.
  #isClosed(): boolean {
    return this.#state === 'closed'
  }

  #scheduleReconnect(): void {
    const now = this.#o.timers.now()
    const hold = Math.max(0, this.#heldUntil - now)
    const delay =
      hold + backoffMs(this.#o.random, this.#attempt, this.#o.reconnectBaseMs, this.#o.reconnectCapMs)
    this.#attempt++
    this.#state = hold > 0 ? 'held' : 'backoff'
    this.#timer = this.#o.timers.after(delay, () => {
      this.#timer = undefined
      if (this.#state === 'backoff' || this.#state === 'held') void this.#connect()
    })
  }

  #onLost(): void {
    if (this.#state === 'closed') return
    const wasOnline = this.#state === 'online' || this.#state === 'held'
    // Unacknowledged messages go back to the head, oldest first (MQTT 3.1.1 §4.4: resend on reconnect).
    const back = this.#inflight.splice(0)
    this.#disarmWatchdog()
    for (const item of back) item.generation++
    this.#queue.splice(this.#queueHead, 0, ...back)
    this.#trim()
    if (wasOnline) this.#hooks.onDisconnected()
    this.#scheduleReconnect()
  }

  #enqueue(item: Outgoing): void {
    this.#queue.push(item)
    this.#trim()
  }

  /** Bounded offline queue: drop the oldest beyond the limit, and say so. */
  #trim(): void {
    while (this.#queue.length - this.#queueHead > this.#o.offlineQueueMax) {
      const dropped = this.#queue[this.#queueHead]!
      this.#queueHead++
      this.#hooks.onDropped(dropped)
    }
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#queueHead)
      this.#queueHead = 0
    }
  }

  #pump(): void {
    while (
      this.#state === 'online' &&
      this.#inflight.length < this.#o.window &&
      this.#queueHead < this.#queue.length
    ) {
      const item = this.#queue[this.#queueHead]!
      this.#queue[this.#queueHead] = undefined as unknown as Outgoing
      this.#queueHead++
      this.#send(item)
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue.length = 0
      this.#queueHead = 0
    }
    if (this.pending === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters
      this.#idleWaiters = []
      for (const w of waiters) w()
    }
  }

  #send(item: Outgoing): void {
    this.#inflight.push(item)
    item.sends++
    const generation = item.generation
    const t0 = this.#o.timers.now()
    item.sentAt = t0
    this.#hooks.onSent(item)
    if (this.#watchdog === undefined) this.#armWatchdog(t0 + this.#o.ackTimeoutMs)
    this.transport.publish(item.message).then(
      () => {
        if (item.generation !== generation) return
        this.#removeInflight(item)
        this.#hooks.onAcked(item, this.#o.timers.now() - t0)
        this.#pump()
      },
      (error: Error & { code?: string }) => {
        if (item.generation !== generation) return
        if (error.code === 'SIM_REJECTED') {
          this.#removeInflight(item)
          this.#hooks.onRejected(item, error)
          this.#pump()
        } else if (error.code === 'SIM_ACK_TIMEOUT' && this.#state === 'online') {
          this.#hooks.onAckTimeout(item)
          this.transport.drop()
        }
        // SIM_DISCONNECTED: #onLost requeues it.
      },
    )
  }

  /**
   * No PUBACK in time on a live link means the link is bad: drop it and resend after reconnecting.
   * One timer per device instead of one per message (a loaded fleet sends tens of thousands a
   * second): in flight is in send order, so only the oldest message can be the first to time out;
   * when the timer finds it acknowledged, it re-arms for the new oldest.
   */
  #armWatchdog(at: number): void {
    this.#watchdog = this.#o.timers.after(at - this.#o.timers.now(), () => {
      this.#watchdog = undefined
      const oldest = this.#inflight[0]
      if (oldest === undefined || this.#state !== 'online') return
      const due = oldest.sentAt + this.#o.ackTimeoutMs
      if (due > this.#o.timers.now()) {
        this.#armWatchdog(due)
        return
      }
      this.#hooks.onAckTimeout(oldest)
      this.transport.drop()
    })
  }

  #disarmWatchdog(): void {
    this.#watchdog?.cancel()
    this.#watchdog = undefined
  }

  #removeInflight(item: Outgoing): void {
    const i = this.#inflight.indexOf(item)
    if (i >= 0) this.#inflight.splice(i, 1)
  }
}
