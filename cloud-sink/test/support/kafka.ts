import { KAFKA_TOPICS, type KafkaTopicId } from '@pedepronto/contracts'
import { createTestTopics, type TestTopics } from '@pedepronto/infra'
import { Kafka, logLevel, type Message } from 'kafkajs'

export const SINK_TOPICS: KafkaTopicId[] = ['orders', 'telemetry', 'orderFacts', 'kpis', 'alerts']

export async function sinkTopics(
  brokers: string[],
  prefix: string,
  partitions: Partial<Record<KafkaTopicId, number>> = {},
): Promise<TestTopics> {
  return createTestTopics(
    brokers,
    SINK_TOPICS.map((id) => ({
      name: `${prefix}.${KAFKA_TOPICS[id].name}`,
      partitions: partitions[id] ?? 2,
    })),
  )
}

export async function produce(brokers: string[], topic: string, messages: Message[]): Promise<void> {
  const kafka = new Kafka({ brokers, clientId: 'sink-test-producer', logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  try {
    for (let i = 0; i < messages.length; i += 500)
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) })
  } finally {
    await producer.disconnect()
  }
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}
