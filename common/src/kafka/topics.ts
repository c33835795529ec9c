/**
 * Creates the contracts' Kafka topics that are missing, with their partition counts, cleanup policy
 * and retention. Existing topics are left as they are (a partition count is never lowered).
 */
import { ALL_TOPICS, type KafkaTopicName, type KafkaTopicSpec, topicName } from '@pedepronto/contracts'
import type { Admin, ITopicConfig } from 'kafkajs'

export interface EnsureTopicsResult {
  created: string[]
  existing: string[]
}

/**
 * Creates topics and waits until every partition has a leader. kafkajs' own `waitForLeaders` retries
 * only LEADER_NOT_AVAILABLE; a broker that just (re)started also answers UNKNOWN_TOPIC_OR_PARTITION
 * ("This server does not host this topic-partition") for a moment, so the metadata is polled here,
 * retrying every error, until the deadline.
 */
export async function createTopicsReady(
  admin: Admin,
  topics: ITopicConfig[],
  timeoutMs = 30_000,
): Promise<void> {
  if (topics.length === 0) return
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      await admin.createTopics({ topics, waitForLeaders: false })
      break
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  const names = topics.map((t) => t.topic)
  for (;;) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: names })
      const led = meta.topics.every(
        (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
      )
      if (led && meta.topics.length === names.length) return
    } catch (error) {
      if (Date.now() > deadline) throw error
    }
    if (Date.now() > deadline)
      throw new Error(`topics ${names.join(', ')} have no leaders after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

export async function ensureTopics(
  admin: Admin,
  options: { prefix?: string; specs?: readonly KafkaTopicSpec[] } = {},
): Promise<EnsureTopicsResult> {
  const specs = options.specs ?? ALL_TOPICS
  const present = new Set(await admin.listTopics())
  const wanted = specs.map((s) => ({ spec: s, name: topicName(s.name as KafkaTopicName, options.prefix) }))
  const missing = wanted.filter((w) => !present.has(w.name))
  if (missing.length > 0) {
    await createTopicsReady(
      admin,
      missing.map(({ spec, name }) => ({
        topic: name,
        numPartitions: spec.partitions,
        replicationFactor: -1,
        configEntries: [
          { name: 'cleanup.policy', value: spec.cleanupPolicy },
          { name: 'retention.ms', value: String(spec.retentionMs) },
        ],
      })),
    )
  }
  return {
    created: missing.map((m) => m.name),
    existing: wanted.filter((w) => present.has(w.name)).map((w) => w.name),
  }
}
