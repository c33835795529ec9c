// Kafka topic catalogue: names are versioned (`.v1`), so an incompatible change gets a new topic that
// runs beside the old one instead of breaking consumers mid-stream. Partition counts bound the
// parallelism of each consumer group (DESIGN.md "Running it": scale out by partitions).
import type { Command } from '../events/commands.js'
import type { DeadLetterRecord } from '../events/dead-letter.js'
import type { EventType } from '../events/schemas.js'

export type KafkaCleanupPolicy = 'delete' | 'compact' | 'compact,delete'
export type Component = 'gateway' | 'edge-processor' | 'cloud-sink' | 'device-sim' | 'cli'

export interface KafkaTopicSpec {
  readonly name: string
  readonly partitions: number
  /** Record field that is the message key. */
  readonly keyField: 'order_id' | 'device_id' | 'restaurant_id'
  /** What the key is and why, for the docs and for whoever adds a producer. */
  readonly keyDescription: string
  readonly cleanupPolicy: KafkaCleanupPolicy
  readonly retentionMs: number
  readonly producers: readonly Component[]
  readonly consumers: readonly Component[]
  readonly description: string
}

const DAY_MS = 86_400_000

export const KAFKA_TOPICS = {
  orders: {
    name: 'pp.orders.v1',
    partitions: 6,
    keyField: 'order_id',
    keyDescription: 'payload.order_id: one order, one partition, so its lifecycle stays in order',
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY_MS,
    producers: ['gateway'],
    consumers: ['edge-processor', 'cloud-sink'],
    description: 'Ingested order.* events (order.placed, order.status_changed, order.rated)',
  },
  telemetry: {
    name: 'pp.telemetry.v1',
    partitions: 6,
    keyField: 'device_id',
    keyDescription: 'device_id: per-device order for heartbeats and sensor series',
    cleanupPolicy: 'delete',
    retentionMs: 3 * DAY_MS,
    producers: ['gateway'],
    consumers: ['edge-processor', 'cloud-sink'],
    description: 'Ingested device.telemetry and device.heartbeat events',
  },
  commands: {
    name: 'pp.commands.v1',
    partitions: 3,
    keyField: 'device_id',
    keyDescription: 'device_id: commands to one device are delivered in order',
    cleanupPolicy: 'delete',
    // Commands expire (expires_at) within minutes; a day is enough to debug a missed one.
    retentionMs: 1 * DAY_MS,
    producers: ['edge-processor', 'cli'],
    consumers: ['gateway'],
    description: 'Downlink commands (order.ready, config, reboot) for the gateway to deliver',
  },
  deadLetter: {
    name: 'pp.deadletter.v1',
    partitions: 3,
    keyField: 'device_id',
    keyDescription: "device_id, or 'unknown' when the rejected input did not reveal one",
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY_MS,
    producers: ['gateway'],
    consumers: ['cloud-sink'],
    description: 'Rejected input with reason and original bytes (DeadLetterRecord)',
  },
  orderFacts: {
    name: 'pp.order-facts.v1',
    partitions: 6,
    keyField: 'order_id',
    keyDescription: 'order_id: facts of one order stay ordered and co-partitioned with pp.orders.v1',
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY_MS,
    producers: ['edge-processor'],
    consumers: ['cloud-sink'],
    description: 'Joined order facts (placed, timings per status, outcome, rating)',
  },
  kpis: {
    name: 'pp.kpis.v1',
    partitions: 3,
    keyField: 'restaurant_id',
    keyDescription: 'restaurant_id: windows of one restaurant stay ordered',
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY_MS,
    producers: ['edge-processor'],
    consumers: ['cloud-sink'],
    description: 'Event-time window aggregates per restaurant',
  },
  alerts: {
    name: 'pp.alerts.v1',
    partitions: 3,
    keyField: 'restaurant_id',
    keyDescription: 'restaurant_id: alerts of one restaurant stay ordered',
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY_MS,
    producers: ['edge-processor'],
    consumers: ['cloud-sink'],
    description: 'Operational alerts (temperatures out of range, devices silent, orders stuck)',
  },
  lateEvents: {
    name: 'pp.late-events.v1',
    partitions: 3,
    keyField: 'restaurant_id',
    keyDescription: 'restaurant_id: late events of one restaurant stay ordered',
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY_MS,
    producers: ['edge-processor'],
    consumers: ['cloud-sink'],
    description: 'Events that arrived after their event-time window closed',
  },
} as const satisfies Record<string, KafkaTopicSpec>

export type KafkaTopicId = keyof typeof KAFKA_TOPICS
export type KafkaTopicName = (typeof KAFKA_TOPICS)[KafkaTopicId]['name']

export const ALL_TOPICS: readonly KafkaTopicSpec[] = Object.values(KAFKA_TOPICS)

const EVENT_TOPICS = {
  'order.placed': KAFKA_TOPICS.orders.name,
  'order.status_changed': KAFKA_TOPICS.orders.name,
  'order.rated': KAFKA_TOPICS.orders.name,
  'device.telemetry': KAFKA_TOPICS.telemetry.name,
  'device.heartbeat': KAFKA_TOPICS.telemetry.name,
} as const satisfies { [K in EventType]: KafkaTopicName }

/** The topic an ingested event of this type is written to (unprefixed; see topicName). */
export function topicForEvent(type: EventType): (typeof EVENT_TOPICS)[EventType] {
  return EVENT_TOPICS[type]
}

/** Kafka's legal topic characters and length (kafka.common.internals.Topic). */
const KAFKA_TOPIC_CHARS = /^[a-zA-Z0-9._-]+$/
const KAFKA_TOPIC_MAX_LENGTH = 249

/**
 * The physical topic name. A prefix isolates tests and environments sharing one cluster
 * (e.g. `t-3f9a.pp.orders.v1`). Throws RangeError on a prefix Kafka would reject.
 */
export function topicName(base: KafkaTopicName, prefix?: string): string {
  if (prefix === undefined || prefix === '') return base
  const name = `${prefix}.${base}`
  if (!KAFKA_TOPIC_CHARS.test(prefix) || name.length > KAFKA_TOPIC_MAX_LENGTH) {
    throw new RangeError(
      `topic prefix ${JSON.stringify(prefix)} must use [a-zA-Z0-9._-] and keep the name within 249 characters`,
    )
  }
  return name
}

export const DEAD_LETTER_UNKNOWN_KEY = 'unknown'

export function deadLetterKafkaKey(record: DeadLetterRecord): string {
  return record.device_id === null || record.device_id === '' ? DEAD_LETTER_UNKNOWN_KEY : record.device_id
}

export function commandKafkaKey(command: Command): string {
  return command.device_id
}
