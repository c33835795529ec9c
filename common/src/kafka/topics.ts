/**
 * Creates the contracts' Kafka topics that are missing, with their partition counts, cleanup policy
 * and retention. Existing topics are left as they are (a partition count is never lowered).
 */
import { ALL_TOPICS, type KafkaTopicName, type KafkaTopicSpec, topicName } from '@pedepronto/contracts'
import type { Admin } from 'kafkajs'

export interface EnsureTopicsResult {
  created: string[]
  existing: string[]
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
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map(({ spec, name }) => ({
        topic: name,
        numPartitions: spec.partitions,
        replicationFactor: -1,
        configEntries: [
          { name: 'cleanup.policy', value: spec.cleanupPolicy },
          { name: 'retention.ms', value: String(spec.retentionMs) },
        ],
      })),
    })
  }
  return {
    created: missing.map((m) => m.name),
    existing: wanted.filter((w) => present.has(w.name)).map((w) => w.name),
  }
}
