/**
 * Our producer interface over kafkajs (issue #4: "kafkajs behind our producer interface").
 *
 * kafkajs has no linger batching or buffering of its own and its idempotent producer is only safe
 * with one request in flight (tulios/kafkajs#598): so each lane is an idempotent producer of its own
 * (acks = all, compression) with one `sendBatch` at a time; lanes overlap, each on its own broker
 * connections. The batching and the key → lane mapping live in {@link DurableWriter}. `sendBatch`
 * resolves only when every record is acknowledged by all in-sync replicas.
 */
import { type Admin, CompressionTypes, Kafka, logLevel, type Producer } from 'kafkajs'
import type { GatewayRecord } from '../ingest/record.js'

export interface BatchSender {
  connect(): Promise<void>
  /**
   * Resolves when Kafka acknowledged every record with acks = all; rejects otherwise. Calls on one
   * lane never overlap (the caller waits); calls on different lanes may.
   */
  sendBatch(records: readonly GatewayRecord[], lane?: number): Promise<void>
  close(): Promise<void>
}

export type Compression = 'none' | 'gzip'

export interface KafkaSenderOptions {
  brokers: string[]
  clientId: string
  compression: Compression
  /** Fail fast so that the writer can fall back to the outbox instead of stalling devices. */
  requestTimeoutMs?: number
  retries?: number
  connectionTimeoutMs?: number
  /** Producers, one per DurableWriter lane. Default 1. */
  lanes?: number
}

export class KafkaBatchSender implements BatchSender {
  readonly #kafka: Kafka
  readonly #options: KafkaSenderOptions
  #producers: Producer[] = []

  constructor(options: KafkaSenderOptions) {
    this.#options = options
    this.#kafka = new Kafka({
      brokers: options.brokers,
      clientId: options.clientId,
      logLevel: logLevel.NOTHING,
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 10_000,
      retry: { retries: options.retries ?? 3, initialRetryTime: 100, maxRetryTime: 1_000 },
    })
  }

  get kafka(): Kafka {
    return this.#kafka
  }

  get lanes(): number {
    return Math.max(1, Math.floor(this.#options.lanes ?? 1))
  }

  /** Idempotent: connected producers are kept. */
  async connect(): Promise<void> {
    if (this.#producers.length > 0) return
    const producers = Array.from({ length: this.lanes }, () =>
      this.#kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        retry: { retries: this.#options.retries ?? 3, initialRetryTime: 100, maxRetryTime: 1_000 },
      }),
    )
    try {
      await Promise.all(producers.map((p) => p.connect()))
    } catch (error) {
      await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)))
      throw error
    }
    this.#producers = producers
  }

  async sendBatch(records: readonly GatewayRecord[], lane = 0): Promise<void> {
    const producer = this.#producers[lane % Math.max(1, this.#producers.length)]
    if (!producer) throw new Error('KafkaBatchSender.sendBatch before connect')
    const byTopic = new Map<string, GatewayRecord[]>()
    for (const r of records) {
      const list = byTopic.get(r.topic)
      if (list) list.push(r)
      else byTopic.set(r.topic, [r])
    }
    await producer.sendBatch({
      acks: -1,
      timeout: this.#options.requestTimeoutMs ?? 10_000,
      compression: this.#options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
      topicMessages: [...byTopic].map(([topic, rs]) => ({
        topic,
        messages: rs.map((r) => ({
          key: r.key,
          value: r.value,
          headers: r.headers,
          timestamp: String(r.timestamp),
        })),
      })),
    })
  }

  admin(): Admin {
    return this.#kafka.admin()
  }

  async close(): Promise<void> {
    const producers = this.#producers
    this.#producers = []
    await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)))
  }
}
