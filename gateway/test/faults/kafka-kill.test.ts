/**
 * Fault: Kafka crashes under load. 100 devices publish 50,000 events at QoS 1 into an in-process
 * gateway backed by a scratch Kafka; at ~30 % of the load the broker is SIGKILLed and restarted a
 * few seconds later. Every event a device got a PUBACK for must end up in Kafka (DESIGN.md,
 * "Delivery guarantees": durable in Kafka or in the outbox before the PUBACK); duplicates are allowed
 * at the edge and only reported.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '@pedepronto/common'
import { type ScratchKafka, startScratchKafka, uniqueName } from '@pedepronto/infra'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GatewayConfigSchema } from '../../src/config.js'
import { Gateway } from '../../src/gateway.js'
import { deviceName, type TestEvent, telemetryEvents } from '../support/events.js'
import { Fleet, waitFor } from '../support/fleet.js'
import {
  deadLetterTopic,
  eventTopics,
  missingMessage,
  readTopics,
  reconcile,
  restartKafka,
} from '../support/kafka.js'

const DEVICES = 100
const PER_DEVICE = 500
const TOTAL = DEVICES * PER_DEVICE
const KILL_AT = Math.round(TOTAL * 0.3)
const DOWN_MS = 5_000

describe('gateway under a Kafka crash', () => {
  let kafka: ScratchKafka | undefined
  let gateway: Gateway | undefined
  let fleet: Fleet | undefined
  const outboxDir = mkdtempSync(join(tmpdir(), 'pp-fault-kafka-kill-'))

  beforeAll(async () => {
    kafka = await startScratchKafka()
  }, 150_000)

  afterAll(async () => {
    await fleet?.close().catch(() => undefined)
    await gateway?.stop().catch(() => undefined)
    await kafka?.destroy().catch(() => undefined)
    rmSync(outboxDir, { recursive: true, force: true })
  }, 60_000)

  it('loses no acknowledged event when the broker is SIGKILLed mid-load and restarted', async () => {
    const scratch = kafka as ScratchKafka
    const prefix = uniqueName('fault-kk')
    const config = loadConfig('gateway', GatewayConfigSchema, {
      env: {},
      flags: {
        'gateway.mqttPort': 0,
        'gateway.wsPort': 0,
        'gateway.outboxDir': outboxDir,
        'gateway.rateLimitPerS': 1_000_000,
        'gateway.rateLimitBurst': 1_000_000,
        'gateway.directTimeoutMs': 2_000,
        'kafka.brokers': scratch.brokers.join(','),
        'kafka.topicPrefix': prefix,
        'ops.port': 0,
      },
    })
    gateway = new Gateway(config)
    const addresses = await gateway.start()
    const gw = gateway
    const devices = new Map<string, TestEvent[]>()
    for (let d = 0; d < DEVICES; d++) {
      const id = deviceName('kk', d)
      devices.set(id, telemetryEvents(id, 'r001', PER_DEVICE, d + 1))
    }
    fleet = new Fleet({ url: addresses.mqtt as string, devices, window: 20, reconnectPeriodMs: 200 })
    const f = fleet
    await f.connect()

    const t0 = Date.now()
    const load = f.run()
    await waitFor(() => f.acked.size >= KILL_AT, 90_000, `${KILL_AT} PUBACKs before the kill`, 20)
    const killedAt = { acked: f.acked.size, ms: Date.now() - t0 }
    await scratch.kill()
    // The gateway keeps acknowledging while the broker is down: into its outbox.
    await new Promise((r) => setTimeout(r, DOWN_MS))
    const whileDown = { acked: f.acked.size - killedAt.acked, outboxMode: gw.writer?.mode }
    const restartT0 = Date.now()
    await restartKafka(scratch)
    const restartMs = Date.now() - restartT0
    await Promise.race([
      load,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`load did not finish: ${f.acked.size}/${TOTAL} acked`)), 90_000),
      ),
    ])
    const loadMs = Date.now() - t0
    await waitFor(
      () => gw.outbox?.stats().depth === 0 && gw.writer?.mode === 'direct',
      60_000,
      'the outbox to drain and the writer to return to direct mode',
    )
    const drainedMs = Date.now() - t0

    const read = await readTopics(scratch.brokers, eventTopics(prefix))
    const dead = await readTopics(scratch.brokers, [deadLetterTopic(prefix)])
    const r = reconcile(f.acked, read)
    console.info(
      `[kafka-kill] acked=${r.acknowledged}/${TOTAL} killedAt=${killedAt.acked} (${killedAt.ms} ms) ` +
        `ackedWhileDown=${whileDown.acked} (mode ${whileDown.outboxMode}) restart=${restartMs} ms load=${loadMs} ms ` +
        `drained=${drainedMs} ms records=${read.records} missing=${r.missing.length} duplicatedIds=${r.duplicatedIds} ` +
        `extraCopies=${r.extraCopies} deadLetters=${dead.records} callbackErrors=${f.callbackErrors} disconnects=${f.disconnects}`,
    )
    expect(f.acked.size).toBe(TOTAL)
    // The outage was real and the gateway kept acknowledging through it.
    expect(whileDown.outboxMode).toBe('outbox')
    expect(whileDown.acked).toBeGreaterThan(0)
    expect(dead.records, `dead letters: ${JSON.stringify([...dead.reasons])}`).toBe(0)
    expect(r.missing, missingMessage(r)).toEqual([])
    expect(read.ids.size).toBe(TOTAL)
    expect(read.records).toBe(TOTAL + r.extraCopies)
  }, 240_000)
})
