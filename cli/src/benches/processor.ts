/**
 * `pedepronto bench processor`: the edge processor's exactly-once throughput and latency on this
 * machine, against the raw consumption rate of the same topics.
 *
 * - processor_events_per_s: a seeded simulator stream (ingested events, orders and telemetry)
 *   pre-loaded into unique topics; an in-process processor with transactions on reads it all
 *   (both stages, per-batch transactions), from its consumer groups joined to the last input
 *   record committed;
 * - e2e_latency_*: with the processor caught up, a probe event per orders partition whose event time
 *   advances every partition's watermark past the previous probe window; from the probe's produce
 *   ack to its restaurant's KPI record visible to a read_committed consumer;
 * - baseline, same run: `kcat -C -e -o beginning -q` over the same topics (records/s, no
 *   processing, no transactions); ratio = processor / kcat.
 */
import { spawn } from 'node:child_process'
import {
  type BenchDefinition,
  createTopicsReady,
  median,
  percentile,
  round,
  silentLogger,
} from '@pedepronto/common'
import {
  type IngestedEvent,
  KAFKA_TOPICS,
  kafkaKeyFor,
  toIngested,
  topicName,
  uuidv7,
} from '@pedepronto/contracts'
import { defaultFaults, FleetSimulation, makeScenario } from '@pedepronto/device-sim'
import {
  DEFAULT_CORE_CONFIG,
  DEFAULT_FETCH_MAX_BYTES_PER_PARTITION,
  EdgeProcessor,
} from '@pedepronto/edge-processor'
import { loadServices, servicesUp, uniqueName } from '@pedepronto/infra'
import { Kafka, logLevel, Partitioners } from 'kafkajs'

const PARTITIONS = 6

function stream(quick: boolean): IngestedEvent[] {
  const sim = new FleetSimulation(
    makeScenario({
      seed: 4242,
      restaurants: quick ? 10 : 20,
      devicesPerRestaurant: 8,
      ratePerS: quick ? 6 : 12,
      durationMs: (quick ? 12 : 30) * 60_000,
      faults: { ...defaultFaults(), duplicate: 0.02, reorder: 0.02 },
    }),
  )
  const out: IngestedEvent[] = []
  for (let e = sim.next(); e !== undefined; e = sim.next()) {
    if (e.kind === 'event' && e.raw === undefined)
      out.push(toIngested(e.event, { receivedAt: e.at, gatewayId: 'gw-bench', transport: 'mqtt' }))
  }
  return out
}

function topicOf(prefix: string, e: IngestedEvent): string {
  return topicName(
    e.type.startsWith('order.') ? KAFKA_TOPICS.orders.name : KAFKA_TOPICS.telemetry.name,
    prefix,
  )
}

/** Seconds kcat needs to read a topic from the beginning to its end, and the records it printed. */
function kcatRead(broker: string, topic: string): Promise<{ seconds: number; records: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const child = spawn('kcat', ['-b', broker, '-C', '-e', '-o', 'beginning', '-q', '-t', topic], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let records = 0
    child.stdout.on('data', (d: Buffer) => {
      for (const b of d) if (b === 10) records++
    })
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`kcat exited ${code}`))
      else resolve({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, records })
    })
  })
}

function partitionOf(key: string): number {
  const partitioner = Partitioners.DefaultPartitioner()
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, i) => ({
    partitionId: i,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }))
  return partitioner({ topic: 't', partitionMetadata, message: { key, value: null } })
}

/** One order id per orders partition, so a probe moves every partition's watermark. */
function probeKeys(): string[] {
  const keys: string[] = []
  for (let i = 0; keys.length < PARTITIONS; i++) {
    const k = `probe-${i}`
    if (partitionOf(k) === keys.length) keys.push(k)
  }
  return keys
}

function probeEvent(orderId: string, eventTime: number, n: number): IngestedEvent {
  let r = n + 1
  const random = () => {
    r = (r * 16807) % 2147483647
    return r / 2147483647
  }
  return {
    v: 1,
    event_id: uuidv7(eventTime, random),
    type: 'order.placed',
    device_id: 'probe-kiosk',
    restaurant_id: 'probe-rest',
    event_time: eventTime,
    seq: n,
    payload: {
      order_id: orderId,
      customer_id: 'probe',
      channel: 'kiosk',
      items: [{ sku: 'coxinha', name: 'Coxinha', quantity: 1, unit_price_cents: 890 }],
      total_cents: 890,
      currency: 'BRL',
    },
    received_at: eventTime,
    gateway_id: 'gw-bench',
    transport: 'mqtt',
  }
}

export const processorBench: BenchDefinition = {
  name: 'processor',
  description:
    'edge processor: events/s with Kafka transactions, event → KPI latency; baseline kcat -C of the same topics',
  async run({ quick, log }) {
    const services = loadServices()
    await servicesUp(services, ['kafka'], (line) => log.info(line))
    const brokers = services.kafkaBrokers
    const prefix = uniqueName('bench-proc')
    const kafka = new Kafka({ brokers, clientId: 'pp-bench', logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    const inputs = [KAFKA_TOPICS.orders.name, KAFKA_TOPICS.telemetry.name].map((n) => topicName(n, prefix))
    let processor: EdgeProcessor | undefined
    try {
      await createTopicsReady(
        admin,
        inputs.map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 })),
      )
      const events = stream(quick)
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
      await producer.connect()
      for (let i = 0; i < events.length; i += 2000) {
        const byTopic = new Map<string, { key: string; value: string }[]>()
        for (const e of events.slice(i, i + 2000)) {
          const t = topicOf(prefix, e)
          const list = byTopic.get(t) ?? []
          list.push({ key: kafkaKeyFor(e), value: JSON.stringify(e) })
          byTopic.set(t, list)
        }
        await producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        })
      }
      log.info({ events: events.length }, 'processor bench: input loaded')

      // Baseline: kcat reads the same records (both topics), same machine, same run.
      let kcatSeconds = 0
      let kcatRecords = 0
      for (const topic of inputs) {
        const r = await kcatRead(brokers[0]!, topic)
        kcatSeconds += r.seconds
        kcatRecords += r.records
      }
      const kcatRate = kcatRecords / kcatSeconds

      processor = new EdgeProcessor(
        {
          processor: {
            ...DEFAULT_CORE_CONFIG,
            groupId: `${prefix}-g`,
            repartitionPartitions: 6,
            fetchMaxBytesPerPartition: DEFAULT_FETCH_MAX_BYTES_PER_PARTITION,
            statusIntervalMs: 0,
          },
          kafka: { brokers, clientId: 'pp-bench', topicPrefix: prefix, connectTimeoutMs: 5_000 },
          ops: { host: '127.0.0.1', port: 0 },
        },
        { logger: silentLogger() },
      )
      await processor.start()
      const deadline = Date.now() + (quick ? 60_000 : 300_000)
      while (!processor.ready && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      const t0 = process.hrtime.bigint()
      while (processor.stats().eventsIn < events.length && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20))
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9
      const stats = processor.stats()
      if (stats.eventsIn < events.length)
        throw new Error(`processor read ${stats.eventsIn} of ${events.length} events before the deadline`)
      const rate = stats.eventsIn / seconds

      // Latency: probes that close one window each for the probe restaurant.
      const W = DEFAULT_CORE_CONFIG.windowMs
      const L = DEFAULT_CORE_CONFIG.allowedLatenessMs
      const maxT = events.reduce((m, e) => Math.max(m, e.event_time), 0)
      const base = (Math.floor(maxT / W) + 30) * W + 1_000
      const seen = new Map<number, number>()
      const reader = kafka.consumer({
        groupId: `${prefix}-kpi-reader`,
        readUncommitted: false,
        maxWaitTimeInMs: 20,
      })
      let joined = false
      reader.on(reader.events.GROUP_JOIN, () => {
        joined = true
      })
      await reader.connect()
      await reader.subscribe({ topics: [topicName(KAFKA_TOPICS.kpis.name, prefix)], fromBeginning: true })
      await reader.run({
        eachMessage: async ({ message }) => {
          const k = JSON.parse(message.value!.toString()) as { restaurant_id: string; window_start: number }
          if (k.restaurant_id === 'probe-rest' && !seen.has(k.window_start))
            seen.set(k.window_start, Date.now())
        },
      })
      while (!joined) await new Promise((r) => setTimeout(r, 20))
      const keys = probeKeys()
      const probes = quick ? 6 : 16
      const latencies: number[] = []
      let seq = 0
      for (let k = 0; k < probes; k++) {
        const t = base + k * (W + L)
        const messages = keys.map((orderId, p) => ({
          key: orderId,
          partition: p,
          value: JSON.stringify(probeEvent(`${orderId}-${k}`, t, seq++)),
        }))
        await producer.send({ topic: topicName(KAFKA_TOPICS.orders.name, prefix), acks: -1, messages })
        const sentAt = Date.now()
        if (k === 0) continue
        const window = Math.floor((base + (k - 1) * (W + L)) / W) * W
        const until = Date.now() + 15_000
        while (!seen.has(window) && Date.now() < until) await new Promise((r) => setTimeout(r, 2))
        const at = seen.get(window)
        if (at !== undefined) latencies.push(at - sentAt)
      }
      await reader.disconnect()
      await producer.disconnect()
      if (latencies.length === 0) throw new Error('no KPI record was observed for the latency probes')
      log.info({ rate, kcatRate, latencies }, 'processor bench done')
      return {
        figures: [
          { name: 'processor_events_per_s', value: round(rate, 0), unit: 'events/s' },
          { name: 'events', value: events.length, unit: 'events' },
          { name: 'transactions_per_s', value: round(stats.transactions / seconds, 1), unit: 'tx/s' },
          { name: 'e2e_latency_p50_ms', value: median(latencies), unit: 'ms' },
          { name: 'e2e_latency_max_ms', value: percentile(latencies, 100), unit: 'ms' },
          { name: 'kcat_records_per_s', value: round(kcatRate, 0), unit: 'records/s' },
        ],
        baseline: {
          tool: 'kcat -C -e -o beginning -q (orders + telemetry topics)',
          records: kcatRecords,
          seconds: round(kcatSeconds, 3),
          records_per_s: round(kcatRate, 0),
        },
        ratio: round(rate / kcatRate, 4),
      }
    } finally {
      await processor?.stop().catch(() => undefined)
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`))
      if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined)
      await admin.disconnect()
    }
  },
}
