// Integration harness: the recorded stream with injected faults, produced to unique topics with the
// contracts' keys and the default (murmur2) partitioner, the read_committed collection of every
// output topic, and the comparison with the reference (as maps keyed by id, with a printed diff).
import { type IngestedEvent, KAFKA_TOPICS, kafkaKeyFor, topicName } from '@pedepronto/contracts'
import { type Admin, Kafka, logLevel, Partitioners } from 'kafkajs'
import {
  type CoreConfig,
  DEFAULT_CORE_CONFIG,
  DEFAULT_FETCH_MAX_BYTES_PER_PARTITION,
  type ProcessorConfig,
} from '../../src/index.js'
import { type Positioned, type ReferenceOutputs, reference } from '../reference.js'
import { recordStream } from '../stream.js'

export const PARTITIONS = 6

export function testConfig(brokers: string[], prefix: string, groupId: string): ProcessorConfig {
  return {
    processor: {
      ...DEFAULT_CORE_CONFIG,
      groupId,
      repartitionPartitions: 3,
      fetchMaxBytesPerPartition: DEFAULT_FETCH_MAX_BYTES_PER_PARTITION,
      statusIntervalMs: 0,
    },
    kafka: { brokers, clientId: 'pp-test', topicPrefix: prefix, connectTimeoutMs: 5_000 },
    ops: { host: '127.0.0.1', port: 0 },
  }
}

/** Deterministic id for injected events (valid UUIDv7). */
function injectedId(n: number, t: number): string {
  const hex = t.toString(16).padStart(12, '0')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7eee-8${n.toString(16).padStart(3, '0')}-ee0000000000`
}

/**
 * The recorded stream (simulator faults: duplicates, reordering, clock jumps) plus injected faults:
 * events delayed far behind the others (late), an illegal transition, an event of an order never
 * placed, and a pager that stops sending heartbeats.
 */
export function faultyStream(seed: number, minutes = 20): IngestedEvent[] {
  const base = recordStream({
    seed,
    restaurants: 3,
    durationMs: minutes * 60_000,
    ratePerS: 0.5,
    duplicate: 0.03,
    reorder: 0.03,
    clockJump: 0,
  })
  const mid = base[Math.floor(base.length / 2)]!
  const silent = base.find((e) => e.device_id.includes('pager') && e.type === 'device.heartbeat')!.device_id
  let events = base.filter((e) => !(e.device_id === silent && e.event_time > mid.event_time))
  // Late: every 97th order event arrives 1500 records later.
  const delayed: { at: number; e: IngestedEvent }[] = []
  events = events.filter((e, i) => {
    if (e.type.startsWith('order.') && i % 97 === 0 && i > 0) {
      delayed.push({ at: i + 1500, e })
      return false
    }
    return true
  })
  for (const d of delayed.reverse()) events.splice(Math.min(d.at, events.length), 0, d.e)
  const placed = events.find((e) => e.type === 'order.placed' && e.event_time > mid.event_time)!
  const orderId = (placed.payload as { order_id: string }).order_id
  const t = placed.event_time + 1_000
  const illegal = {
    ...placed,
    event_id: injectedId(1, t),
    type: 'order.status_changed',
    event_time: t,
    payload: { order_id: orderId, from: 'ready', to: 'accepted' },
  } as IngestedEvent
  const ghost = {
    ...placed,
    event_id: injectedId(2, t),
    type: 'order.status_changed',
    event_time: t,
    payload: { order_id: 'ghost-order-1', from: 'received', to: 'accepted' },
  } as IngestedEvent
  const at = events.indexOf(placed)
  events.splice(at + 5, 0, illegal, ghost)
  return events
}

export function partitionOf(key: string, partitions = PARTITIONS): number {
  const partitioner = Partitioners.DefaultPartitioner()
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
    partitionId: i,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }))
  return partitioner({ topic: 't', partitionMetadata, message: { key, value: null } })
}

export function positioned(events: readonly IngestedEvent[]): Positioned[] {
  return events.map((event) => ({ event, partition: partitionOf(kafkaKeyFor(event)) }))
}

export function expected(
  events: readonly IngestedEvent[],
  core: CoreConfig = DEFAULT_CORE_CONFIG,
): ReferenceOutputs {
  return reference(positioned(events), core, PARTITIONS)
}

export function kafkaFor(brokers: string[]): Kafka {
  return new Kafka({ brokers, clientId: 'pp-test', logLevel: logLevel.NOTHING })
}

export async function createInputTopics(admin: Admin, prefix: string): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [KAFKA_TOPICS.orders.name, KAFKA_TOPICS.telemetry.name].map((n) => ({
      topic: topicName(n, prefix),
      numPartitions: PARTITIONS,
      replicationFactor: 1,
    })),
  })
}

export async function deletePrefixed(admin: Admin, prefix: string): Promise<void> {
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`))
  if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 15_000 }).catch(() => undefined)
}

/** Produces events in order (each partition keeps the list order), in chunks. */
export async function produce(kafka: Kafka, prefix: string, events: readonly IngestedEvent[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  try {
    for (let i = 0; i < events.length; i += 500) {
      const chunk = events.slice(i, i + 500)
      const byTopic = new Map<string, { key: string; value: string; partition: number }[]>()
      for (const e of chunk) {
        const topic = topicName(
          e.type.startsWith('order.') ? KAFKA_TOPICS.orders.name : KAFKA_TOPICS.telemetry.name,
          prefix,
        )
        const key = kafkaKeyFor(e)
        const list = byTopic.get(topic) ?? []
        list.push({ key, value: JSON.stringify(e), partition: partitionOf(key) })
        byTopic.set(topic, list)
      }
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      })
    }
  } finally {
    await producer.disconnect()
  }
}

export interface Collected {
  facts: unknown[]
  kpis: unknown[]
  alerts: unknown[]
  late: unknown[]
  commands: unknown[]
}

const OUTPUTS = {
  facts: KAFKA_TOPICS.orderFacts.name,
  kpis: KAFKA_TOPICS.kpis.name,
  alerts: KAFKA_TOPICS.alerts.name,
  late: KAFKA_TOPICS.lateEvents.name,
  commands: KAFKA_TOPICS.commands.name,
} as const

/** Reads every output topic from the beginning with read_committed until `done` holds or the timeout. */
export async function collect(
  kafka: Kafka,
  prefix: string,
  done: (c: Collected) => boolean,
  timeoutMs: number,
  quietMs = 3_000,
): Promise<Collected> {
  const c: Collected = { facts: [], kpis: [], alerts: [], late: [], commands: [] }
  const byTopic = new Map<string, keyof Collected>(
    Object.entries(OUTPUTS).map(([k, n]) => [topicName(n, prefix), k as keyof Collected]),
  )
  const consumer = kafka.consumer({
    groupId: `${prefix}-reader-${Date.now()}`,
    readUncommitted: false,
    maxWaitTimeInMs: 200,
  })
  await consumer.connect()
  await consumer.subscribe({ topics: [...byTopic.keys()], fromBeginning: true })
  let lastAt = Date.now()
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, message }) => {
      c[byTopic.get(topic)!].push(JSON.parse(message.value!.toString()))
      lastAt = Date.now()
    },
  })
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (done(c) && Date.now() - lastAt > quietMs) break
    await new Promise((r) => setTimeout(r, 250))
  }
  await consumer.disconnect()
  return c
}

export function counts(r: ReferenceOutputs) {
  return {
    facts: r.facts.size,
    kpis: r.kpis.size,
    alerts: r.alerts.size,
    late: r.late.size,
    commands: r.commands.size,
  }
}

export function reached(r: ReferenceOutputs): (c: Collected) => boolean {
  const n = counts(r)
  return (c) =>
    c.facts.length >= n.facts &&
    c.kpis.length >= n.kpis &&
    c.alerts.length >= n.alerts &&
    c.late.length >= n.late &&
    c.commands.length >= n.commands
}

/** Differences between actual records and the reference, by id; [] when they are equal as sets (no duplicates). */
export function diff(actual: Collected, ref: ReferenceOutputs): string[] {
  const problems: string[] = []
  const compare = <T>(
    name: string,
    got: unknown[],
    want: Map<string, T>,
    id: (x: T) => string,
    project: (x: T) => unknown,
  ) => {
    const seen = new Map<string, T>()
    for (const g of got as T[]) {
      const k = id(g)
      if (seen.has(k)) problems.push(`${name}: duplicate ${k}`)
      seen.set(k, g)
    }
    for (const [k, w] of want) {
      const g = seen.get(k)
      if (g === undefined) problems.push(`${name}: missing ${k} ${JSON.stringify(project(w))}`)
      else if (JSON.stringify(project(g)) !== JSON.stringify(project(w)))
        problems.push(
          `${name}: ${k}\n   got  ${JSON.stringify(project(g))}\n   want ${JSON.stringify(project(w))}`,
        )
    }
    for (const [k, g] of seen)
      if (!want.has(k)) problems.push(`${name}: unexpected ${k} ${JSON.stringify(project(g))}`)
  }
  type F = { order_id: string }
  type K = { restaurant_id: string; window_start: number }
  type A = { alert_id: string; kind: string; detail: string }
  type L = { event_id: string }
  type C = { command_id: string; device_id: string; payload: { order_id: string } }
  compare<F>(
    'fact',
    actual.facts,
    ref.facts,
    (f) => f.order_id,
    (f) => f,
  )
  compare<K>(
    'kpi',
    actual.kpis,
    ref.kpis,
    (k) => `${k.restaurant_id}|${k.window_start}`,
    (k) => k,
  )
  compare<A>(
    'alert',
    actual.alerts,
    ref.alerts,
    (a) => a.alert_id,
    ({ detail: _d, ...a }) => a,
  )
  compare<L>(
    'late',
    actual.late,
    ref.late,
    (l) => l.event_id,
    (l) => l,
  )
  compare<C>(
    'command',
    actual.commands,
    ref.commands,
    (c) => c.command_id,
    (c) => [c.device_id, c.payload.order_id],
  )
  return problems
}
