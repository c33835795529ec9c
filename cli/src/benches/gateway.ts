/**
 * `pedepronto bench gateway`: what the edge gateway costs against a neutral bridge, on this machine.
 *
 * The gateway runs as a child process (`pedepronto gateway`, compiled dist/), so the load generator
 * and the gateway each get an event loop and the gateway's RSS can be read from /proc; both still
 * share the 2 cores with Kafka. Devices are mqtt.js clients publishing valid events at QoS 1 with a
 * window of publishes in flight; a PUBACK from the gateway means durable in Kafka (acks = all).
 *
 * - durable_events_per_s: unpaced, first publish to last PUBACK (checked against the topic's
 *   high-water marks);
 * - puback_p50_ms / puback_p99_ms: paced at half that rate;
 * - rss_per_idle_device_kb: a fresh gateway, VmRSS before and after N idle connections (raw MQTT
 *   CONNECTs, keepalive 0, so the load generator stays small);
 * - baseline, same run: the same devices and events into the local mosquitto, bridged to Kafka by
 *   `mosquitto_sub -q 1 | kcat -P`, first publish until every record is in Kafka (high-water marks).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { type Socket, connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BenchDefinition, createTopicsReady, percentile, round, seededRandom } from '@pedepronto/common'
import {
  encodeEvent,
  eventTopic,
  KAFKA_TOPICS,
  topicName,
  uuidv7,
  validateEvent,
} from '@pedepronto/contracts'
import { loadServices, servicesUp, uniqueName } from '@pedepronto/infra'
import { type Admin, Kafka, logLevel } from 'kafkajs'
import { connect, type MqttClient } from 'mqtt'
import type { Logger } from 'pino'

const CLI = fileURLToPath(new URL('../../bin/pedepronto.js', import.meta.url))
const RESTAURANT = 'r001'

interface Ev {
  topic: string
  payload: Buffer
}

function deviceEvents(deviceId: string, restaurantId: string, count: number, seed: number): Ev[] {
  const random = seededRandom(seed)
  const start = Date.now()
  const out: Ev[] = []
  for (let i = 0; i < count; i++) {
    const checked = validateEvent({
      v: 1,
      event_id: uuidv7(start + i, random),
      type: 'device.telemetry',
      device_id: deviceId,
      restaurant_id: restaurantId,
      event_time: start + i,
      seq: i,
      payload: { sensor: 'fridge_temp', value: Math.round((2 + random() * 4) * 10) / 10, unit: 'celsius' },
    })
    if (!checked.ok) throw new Error(`bench event is invalid: ${JSON.stringify(checked.errors)}`)
    out.push({
      topic: eventTopic(restaurantId, deviceId, 'device.telemetry'),
      payload: Buffer.from(encodeEvent(checked.value)),
    })
  }
  return out
}

function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`bench gateway: timed out: ${what()}`)), ms)
    }),
  ])
}

/** MQTT devices at QoS 1 with `window` publishes in flight each, optionally paced fleet-wide. */
class Devices {
  readonly clients: MqttClient[] = []
  acked = 0
  readonly latencies: number[] = []

  async connect(url: string, ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(
        ids.slice(i, i + 100).map(
          (id) =>
            new Promise<void>((resolve, reject) => {
              const c = connect(url, { clientId: id, clean: true, protocolVersion: 4, reconnectPeriod: 500 })
              c.on('error', () => undefined)
              const timer = setTimeout(
                () => reject(new Error(`device ${id} did not connect to ${url}`)),
                30_000,
              )
              c.once('connect', () => {
                clearTimeout(timer)
                resolve()
              })
              this.clients.push(c)
            }),
        ),
      )
    }
  }

  /** Publishes `events[i]` from client i; resolves at the last PUBACK with the elapsed ms. */
  run(events: Ev[][], window: number, ratePerS?: number): Promise<number> {
    const total = events.reduce((s, e) => s + e.length, 0)
    let tokens = ratePerS === undefined ? Number.POSITIVE_INFINITY : 0
    const next = events.map(() => 0)
    const inflight = events.map(() => 0)
    this.acked = 0
    const t0 = performance.now()
    return new Promise<number>((resolve) => {
      let pacer: NodeJS.Timeout | undefined
      const pump = (d: number) => {
        const list = events[d] as Ev[]
        const client = this.clients[d] as MqttClient
        while ((inflight[d] as number) < window && (next[d] as number) < list.length && tokens >= 1) {
          const ev = list[next[d] as number] as Ev
          next[d] = (next[d] as number) + 1
          inflight[d] = (inflight[d] as number) + 1
          tokens--
          const sent = performance.now()
          client.publish(ev.topic, ev.payload, { qos: 1 }, (error) => {
            inflight[d] = (inflight[d] as number) - 1
            if (error) {
              next[d] = (next[d] as number) - 1
            } else {
              this.acked++
              this.latencies.push(performance.now() - sent)
            }
            if (this.acked === total) {
              if (pacer) clearInterval(pacer)
              resolve(performance.now() - t0)
            } else pump(d)
          })
        }
      }
      if (ratePerS !== undefined) {
        pacer = setInterval(() => {
          tokens = Math.min(tokens + ratePerS / 100, Math.max(1, ratePerS / 20))
          for (let d = 0; d < events.length; d++) pump(d)
        }, 10)
      }
      for (let d = 0; d < events.length; d++) pump(d)
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => new Promise<void>((r) => c.end(true, {}, () => r()))))
    this.clients.length = 0
  }
}

/** A minimal MQTT 3.1.1 CONNECT (clean session, keepalive 0): an idle device costs the generator little. */
function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId)
  const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00])
  const remaining = variable.length + 2 + id.length
  return Buffer.concat([Buffer.from([0x10, remaining, ...variable, id.length >> 8, id.length & 0xff]), id])
}

async function idleConnect(port: number, ids: string[]): Promise<Socket[]> {
  const sockets: Socket[] = []
  for (let i = 0; i < ids.length; i += 200) {
    await Promise.all(
      ids.slice(i, i + 200).map(
        (id) =>
          new Promise<void>((resolve, reject) => {
            const s = tcpConnect(port, '127.0.0.1')
            sockets.push(s)
            s.once('error', reject)
            s.once('connect', () => s.write(connectPacket(id)))
            s.once('data', (d: Buffer) => {
              // CONNACK: 0x20 0x02 flags code; code 0 = accepted (MQTT 3.1.1 §3.2.2.3).
              if (d[0] === 0x20 && d[3] === 0) resolve()
              else reject(new Error(`device ${id} refused: ${d.toString('hex')}`))
            })
          }),
      ),
    )
  }
  return sockets
}

interface GatewayChild {
  proc: ChildProcess
  port: number
  stop(): Promise<void>
}

async function startGateway(brokers: string[], prefix: string, outboxDir: string): Promise<GatewayChild> {
  const args = [
    CLI,
    'gateway',
    '--gateway-mqtt-port',
    '0',
    '--gateway-ws-port',
    '0',
    '--ops-port',
    '0',
    '--gateway-outbox-dir',
    outboxDir,
    '--gateway-rate-limit-per-s',
    '1000000',
    '--gateway-rate-limit-burst',
    '1000000',
    '--gateway-max-connections',
    '100000',
    '--kafka-brokers',
    brokers.join(','),
    '--kafka-topic-prefix',
    prefix,
  ]
  // PEDEPRONTO_BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the gateway
  // child: NODE_OPTIONS refuses --cpu-prof.
  const nodeArgs = (process.env.PEDEPRONTO_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const proc = spawn(process.execPath, [...nodeArgs, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PEDEPRONTO_LOG_LEVEL: 'warn' },
  })
  let log = ''
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${log.slice(-2000)}`)), 60_000)
    proc.stderr?.on('data', (d: Buffer) => {
      log += d.toString()
      const m = /gateway: mqtt\s+mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(log)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`gateway exited with ${code}:\n${log.slice(-2000)}`))
    })
  })
  return {
    proc,
    port,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const gone = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000)
      await gone
      clearTimeout(timer)
    },
  }
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`)
  return Number(m[1])
}

async function highWater(admin: Admin, topic: string): Promise<number> {
  // Right after a broker start or a topic creation a partition's leader may not be known yet
  // (NOT_LEADER_OR_FOLLOWER; kafkajs' admin gives up on it): ask again for a while.
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      const offsets = await admin.fetchTopicOffsets(topic)
      return offsets.reduce((s, o) => s + Number(o.high), 0)
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((r) => setTimeout(r, 250))
    }
  }
}

async function waitHighWater(admin: Admin, topic: string, n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const hw = await highWater(admin, topic)
    if (hw >= n) return
    if (Date.now() > deadline) throw new Error(`bench gateway: ${topic} holds ${hw} of ${n} records`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

function fleetEvents(tag: string, restaurant: string, devices: number, perDevice: number, seed: number) {
  const ids = Array.from({ length: devices }, (_, d) => `${tag}-${String(d).padStart(5, '0')}`)
  return { ids, events: ids.map((id, d) => deviceEvents(id, restaurant, perDevice, seed + d)) }
}

/** The neutral bridge: mosquitto → mosquitto_sub -q 1 | kcat -P → Kafka. */
async function baselineRun(
  mosquittoUrl: string,
  brokers: string[],
  admin: Admin,
  devices: number,
  perDevice: number,
  window: number,
  log: Logger,
): Promise<{ eventsPerS: number; ms: number; pubackMs: number }> {
  const topic = uniqueName('bench-gw-baseline')
  const restaurant = `rb${Date.now().toString(36)}`
  await createTopicsReady(admin, [
    { topic, numPartitions: KAFKA_TOPICS.telemetry.partitions, replicationFactor: 1 },
  ])
  const url = new URL(mosquittoUrl)
  // kcat 1.7 -P holds lines read from a pipe until more input or EOF, so mosquitto_sub exits after
  // the N load messages (-C): kcat then sees EOF and flushes. stdbuf -oL: line-buffered stdout.
  const pipeline = spawn(
    'sh',
    ['-c', 'stdbuf -oL mosquitto_sub -h "$H" -p "$P" -q 1 -C "$N" -t "$T" | kcat -P -b "$B" -t "$K"'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
      env: {
        ...process.env,
        H: url.hostname,
        P: url.port,
        T: `pp/v1/${restaurant}/#`,
        B: brokers.join(','),
        K: topic,
        N: String(devices * perDevice),
      },
    },
  )
  const devicesOut = new Devices()
  try {
    const { ids, events } = fleetEvents('bl', restaurant, devices, perDevice, 900_000)
    await devicesOut.connect(mosquittoUrl, ids)
    // mosquitto_sub subscribes within milliseconds; the devices' connect time covers it. A late
    // subscription would lose events and show as a shortfall below, never as a faster baseline.
    await new Promise((r) => setTimeout(r, 1_000))
    const before = 0
    const total = devices * perDevice
    const t0 = performance.now()
    const pubackMs = await within(
      devicesOut.run(events, window),
      300_000,
      () => `${devicesOut.acked}/${total} baseline PUBACKs`,
    )
    await waitHighWater(admin, topic, before + total, 120_000)
    const ms = performance.now() - t0
    log.info({ ms, pubackMs, total }, 'baseline done')
    return { eventsPerS: total / (ms / 1000), ms, pubackMs }
  } finally {
    await devicesOut.close()
    if (pipeline.pid) {
      try {
        process.kill(-pipeline.pid, 'SIGTERM')
      } catch {
        // already gone
      }
    }
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
  }
}

export const gatewayBench: BenchDefinition = {
  name: 'gateway',
  description:
    'durable events/s and PUBACK latency of MQTT devices at QoS 1 through the gateway (child process) into Kafka, RSS per idle device; baseline mosquitto | kcat',
  async run({ quick, log }) {
    const services = loadServices()
    await servicesUp(services, ['kafka', 'mosquitto'], (line) => log.info(line))
    const brokers = services.kafkaBrokers
    const devices = quick ? 100 : 1_000
    const perDevice = 100
    const total = devices * perDevice
    const window = quick ? 20 : 4
    const idle = quick ? 1_000 : 10_000
    const prefix = uniqueName('bench-gw')
    const outbox = mkdtempSync(join(tmpdir(), 'pp-bench-gw-'))
    const kafka = new Kafka({ brokers, clientId: 'pedepronto-bench-gateway', logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    const topics = [
      KAFKA_TOPICS.telemetry,
      KAFKA_TOPICS.orders,
      KAFKA_TOPICS.commands,
      KAFKA_TOPICS.deadLetter,
    ].map((t) => topicName(t.name, prefix))
    const telemetry = topicName(KAFKA_TOPICS.telemetry.name, prefix)
    const fleet = new Devices()
    let gw: GatewayChild | undefined
    try {
      // (a) unpaced throughput, durable (PUBACK after Kafka acks = all).
      gw = await startGateway(brokers, prefix, join(outbox, 'a'))
      const url = `mqtt://127.0.0.1:${gw.port}`
      const load = fleetEvents('bg', RESTAURANT, devices, perDevice, 1)
      await fleet.connect(url, load.ids)
      const hwBefore = await highWater(admin, telemetry)
      const ms = await within(
        fleet.run(load.events, window),
        300_000,
        () => `${fleet.acked}/${total} PUBACKs`,
      )
      const oursPerS = total / (ms / 1000)
      // Every PUBACK'd event is in Kafka already (direct mode); the high-water marks must agree.
      await waitHighWater(admin, telemetry, hwBefore + total, 30_000)
      log.info({ ms, total, eventsPerS: oursPerS }, 'gateway throughput done')

      // (b) PUBACK latency at half that rate.
      const pacedPerDevice = Math.max(10, Math.round((quick ? 5_000 : 30_000) / devices))
      const paced = fleetEvents('bg', RESTAURANT, devices, pacedPerDevice, 500_000)
      fleet.latencies.length = 0
      const rate = oursPerS / 2
      const pacedMs = await within(
        fleet.run(paced.events, window, rate),
        300_000,
        () => `${fleet.acked} paced PUBACKs`,
      )
      const lat = [...fleet.latencies]
      log.info({ ms: pacedMs, rate, n: lat.length }, 'gateway latency done')
      await fleet.close()
      await gw.stop()

      // (c) RSS per idle device, on a fresh gateway.
      gw = await startGateway(brokers, prefix, join(outbox, 'c'))
      await new Promise((r) => setTimeout(r, 2_000))
      const rssBefore = rssKb(gw.proc.pid as number)
      const ids = Array.from({ length: idle }, (_, i) => `idle-${String(i).padStart(6, '0')}`)
      const sockets = await idleConnect(gw.port, ids)
      await new Promise((r) => setTimeout(r, 3_000))
      const rssAfter = rssKb(gw.proc.pid as number)
      for (const s of sockets) s.destroy()
      await gw.stop()
      gw = undefined

      // (d) the neutral bridge, same devices and events.
      const baseline = await baselineRun(
        services.mosquitto.url,
        brokers,
        admin,
        devices,
        perDevice,
        window,
        log,
      )
      return {
        figures: [
          { name: 'durable_events_per_s', value: round(oursPerS, 0), unit: 'events/s' },
          { name: 'puback_p50_ms', value: round(percentile(lat, 50), 2), unit: 'ms' },
          { name: 'puback_p99_ms', value: round(percentile(lat, 99), 2), unit: 'ms' },
          { name: 'paced_rate_events_per_s', value: round(rate, 0), unit: 'events/s' },
          { name: 'rss_per_idle_device_kb', value: round((rssAfter - rssBefore) / idle, 2), unit: 'KiB' },
          { name: 'rss_idle_before_mb', value: round(rssBefore / 1024, 1), unit: 'MiB' },
          { name: 'rss_idle_after_mb', value: round(rssAfter / 1024, 1), unit: 'MiB' },
          { name: 'devices', value: devices, unit: 'count' },
          { name: 'events', value: total, unit: 'count' },
          { name: 'idle_devices', value: idle, unit: 'count' },
        ],
        baseline: {
          mosquitto_kcat_events_per_s: round(baseline.eventsPerS, 0),
          mosquitto_kcat_seconds_to_all_in_kafka: round(baseline.ms / 1000, 2),
          mosquitto_puback_seconds: round(baseline.pubackMs / 1000, 2),
          notes:
            'same devices/events/window; mosquitto PUBACKs on receipt (not durable), mosquitto_sub -q 1 | kcat -P (librdkafka defaults, no compression); ' +
            'ours: gateway as a child process (own event loop), PUBACK after Kafka acks=all, gzip, linger 5 ms; load generator, gateway and Kafka share 2 cores',
        },
        ratio: round(oursPerS / baseline.eventsPerS, 3),
      }
    } finally {
      await fleet.close().catch(() => undefined)
      await gw?.stop().catch(() => undefined)
      await admin.deleteTopics({ topics }).catch(() => undefined)
      await admin.disconnect()
      rmSync(outbox, { recursive: true, force: true })
    }
  },
}
