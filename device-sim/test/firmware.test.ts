import { describe, expect, it } from 'vitest'
import {
  DeviceFirmware,
  type DeviceTransport,
  type FirmwareHooks,
  type OutboundMessage,
  type TimerHandle,
  type Timers,
} from '../src/index.js'

/** Timers on a hand-moved clock: `advance` runs what falls due, in time order. */
class ManualTimers implements Timers {
  #now = 0
  #entries: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = []
  #seq = 0

  now(): number {
    return this.#now
  }

  after(ms: number, fn: () => void): TimerHandle {
    const entry = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false }
    this.#entries.push(entry)
    return { cancel: () => (entry.cancelled = true) }
  }

  get armed(): number {
    return this.#entries.filter((e) => !e.cancelled).length
  }

  async advance(ms: number): Promise<void> {
    const end = this.#now + ms
    // Settle acks given before the clock moves, as the event loop does before a timer fires.
    await flush()
    for (;;) {
      this.#entries.sort((a, b) => a.at - b.at || a.seq - b.seq)
      const next = this.#entries[0]
      if (next === undefined || next.at > end) break
      this.#entries.shift()
      this.#now = next.at
      if (!next.cancelled) next.fn()
      await flush()
    }
    this.#now = end
    await flush()
  }
}

const flush = () => new Promise<void>((r) => setImmediate(r))

/** A transport whose acks the test gives by hand; `drop` behaves like a lost link. */
class FakeTransport implements DeviceTransport {
  readonly kind = 'mqtt' as const
  readonly sent: { text: string; ack: () => void; fail: (e: Error) => void }[] = []
  connects = 0
  drops = 0
  #onDisconnect: (error: Error) => void = () => {}

  async connect(): Promise<void> {
    this.connects++
  }

  publish(message: OutboundMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sent.push({ text: Buffer.from(message.payload).toString(), ack: resolve, fail: reject })
    })
  }

  onCommand(): void {}

  onDisconnect(handler: (error: Error) => void): void {
    this.#onDisconnect = handler
  }

  drop(): void {
    this.drops++
    const lost = Object.assign(new Error('dropped'), { code: 'SIM_DISCONNECTED' })
    for (const s of this.sent) s.fail(lost)
    this.#onDisconnect(lost)
  }

  async close(): Promise<void> {}
}

function setup() {
  const timers = new ManualTimers()
  const transport = new FakeTransport()
  const log: string[] = []
  const hooks: FirmwareHooks = {
    onConnected: () => log.push('connected'),
    onDisconnected: () => log.push('disconnected'),
    onConnectFailed: () => log.push('connect-failed'),
    onSent: (item) => log.push(`sent ${item.eventId}#${item.sends}`),
    onAcked: (item, ms) => log.push(`acked ${item.eventId} ${ms}ms`),
    onRejected: (item) => log.push(`rejected ${item.eventId}`),
    onDropped: (item) => log.push(`dropped ${item.eventId}`),
    onAckTimeout: (item) => log.push(`timeout ${item.eventId}`),
  }
  const fw = new DeviceFirmware(
    transport,
    {
      timers,
      random: () => 0.5,
      window: 8,
      offlineQueueMax: 100,
      ackTimeoutMs: 100,
      reconnectBaseMs: 10,
      reconnectCapMs: 10,
    },
    hooks,
  )
  const submit = (id: string) => fw.submit({ topic: 't', payload: Buffer.from(id) }, 'device.heartbeat', id)
  return { timers, transport, log, fw, submit }
}

describe('DeviceFirmware ack watchdog', () => {
  it('times out the oldest unacknowledged message, not one acknowledged in time, and resends it', async () => {
    const { timers, transport, log, fw, submit } = setup()
    await fw.start()
    submit('a') // sent at 0
    await timers.advance(60)
    submit('b') // sent at 60: due at 160
    await timers.advance(10)
    transport.sent[0]!.ack() // a acked at 70
    await timers.advance(80) // t = 150: the watchdog fired at 100, found b, re-armed for 160
    expect(log.filter((l) => l.startsWith('timeout'))).toEqual([])
    expect(transport.drops).toBe(0)
    await timers.advance(10) // t = 160
    expect(log.filter((l) => l.startsWith('timeout'))).toEqual(['timeout b'])
    expect(transport.drops).toBe(1)
    await timers.advance(20) // reconnect after the (fixed) 5 ms backoff
    expect(transport.connects).toBe(2)
    expect(transport.sent.map((s) => s.text)).toEqual(['a', 'b', 'b'])
    transport.sent[2]!.ack()
    await flush()
    await fw.idle()
    expect(log).toEqual([
      'connected',
      'sent a#1',
      'sent b#1',
      'acked a 70ms',
      'timeout b',
      'disconnected',
      'connected',
      'sent b#2',
      'acked b 15ms', // resent at 165 (backoff 0.5 · 10 ms), acked at 180
    ])
  })

  it('keeps one timer per device however many messages are in flight', async () => {
    const { timers, transport, fw, submit } = setup()
    await fw.start()
    for (let i = 0; i < 8; i++) submit(`m${i}`)
    expect(transport.sent).toHaveLength(8)
    expect(timers.armed).toBe(1)
    for (const s of transport.sent) s.ack()
    await flush()
    expect(fw.pending).toBe(0)
    // The watchdog finds nothing in flight and does not re-arm.
    await timers.advance(100)
    expect(timers.armed).toBe(0)
    expect(transport.drops).toBe(0)
    await fw.close()
  })
})
