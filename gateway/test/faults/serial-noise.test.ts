/**
 * Fault: a noisy, unplugged serial line. A socat pty pair is the cable; a SerialBridge on one end
 * feeds an in-process gateway (no MQTT), a test device on the other end sends EVENT frames with
 * garbage between frames and bit flips at a set bit error rate, retransmitting what is not ACKed
 * within 300 ms. Then the pty disappears (socat SIGKILLed, links removed) and comes back; the bridge
 * must re-open it by itself. Every event must be in Kafka exactly once (the bridge ACKs only once
 * durable and recognises a retransmission of the last ACKed frame), and every corrupt frame counted.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, seededRandom, silentLogger } from '@pedepronto/common'
import { uniqueName } from '@pedepronto/infra'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { GatewayConfigSchema } from '../../src/config.js'
import { Gateway } from '../../src/gateway.js'
import { SerialBridge } from '../../src/serial/bridge.js'
import { openSerialPort } from '../../src/serial/port.js'
import { telemetryEvents } from '../support/events.js'
import { waitFor } from '../support/fleet.js'
import { deadLetterTopic, eventTopics, readTopics } from '../support/kafka.js'
import { NoisyDevice, PtyPair } from '../support/serial.js'

const NOISY_EVENTS = 300
const AFTER_UNPLUG_EVENTS = 100
const BER = 1e-4

const cleanups: (() => Promise<unknown>)[] = []
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
}, 60_000)

describe('serial bridge on a noisy line', () => {
  it('delivers every event exactly once through noise and an unplug, counting every corrupt frame', async () => {
    const brokers = inject('kafkaBrokers')
    const dir = mkdtempSync(join(tmpdir(), 'pp-fault-serial-'))
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
    const pty = new PtyPair(dir)
    await pty.start()
    cleanups.push(() => pty.kill())
    const prefix = uniqueName('fault-serial')
    const gateway = new Gateway(
      loadConfig('gateway', GatewayConfigSchema, {
        env: {},
        flags: {
          'gateway.brokerEnabled': false,
          'gateway.outboxDir': join(dir, 'outbox'),
          'gateway.rateLimitPerS': 100_000,
          'gateway.rateLimitBurst': 100_000,
          'kafka.brokers': brokers.join(','),
          'kafka.topicPrefix': prefix,
          'ops.port': 0,
        },
      }),
    )
    await gateway.start()
    cleanups.push(() => gateway.stop())
    const bridge = new SerialBridge({
      path: pty.gwPath,
      baudRate: 115_200,
      open: openSerialPort,
      target: gateway,
      logger: silentLogger(),
      reopenMinMs: 100,
      reopenMaxMs: 1_000,
    })
    await bridge.start()
    cleanups.push(() => bridge.stop())
    expect(bridge.stats.open).toBe(true)

    const device = new NoisyDevice({
      path: pty.devPath,
      random: seededRandom(42),
      ber: BER,
      garbageProbability: 0.2,
      garbageMaxBytes: 48,
      ackTimeoutMs: 300,
    })
    await device.openPort()
    cleanups.push(() => device.close())
    const events = telemetryEvents('r001-serial-1', 'r001', NOISY_EVENTS + AFTER_UNPLUG_EVENTS, 7)
    const deadline = Date.now() + 150_000
    const t0 = Date.now()

    // Phase 1: noise. Every byte reaches the bridge, so its decoder must agree with the reference.
    for (let i = 0; i < NOISY_EVENTS; i++) {
      await device.sendEvent(i & 0xffff, (events[i] as (typeof events)[number]).payload, deadline)
    }
    const noisyMs = Date.now() - t0
    await waitFor(() => bridge.stats.frameErrors >= sumErrors(device), 5_000, 'the bridge to see every frame')
    const reference = device.reference.stats
    const referenceErrors = sumErrors(device)
    const phase1 = { ...bridge.stats }
    const deviceStats1 = { ...device.stats }

    // Phase 2: the cable is pulled mid-stream and plugged back in.
    const unplugEvents = AFTER_UNPLUG_EVENTS / 2
    for (let i = NOISY_EVENTS; i < NOISY_EVENTS + unplugEvents; i++) {
      await device.sendEvent(i & 0xffff, (events[i] as (typeof events)[number]).payload, deadline, false)
    }
    await pty.kill()
    await device.close()
    await waitFor(() => !bridge.stats.open, 10_000, 'the bridge to notice the unplug')
    const reopensBefore = bridge.stats.reopens
    await new Promise((r) => setTimeout(r, 1_500))
    await pty.start()
    await device.reopen(10_000)
    await waitFor(() => bridge.stats.open, 15_000, 'the bridge to re-open the port by itself')
    for (let i = NOISY_EVENTS + unplugEvents; i < events.length; i++) {
      await device.sendEvent(i & 0xffff, (events[i] as (typeof events)[number]).payload, deadline, false)
    }
    const totalMs = Date.now() - t0

    await new Promise((r) => setTimeout(r, 200))
    const read = await readTopics(brokers, eventTopics(prefix))
    const dead = await readTopics(brokers, [deadLetterTopic(prefix)])
    const notOnce = events
      .filter((e) => read.ids.get(e.id) !== 1)
      .map((e) => `${e.id}×${read.ids.get(e.id) ?? 0}`)
    console.info(
      `[serial-noise] events=${events.length} sends=${device.stats.sends} retransmits=${device.stats.retransmits} ` +
        `corruptedSends=${device.stats.corruptedSends} garbageRuns=${device.stats.garbageRuns} ` +
        `phase1 frameErrors=${phase1.frameErrors} reference=${referenceErrors} ${JSON.stringify(reference.errors)} ` +
        `bridgeDuplicates=${bridge.stats.duplicates} reopens=${reopensBefore}->${bridge.stats.reopens} ` +
        `records=${read.records} deadLetters=${dead.records} noisy=${noisyMs} ms total=${totalMs} ms`,
    )
    // Noise was injected and every corrupt frame was counted, exactly as a decoder of the same bytes.
    expect(deviceStats1.corruptedSends).toBeGreaterThan(0)
    expect(deviceStats1.retransmits).toBeGreaterThan(0)
    expect(phase1.frameErrors).toBeGreaterThan(0)
    expect(phase1.frameErrors).toBe(referenceErrors)
    expect(phase1.framesIn).toBe(reference.frames)
    const metric = await gateway.registry
      .getSingleMetric('pedepronto_gateway_serial_frame_errors_total')
      ?.get()
    expect(metric?.values.reduce((sum, v) => sum + v.value, 0)).toBe(bridge.stats.frameErrors)
    // The bridge re-opened by itself and later events arrived.
    expect(bridge.stats.reopens).toBeGreaterThan(reopensBefore)
    expect(bridge.stats.open).toBe(true)
    // Exactly once in Kafka, and never more records than the device sent frames.
    expect(dead.records, `dead letters: ${JSON.stringify([...dead.reasons])}`).toBe(0)
    expect(notOnce, `events not exactly once in Kafka: ${notOnce.slice(0, 20).join(', ')}`).toEqual([])
    expect(read.records).toBe(events.length)
    expect(read.records).toBeLessThanOrEqual(device.stats.sends)
  }, 200_000)
})

function sumErrors(device: NoisyDevice): number {
  return Object.values(device.reference.stats.errors).reduce((s, n) => s + n, 0)
}
