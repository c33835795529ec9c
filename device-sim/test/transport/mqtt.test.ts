import { commandTopic, type DeviceEvent, encodeCommand, uuidv7, validateEvent } from '@pedepronto/contracts'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { MqttTransport, makeScenario, runLive } from '../../src/index.js'
import { recorder, waitUntil } from '../helpers.js'
import { runOverMqtt } from '../receiver.js'

// Every device kind over the real mosquitto of the services; restaurant numbers unique to this file.
const url = inject('mosquittoUrl')
const first = 7000 + Math.floor(Math.random() * 2000)
const scenario = makeScenario({
  seed: 11,
  restaurants: 2,
  devicesPerRestaurant: 8,
  firstRestaurant: first,
  ratePerS: 0.5,
  durationMs: 10 * 60_000,
})

describe('MQTT transport against mosquitto', () => {
  let rec: Awaited<ReturnType<typeof recorder>>
  beforeAll(async () => {
    rec = await recorder(url, `pp/v1/rest-${String(first + 1).padStart(4, '0')}/#`, `sim-test-rec-${first}`)
  })
  afterAll(async () => {
    await rec.client.endAsync(true)
  })

  it('delivers every event of every device kind at QoS 1, valid and in per-device order', async () => {
    const sent: DeviceEvent[] = []
    const summary = await runOverMqtt(url, scenario, (e) => {
      if (e.kind === 'event') sent.push(e.event)
    })
    expect(summary.drained).toBe(true)
    expect(summary.stats.connected).toBe(16)
    expect(summary.stats.acked).toBe(sent.length)
    const mine = sent.filter((e) => e.restaurant_id === `rest-${String(first + 1).padStart(4, '0')}`)
    await waitUntil(() => rec.messages.length >= mine.length, 10_000, 'all messages at the subscriber')
    const got = rec.messages.map((m) => JSON.parse(m.text) as DeviceEvent)
    expect(got.map((e) => e.event_id).sort()).toEqual(mine.map((e) => e.event_id).sort())
    for (const e of got) expect(validateEvent(e).ok).toBe(true)
    const lastSeq = new Map<string, number>()
    for (const e of got) {
      expect(e.seq).toBe((lastSeq.get(e.device_id) ?? -1) + 1)
      lastSeq.set(e.device_id, e.seq)
    }
    const kinds = new Set(got.map((e) => `${e.device_id.split('-')[1]}:${e.type}`))
    for (const k of [
      'kiosk:order.placed',
      'table:order.placed',
      'app:order.placed',
      'kitchen:order.status_changed',
      'fridge:device.telemetry',
      'fryer:device.telemetry',
      'pager:device.heartbeat',
    ])
      expect(kinds).toContain(k)
    expect(summary.ackLatencyMs.samples).toBe(sent.length)
    expect(summary.ackLatencyMs.p99).toBeGreaterThan(0)
  })

  it('a pager receives an order.ready command on its command topic and acknowledges it', async () => {
    const outcomes: { device: string; outcome: string }[] = []
    const run = runLive({
      scenario: { ...scenario, durationMs: 3_000, firstRestaurant: first + 10 },
      speed: 1,
      transportFor: (spec) =>
        new MqttTransport({ url, deviceId: spec.deviceId, restaurantId: spec.restaurantId }),
      onEmission: () => {},
      onCommand: (spec, outcome) => outcomes.push({ device: spec.deviceId, outcome }),
    })
    const pagerId = `r${String(first + 11).padStart(4, '0')}-pager-002`
    const restaurant = `rest-${String(first + 11).padStart(4, '0')}`
    await new Promise((r) => setTimeout(r, 1000))
    const now = Date.now()
    const command = {
      v: 1 as const,
      command_id: uuidv7(now, Math.random),
      type: 'order.ready' as const,
      device_id: pagerId,
      restaurant_id: restaurant,
      issued_at: now,
      expires_at: now + 600_000,
      payload: { order_id: 'o-test-1', message: 'Pede pronto!' },
    }
    await rec.client.publishAsync(
      commandTopic(restaurant, pagerId, 'order.ready'),
      Buffer.from(encodeCommand(command)),
      { qos: 1 },
    )
    const summary = await run
    expect(outcomes).toEqual([{ device: pagerId, outcome: 'acknowledged' }])
    expect(summary.sim.commands.acknowledged).toBe(1)
  })
})
