import type { DeviceEvent } from '@pedepronto/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dryRun, MqttTransport, makeScenario, runLive } from '../src/index.js'
import { recorder, ScratchMosquitto, waitUntil } from './helpers.js'

describe('dryRun', () => {
  it('writes the identical JSON-lines stream for one seed', () => {
    const s = makeScenario({
      seed: 3,
      restaurants: 2,
      devicesPerRestaurant: 8,
      ratePerS: 1,
      durationMs: 120_000,
    })
    const a: string[] = []
    const b: string[] = []
    dryRun(s, (l) => a.push(l))
    dryRun(s, (l) => b.push(l))
    expect(a.length).toBeGreaterThan(100)
    expect(b.join('')).toBe(a.join(''))
    expect(JSON.parse(a[0]!)).toHaveProperty('event.event_id')
  })
})

describe('offline queue across a broker restart (own mosquitto)', () => {
  const broker = new ScratchMosquitto()
  beforeAll(async () => {
    await broker.start()
  })
  afterAll(async () => {
    await broker.destroy()
  })

  // KNOWN FAILURE (open): under load the recording subscriber misses messages across the restart,
  // although the devices' side holds (all acked, none dropped, 8 disconnects, 16 connects).
  it('loses nothing and keeps per-device order while the broker is down for 2 s', async () => {
    const rec = await recorder(broker.url, 'pp/v1/#', 'sim-restart-recorder')
    const scenario = makeScenario({
      seed: 21,
      restaurants: 1,
      devicesPerRestaurant: 8,
      ratePerS: 2,
      durationMs: 6_000,
    })
    const sent: DeviceEvent[] = []
    // 6 virtual seconds at 1× speed: the broker goes away at 1.5 s and comes back at 3.5 s.
    const run = runLive({
      scenario,
      speed: 1,
      reconnectBaseMs: 100,
      reconnectCapMs: 500,
      ackTimeoutMs: 2_000,
      transportFor: (spec) =>
        new MqttTransport({ url: broker.url, deviceId: spec.deviceId, restaurantId: spec.restaurantId }),
      onEmission: (e) => {
        if (e.kind === 'event') sent.push(e.event)
      },
    })
    await new Promise((r) => setTimeout(r, 1500))
    await broker.stop()
    const sentBeforeRestart = sent.length
    await new Promise((r) => setTimeout(r, 2000))
    const queuedDuringOutage = sent.length - sentBeforeRestart
    await broker.start()
    const summary = await run
    expect(queuedDuringOutage).toBeGreaterThan(5)
    expect(summary.drained).toBe(true)
    expect(summary.stats.disconnects).toBe(8)
    expect(summary.stats.connects).toBe(16)
    expect(summary.stats.offlineDropped).toBe(0)
    await waitUntil(
      () => new Set(rec.messages.map((m) => JSON.parse(m.text).event_id)).size >= sent.length,
      15_000,
      'every event at the subscriber',
    )
    const firstSeen: DeviceEvent[] = []
    const ids = new Set<string>()
    for (const m of rec.messages) {
      const e = JSON.parse(m.text) as DeviceEvent
      if (!ids.has(e.event_id)) firstSeen.push(e)
      ids.add(e.event_id)
    }
    expect([...ids].sort()).toEqual(sent.map((e) => e.event_id).sort())
    const last = new Map<string, number>()
    for (const e of firstSeen) {
      expect(e.seq).toBe((last.get(e.device_id) ?? -1) + 1)
      last.set(e.device_id, e.seq)
    }
    await rec.client.endAsync(true)
  })
})
