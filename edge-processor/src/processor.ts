/**
 * The edge processor: two sub-topologies in one process (issue #5).
 *
 * Partitioning problem: orders are partitioned by order id, KPIs are per restaurant. Stage 1 consumes
 * `pp.orders.v1` and `pp.telemetry.v1` (dedup, state machine, facts, commands, alerts) and writes each
 * order event's window contribution re-keyed by restaurant to the internal repartition topic
 * `<prefix>.pp.processor-repartition.v1`, plus a watermark marker per source partition to every
 * repartition partition. Stage 2 (its own consumer group) consumes the repartition topic, so each
 * restaurant's windows live in exactly one task, and writes KPIs and late events. Both stages are
 * consume → transform → produce in Kafka transactions (./kafka/stage.ts), so the chain is exactly
 * once end to end; this is the Kafka Streams "through()" design, chosen over a single stage with a
 * shuffle in memory because it keeps scale-out by partitions for both keys.
 */
import {
  createLogger,
  createRegistry,
  ensureTopics,
  type Logger,
  OpsServer,
  PedeProntoError,
} from '@pedepronto/common'
import { KAFKA_TOPICS, type KafkaTopicSpec, parseIngestedEvent, topicName } from '@pedepronto/contracts'
import { type Admin, Kafka, logLevel } from 'kafkajs'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { ProcessorConfig } from './config.js'
import type { CoreConfig, Output, OutputKind } from './core/common.js'
import { KpiTask } from './core/kpi.js'
import { OrdersTask } from './core/orders.js'
import { TelemetryTask } from './core/telemetry.js'
import { type RoutedMessage, Stage, type StageTask } from './kafka/stage.js'
import type { RepartitionRecord } from './schemas.js'

export const REPARTITION_TOPIC_BASE = 'pp.processor-repartition.v1'

export function repartitionTopicName(prefix: string): string {
  // Validated like every contract topic (same prefix rules); the cast only widens the literal type.
  return topicName(REPARTITION_TOPIC_BASE as typeof KAFKA_TOPICS.orders.name, prefix)
}

export type EdgeErrorCode = 'EDGE_KAFKA_UNREACHABLE' | 'EDGE_TOPIC_SETUP'

export class EdgeError extends PedeProntoError<EdgeErrorCode> {}

export interface ProcessorStats {
  eventsIn: number
  duplicates: number
  outputs: Record<OutputKind, number>
  transactions: number
  failedTransactions: number
  replayed: number
  lag: number
}

export interface EdgeProcessorDeps {
  logger?: Logger
  registry?: Registry
}

export class EdgeProcessor {
  readonly registry: Registry
  readonly #config: ProcessorConfig
  readonly #logger: Logger
  readonly #stats: ProcessorStats = {
    eventsIn: 0,
    duplicates: 0,
    outputs: { fact: 0, command: 0, alert: 0, contribution: 0, marker: 0, kpi: 0, late: 0 },
    transactions: 0,
    failedTransactions: 0,
    replayed: 0,
    lag: 0,
  }
  readonly #lag = new Map<string, number>()
  readonly #metrics
  #admin: Admin | undefined
  #stages: Stage[] = []
  #ops: OpsServer | undefined

  constructor(config: ProcessorConfig, deps: EdgeProcessorDeps = {}) {
    this.#config = config
    this.#logger = deps.logger ?? createLogger('edge-processor')
    this.registry = deps.registry ?? createRegistry('edge-processor')
    const r = [this.registry]
    this.#metrics = {
      eventsIn: new Counter({
        name: 'pedepronto_processor_events_in_total',
        help: 'Input records processed live (not replays), by stage and topic',
        labelNames: ['stage', 'topic'],
        registers: r,
      }),
      duplicates: new Counter({
        name: 'pedepronto_processor_duplicates_total',
        help: 'Input events dropped as duplicates (same event id within the horizon)',
        labelNames: ['topic'],
        registers: r,
      }),
      outputs: new Counter({
        name: 'pedepronto_processor_outputs_total',
        help: 'Records written in committed transactions, by kind',
        labelNames: ['kind'],
        registers: r,
      }),
      tx: new Histogram({
        name: 'pedepronto_processor_transaction_seconds',
        help: 'Latency of one batch transaction (send outputs, send offsets, commit)',
        labelNames: ['stage'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: r,
      }),
      failed: new Counter({
        name: 'pedepronto_processor_transactions_failed_total',
        help: 'Aborted transactions (the batch is re-read and the task rebuilt)',
        labelNames: ['stage'],
        registers: r,
      }),
      replayed: new Counter({
        name: 'pedepronto_processor_replayed_records_total',
        help: 'Records replayed silently to rebuild task state after an assignment',
        labelNames: ['stage'],
        registers: r,
      }),
      lag: new Gauge({
        name: 'pedepronto_processor_lag_records',
        help: 'Records between the last processed offset and the high watermark, by topic and partition',
        labelNames: ['topic', 'partition'],
        registers: r,
      }),
    }
  }

  stats(): ProcessorStats {
    let lag = 0
    for (const v of this.#lag.values()) lag += v
    return { ...this.#stats, outputs: { ...this.#stats.outputs }, lag }
  }

  get ready(): boolean {
    return this.#stages.length > 0 && this.#stages.every((s) => s.joined)
  }

  /** Creates topics, starts stage 2 then stage 1, and the ops server; returns the ops address. */
  async start(): Promise<{ ops: { host: string; port: number } }> {
    const c = this.#config
    const prefix = c.kafka.topicPrefix
    const kafka = new Kafka({
      brokers: c.kafka.brokers,
      clientId: `${c.kafka.clientId}-processor`,
      connectionTimeout: c.kafka.connectTimeoutMs,
      logLevel: logLevel.NOTHING,
    })

    const admin = kafka.admin()
    this.#admin = admin
    try {
      await admin.connect()
    } catch (error) {
      throw new EdgeError('EDGE_KAFKA_UNREACHABLE', `cannot reach Kafka at ${c.kafka.brokers.join(',')}`, {
        cause: error,
        canRetry: true,
        hint: 'start the local services (`pedepronto services up`) or pass --kafka-brokers',
      })
    }
    const repartition = repartitionTopicName(prefix)
    const repartitionSpec: KafkaTopicSpec = {
      name: REPARTITION_TOPIC_BASE,
      partitions: c.processor.repartitionPartitions,
      keyField: 'restaurant_id',
      keyDescription: 'restaurant_id: all window contributions of a restaurant meet in one stage-2 task',
      cleanupPolicy: 'delete',
      retentionMs: KAFKA_TOPICS.orders.retentionMs,
      producers: ['edge-processor'],
      consumers: ['edge-processor'],
      description: 'Internal: order events re-keyed by restaurant, and watermark markers',
    }
    try {
      // Fresh topics may answer "not hosted here" for a moment after creation: retry briefly.
      for (let attempt = 1; ; attempt++) {
        try {
          await ensureTopics(admin, { prefix })
          await ensureTopics(admin, { prefix, specs: [repartitionSpec] })
          break
        } catch (error) {
          if (attempt >= 10) throw error
          await new Promise((r) => setTimeout(r, 300 * attempt))
        }
      }
    } catch (error) {
      throw new EdgeError(
        'EDGE_TOPIC_SETUP',
        `cannot create the processor's topics: ${(error as Error).message}`,
        {
          cause: error,
          canRetry: true,
        },
      )
    }
    const orders = topicName(KAFKA_TOPICS.orders.name, prefix)
    const telemetry = topicName(KAFKA_TOPICS.telemetry.name, prefix)
    // Right after creation a topic's metadata may still be "not hosted here": retry briefly.
    let meta: Awaited<ReturnType<Admin['fetchTopicMetadata']>> | undefined
    for (let attempt = 1; meta === undefined; attempt++) {
      try {
        meta = await admin.fetchTopicMetadata({ topics: [orders, repartition] })
      } catch (error) {
        if (attempt >= 10) throw error
        await new Promise((r) => setTimeout(r, 300 * attempt))
      }
    }
    const ordersPartitions = meta.topics.find((t) => t.name === orders)!.partitions.length
    const repartitionPartitions = meta.topics.find((t) => t.name === repartition)!.partitions.length
    const core: CoreConfig = { ...c.processor }
    const out = {
      fact: topicName(KAFKA_TOPICS.orderFacts.name, prefix),
      command: topicName(KAFKA_TOPICS.commands.name, prefix),
      alert: topicName(KAFKA_TOPICS.alerts.name, prefix),
      kpi: topicName(KAFKA_TOPICS.kpis.name, prefix),
      late: topicName(KAFKA_TOPICS.lateEvents.name, prefix),
    }
    const route = (o: Output): RoutedMessage[] => {
      const value = JSON.stringify(o.value)
      switch (o.kind) {
        case 'contribution':
          return [{ topic: repartition, message: { key: o.key, value } }]
        case 'marker': {
          const list: RoutedMessage[] = []
          for (let p = 0; p < repartitionPartitions; p++)
            list.push({ topic: repartition, message: { key: o.key, value, partition: p } })
          return list
        }
        default:
          return [{ topic: out[o.kind], message: { key: o.key, value } }]
      }
    }
    const hooks = {
      onCommitted: (i: {
        stage: string
        topic: string
        partition: number
        records: number
        duplicates: number
        outputs: readonly Output[]
        seconds: number
        lag: number
      }) => {
        this.#stats.transactions++
        this.#metrics.tx.observe({ stage: i.stage }, i.seconds)
        this.#metrics.eventsIn.inc({ stage: i.stage, topic: i.topic }, i.records)
        if (i.stage !== 'kpi') {
          this.#stats.eventsIn += i.records
          this.#stats.duplicates += i.duplicates
          if (i.duplicates > 0) this.#metrics.duplicates.inc({ topic: i.topic }, i.duplicates)
        }
        for (const o of i.outputs) {
          this.#stats.outputs[o.kind]++
          this.#metrics.outputs.inc({ kind: o.kind })
        }
        this.#lag.set(`${i.topic}:${i.partition}`, i.lag)
        this.#metrics.lag.set({ topic: i.topic, partition: String(i.partition) }, i.lag)
      },
      onReplayed: (i: { stage: string; records: number }) => {
        this.#stats.replayed += i.records
        this.#metrics.replayed.inc({ stage: i.stage }, i.records)
      },
      onFailed: (i: { stage: string }) => {
        this.#stats.failedTransactions++
        this.#metrics.failed.inc({ stage: i.stage })
      },
    }
    const kpiStage = new Stage({
      name: 'kpi',
      kafka,
      admin,
      groupId: `${c.processor.groupId}.kpi`,
      topics: [repartition],
      logger: this.#logger.child({ stage: 'kpi' }),
      hooks,
      route,
      fetchMaxBytesPerPartition: c.processor.fetchMaxBytesPerPartition,
      createTask: () => kpiStageTask(c.processor.windowMs),
    })
    const ordersStage = new Stage({
      name: 'orders',
      kafka,
      admin,
      groupId: c.processor.groupId,
      topics: [orders],
      logger: this.#logger.child({ stage: 'orders' }),
      hooks,
      route,
      fetchMaxBytesPerPartition: c.processor.fetchMaxBytesPerPartition,
      createTask: (_topic, partition) =>
        ordersStageTask(new OrdersTask({ config: core, partition, partitions: ordersPartitions })),
    })
    // Telemetry in a consumer of its own: a stage commits one partition's transaction at a time,
    // so sharing a consumer made every order batch wait behind the telemetry partitions' commits.
    const telemetryStage = new Stage({
      name: 'telemetry',
      kafka,
      admin,
      groupId: `${c.processor.groupId}.telemetry`,
      topics: [telemetry],
      logger: this.#logger.child({ stage: 'telemetry' }),
      hooks,
      route,
      fetchMaxBytesPerPartition: c.processor.fetchMaxBytesPerPartition,
      createTask: () => telemetryStageTask(new TelemetryTask(core)),
    })
    this.#stages = [kpiStage, ordersStage, telemetryStage]
    const ops = new OpsServer(this.registry, [{ name: 'kafka-groups-joined', check: () => this.ready }])
    this.#ops = ops
    const address = await ops.start(c.ops.host, c.ops.port)
    await kpiStage.start()
    await ordersStage.start()
    await telemetryStage.start()
    return { ops: address }
  }

  /** Graceful drain: stage 1 first (its last transaction commits), then stage 2, then the rest. */
  async stop(): Promise<void> {
    for (const s of [...this.#stages].reverse()) await s.stop()
    this.#stages = []
    await this.#admin?.disconnect().catch(() => undefined)
    await this.#ops?.stop()
  }
}

function ingested(value: Buffer | null) {
  if (value === null) return null
  const r = parseIngestedEvent(value)
  return r.ok ? r.value : null
}

function ordersStageTask(task: OrdersTask): StageTask {
  return {
    process: (v) => task.process(ingested(v)),
    endOfBatch: () => task.endOfBatch(),
    duplicates: () => task.counters.duplicates,
  }
}

function telemetryStageTask(task: TelemetryTask): StageTask {
  return {
    process: (v) => task.process(ingested(v)),
    endOfBatch: () => [],
    duplicates: () => task.counters.duplicates,
  }
}

function kpiStageTask(windowMs: number): StageTask {
  const task = new KpiTask(windowMs)
  return {
    process: (v) => {
      if (v === null) return []
      let record: RepartitionRecord
      try {
        record = JSON.parse(v.toString('utf8')) as RepartitionRecord
      } catch {
        return []
      }
      return task.process(record)
    },
    endOfBatch: () => [],
    duplicates: () => 0,
  }
}
