/**
 * Fault: the gateway process crashes. `pedepronto gateway` runs as a child process; devices publish
 * at QoS 1 with `clean: false`; the gateway is SIGKILLed mid-run and started again on the same port
 * and outbox folder. Devices reconnect and mqtt.js resends what was not acknowledged (MQTT 3.1.1
 * §4.4). Every acknowledged event must be in Kafka.
 *
 * Variant two points the gateway at a scratch Kafka that is SIGKILLed first, so the gateway crash
 * happens while acknowledged events sit only in the outbox; the restarted gateway (Kafka still
 * down) must recover them from disk and send them once Kafka is back.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, type ScratchKafka, startScratchKafka, uniqueName } from '@pedepronto/infra'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { type ChildGateway, metricValue, startChildGateway } from '../support/child-gateway.js'
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

const OUTBOX = 'pedepronto_gateway_outbox_records'

const cleanups: (() => Promise<unknown>)[] = []
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
}, 90_000)

function fleetFor(tag: string, devices: number, perDevice: number, seed: number): Map<string, TestEvent[]> {
  const m = new Map<string, TestEvent[]>()
  for (let d = 0; d < devices; d++) {
    const id = deviceName(tag, d)
    m.set(id, telemetryEvents(id, 'r001', perDevice, seed + d))
  }
  return m
}

function gatewayFlags(port: number, outboxDir: string, brokers: string[], prefix: string) {
  return {
    'gateway-mqtt-port': port,
    'gateway-ws-port': 0,
    'ops-port': 0,
    'gateway-outbox-dir': outboxDir,
    'gateway-rate-limit-per-s': 1_000_000,
    'gateway-rate-limit-burst': 1_000_000,
    'gateway-direct-timeout-ms': 2_000,
    'kafka-brokers': brokers.join(','),
    'kafka-topic-prefix': prefix,
  }
}

function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what()}`)), ms)),
  ])
}

function tempDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `pp-fault-${tag}-`))
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
  return dir
}

describe('gateway process crash', () => {
  it('loses no acknowledged event when SIGKILLed mid-run and restarted on the same outbox', async () => {
    const brokers = inject('kafkaBrokers')
    const prefix = uniqueName('fault-gk')
    const outboxDir = tempDir('gk')
    const port = await freePort()
    const flags = gatewayFlags(port, outboxDir, brokers, prefix)
    let gw: ChildGateway = await startChildGateway(flags)
    cleanups.push(() => gw.kill())
    const total = 50 * 200
    const fleet = new Fleet({
      url: gw.mqttUrl,
      devices: fleetFor('gk', 50, 200, 1_000),
      window: 10,
      reconnectPeriodMs: 200,
    })
    cleanups.push(() => fleet.close())
    await fleet.connect()
    const t0 = Date.now()
    const load = fleet.run()
    await waitFor(() => fleet.acked.size >= total * 0.4, 90_000, '40 % of the load acknowledged', 10)
    const killedAt = fleet.acked.size
    await gw.kill()
    await waitFor(() => fleet.connected === 0, 10_000, 'every device to see the disconnect')
    const disconnects = fleet.disconnects
    // PUBACKs already on the wire at the kill may still be read; none can come once all are cut off.
    const ackedAtDisconnect = fleet.acked.size
    await new Promise((r) => setTimeout(r, 1_000))
    const ackedWhileDead = fleet.acked.size - ackedAtDisconnect
    gw = await startChildGateway(flags)
    await within(load, 120_000, () => `${fleet.acked.size}/${total} acknowledged`)
    const loadMs = Date.now() - t0
    await waitFor(async () => (await metricValue(gw.opsUrl, OUTBOX)) === 0, 60_000, 'an empty outbox')
    const read = await readTopics(brokers, eventTopics(prefix))
    const dead = await readTopics(brokers, [deadLetterTopic(prefix)])
    const r = reconcile(fleet.acked, read)
    console.info(
      `[gateway-kill] acked=${r.acknowledged}/${total} killedAt=${killedAt} ackedWhileDead=${ackedWhileDead} ` +
        `disconnects=${disconnects} reconnects=${fleet.reconnects} load=${loadMs} ms records=${read.records} ` +
        `missing=${r.missing.length} duplicatedIds=${r.duplicatedIds} extraCopies=${r.extraCopies} deadLetters=${dead.records}`,
    )
    expect(fleet.acked.size).toBe(total)
    expect(disconnects).toBeGreaterThanOrEqual(50)
    expect(ackedWhileDead).toBe(0)
    expect(dead.records, `dead letters: ${JSON.stringify([...dead.reasons])}`).toBe(0)
    expect(r.missing, missingMessage(r)).toEqual([])
    expect(read.records).toBe(total + r.extraCopies)
    // Devices leave first: with devices connected, a graceful stop hangs (see the listener closer).
    await fleet.close()
    const stopped = gw
    expect(await stopped.stop(), stopped.log().slice(-2000)).toBe('exit 0')
  }, 240_000)

  it('sends what sat in the outbox when the gateway died while Kafka was down', async () => {
    const kafka: ScratchKafka = await startScratchKafka()
    cleanups.push(() => kafka.destroy())
    const prefix = uniqueName('fault-gko')
    const outboxDir = tempDir('gko')
    const port = await freePort()
    const flags = gatewayFlags(port, outboxDir, kafka.brokers, prefix)
    let gw: ChildGateway = await startChildGateway(flags)
    cleanups.push(() => gw.kill())
    const total = 50 * 200
    const fleet = new Fleet({
      url: gw.mqttUrl,
      devices: fleetFor('gko', 50, 200, 5_000),
      window: 10,
      reconnectPeriodMs: 200,
    })
    cleanups.push(() => fleet.close())
    await fleet.connect()
    const t0 = Date.now()
    const load = fleet.run()
    await waitFor(() => fleet.acked.size >= total * 0.2, 90_000, '20 % of the load acknowledged', 10)
    await kafka.kill()
    const kafkaKilledAt = fleet.acked.size
    await waitFor(
      () => fleet.acked.size >= total * 0.5,
      90_000,
      '50 % of the load acknowledged (into the outbox)',
      10,
    )
    const outboxBeforeCrash = await metricValue(gw.opsUrl, OUTBOX)
    await gw.kill()
    const gatewayKilledAt = fleet.acked.size
    // Restart the gateway while Kafka is still down: it must start and take load into the outbox.
    gw = await startChildGateway(flags)
    // The depth gauge is first set by the writer's first outbox batch or drain attempt, not at start.
    const restarted = gw
    let outboxAfterRestart = 0
    await waitFor(
      async () => {
        outboxAfterRestart = await metricValue(restarted.opsUrl, OUTBOX)
        return outboxAfterRestart > 0
      },
      60_000,
      'the restarted gateway to report its outbox',
    )
    await waitFor(
      () => fleet.acked.size >= gatewayKilledAt + total * 0.1,
      90_000,
      'more acknowledgements from the restarted gateway with Kafka down',
      10,
    )
    const ackedRestartedKafkaDown = fleet.acked.size - gatewayKilledAt
    await restartKafka(kafka)
    await within(load, 120_000, () => `${fleet.acked.size}/${total} acknowledged`)
    const loadMs = Date.now() - t0
    await waitFor(async () => (await metricValue(gw.opsUrl, OUTBOX)) === 0, 90_000, 'an empty outbox')
    const read = await readTopics(kafka.brokers, eventTopics(prefix))
    const dead = await readTopics(kafka.brokers, [deadLetterTopic(prefix)])
    const r = reconcile(fleet.acked, read)
    console.info(
      `[gateway-kill+outbox] acked=${r.acknowledged}/${total} kafkaKilledAt=${kafkaKilledAt} gatewayKilledAt=${gatewayKilledAt} ` +
        `outboxBeforeCrash=${outboxBeforeCrash} outboxAfterRestart=${outboxAfterRestart} ackedRestartedKafkaDown=${ackedRestartedKafkaDown} ` +
        `load=${loadMs} ms records=${read.records} missing=${r.missing.length} duplicatedIds=${r.duplicatedIds} ` +
        `extraCopies=${r.extraCopies} deadLetters=${dead.records}`,
    )
    expect(fleet.acked.size).toBe(total)
    // The crash really happened with acknowledged events only on disk, and the restart found them.
    expect(outboxBeforeCrash).toBeGreaterThan(0)
    expect(outboxAfterRestart).toBeGreaterThanOrEqual(outboxBeforeCrash)
    expect(ackedRestartedKafkaDown).toBeGreaterThan(0)
    expect(dead.records, `dead letters: ${JSON.stringify([...dead.reasons])}`).toBe(0)
    expect(r.missing, missingMessage(r)).toEqual([])
    expect(read.records).toBe(total + r.extraCopies)
    // Devices leave first: with devices connected, a graceful stop hangs (see the listener closer).
    await fleet.close()
    const stopped = gw
    expect(await stopped.stop(), stopped.log().slice(-2000)).toBe('exit 0')
  }, 300_000)
})
