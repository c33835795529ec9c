/**
 * Simulated MQTT devices for fault tests and the gateway bench: one mqtt.js client per device
 * (client id = device id, `clean: false`, QoS 1), each keeping a window of publishes in flight and
 * recording every event id whose publish callback succeeded — the PUBACK, which the gateway sends
 * only once the event is durable (DESIGN.md, "Delivery guarantees").
 *
 * With `clean: false` mqtt.js keeps unacknowledged QoS 1 publishes in its outgoing store and sends
 * them again after a reconnect (MQTT 3.1.1 §4.4); a publish whose callback fails is queued again by
 * the fleet itself, so no event is given up.
 */
import { connect, type MqttClient } from 'mqtt'
import type { TestEvent } from './events.js'

export interface FleetOptions {
  url: string
  /** Events per device id; the key is the MQTT client id. */
  devices: Map<string, TestEvent[]>
  /** Publishes in flight per device. */
  window: number
  reconnectPeriodMs?: number
  connectTimeoutMs?: number
  /** Clients connecting at once. */
  connectConcurrency?: number
  /** Called with the PUBACK latency of each event (ms), for the bench. */
  onAck?: (event: TestEvent, ms: number) => void
}

interface DeviceState {
  id: string
  client: MqttClient
  events: TestEvent[]
  next: number
  retry: TestEvent[]
  inflight: number
  paused: boolean
}

export class Fleet {
  readonly acked = new Set<string>()
  /** Publish calls (first sends and re-queued ones; mqtt.js resends after reconnect are not counted). */
  published = 0
  callbackErrors = 0
  disconnects = 0
  reconnects = 0
  readonly total: number
  readonly #o: FleetOptions
  readonly #states: DeviceState[] = []
  #paceTokens = Number.POSITIVE_INFINITY
  #done: (() => void) | undefined
  #closed = false

  constructor(options: FleetOptions) {
    this.#o = options
    this.total = [...options.devices.values()].reduce((s, e) => s + e.length, 0)
  }

  get connected(): number {
    return this.#states.filter((s) => s.client.connected).length
  }

  /** Connects every device (bounded concurrency); resolves when all are connected. */
  async connect(): Promise<void> {
    const ids = [...this.#o.devices.keys()]
    const concurrency = this.#o.connectConcurrency ?? 100
    for (let i = 0; i < ids.length; i += concurrency) {
      await Promise.all(ids.slice(i, i + concurrency).map((id) => this.#connectOne(id)))
    }
  }

  #connectOne(id: string): Promise<void> {
    const client = connect(this.#o.url, {
      clientId: id,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: this.#o.reconnectPeriodMs ?? 250,
      connectTimeout: this.#o.connectTimeoutMs ?? 10_000,
      keepalive: 60,
      resubscribe: false,
    })
    const state: DeviceState = {
      id,
      client,
      events: this.#o.devices.get(id) ?? [],
      next: 0,
      retry: [],
      inflight: 0,
      paused: true,
    }
    this.#states.push(state)
    client.on('close', () => {
      if (!this.#closed) this.disconnects++
    })
    client.on('reconnect', () => {
      this.reconnects++
    })
    // Errors (refused connections while the gateway is down) are expected; mqtt.js retries.
    client.on('error', () => undefined)
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`device ${id} did not connect to ${this.#o.url} within 30 s`)),
        30_000,
      )
      client.once('connect', () => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  /**
   * Starts publishing everything; resolves when every event is acknowledged. `ratePerS` paces the
   * whole fleet (token bucket refilled every 10 ms) for latency measurements; unpaced by default.
   */
  run(ratePerS?: number): Promise<void> {
    let pacer: NodeJS.Timeout | undefined
    if (ratePerS !== undefined) {
      this.#paceTokens = 0
      pacer = setInterval(() => {
        this.#paceTokens = Math.min(this.#paceTokens + ratePerS / 100, ratePerS / 10)
        for (const s of this.#states) this.#pump(s)
      }, 10)
    }
    return new Promise<void>((resolve) => {
      this.#done = () => {
        if (pacer) clearInterval(pacer)
        resolve()
      }
      for (const s of this.#states) {
        s.paused = false
        this.#pump(s)
      }
      this.#checkDone()
    })
  }

  #pump(s: DeviceState): void {
    while (!s.paused && !this.#closed && s.inflight < this.#o.window && this.#paceTokens >= 1) {
      const event = s.retry.shift() ?? s.events[s.next]
      if (!event) return
      if (event === s.events[s.next]) s.next++
      this.#paceTokens--
      s.inflight++
      this.published++
      const t0 = performance.now()
      s.client.publish(event.topic, event.payload, { qos: 1 }, (error) => {
        s.inflight--
        if (error) {
          this.callbackErrors++
          if (!this.#closed) s.retry.push(event)
        } else {
          this.acked.add(event.id)
          this.#o.onAck?.(event, performance.now() - t0)
        }
        this.#pump(s)
        this.#checkDone()
      })
    }
  }

  #checkDone(): void {
    if (this.#done && this.acked.size >= this.total) {
      const done = this.#done
      this.#done = undefined
      done()
    }
  }

  /** Closes every client (forcefully: nothing is left to send when this is called). */
  async close(): Promise<void> {
    this.#closed = true
    await Promise.all(
      this.#states.map((s) => new Promise<void>((resolve) => s.client.end(true, {}, () => resolve()))),
    )
  }
}

/** Resolves when `check` is true, polling every `everyMs`; rejects after `timeoutMs` with `what`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
