/**
 * The cloud sink: Kafka (kafkajs, manual commits, eachBatch) → Parquet files → lake target, with
 * Glue partitions and AWS IoT pushes as side effects.
 *
 * Ack rule (STYLE.md, convention 3): a partition's offset is committed only after every file holding
 * records before it was uploaded — commit = next offset after the file's last record, never beyond
 * the first record still buffered or un-uploaded. Files are named by their first offset and cut
 * deterministically (assembler.ts), so a crash at any point makes the next owner rewrite the same
 * objects. Buffers are dropped on every rebalance (GROUP_JOIN): kafkajs then fetches from the
 * committed offsets again.
 */
import { ExitCode, type Logger, PedeProntoError, silentLogger } from '@pedepronto/common'
import { KAFKA_TOPICS, type KafkaTopicName, topicName } from '@pedepronto/contracts'
import { type Consumer, type EachBatchPayload, Kafka, logLevel } from 'kafkajs'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { FileAssembler, type OffsetRange, type PendingFile } from './assembler.js'
import type { SinkConfig } from './config.js'
import { SinkError } from './errors.js'
import { GlueCatalog } from './glue.js'
import { IotLivePush } from './iot.js'
import { dataKey, parseFileKey, rejectedKey, rejectedPrefix, tablePrefix } from './layout.js'
import { encodeParquet, parquetMetadata } from './parquet.js'
import { buildManifest, manifestKey } from './sql.js'
import { ORDER_FACTS, type Row, TABLES, type TableDef } from './tables.js'
import { createTarget, type LakeObject, type LakeTarget } from './targets.js'

/** Credentials for an endpoint override without any in the environment: the emulator's. */
export function emulatorCredentials(
  endpoint: string,
): { accessKeyId: string; secretAccessKey: string } | undefined {
  if (endpoint === '' || process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE) return undefined
  return { accessKeyId: 'testing', secretAccessKey: 'testing' }
}

export const LAST_OFFSET_META = 'pedepronto.kafka.last_offset'

interface PartitionState {
  assembler: FileAssembler
  /** Closed files not uploaded yet, oldest first. */
  pending: PendingFile[]
  /** Next offset to add: redelivered records below it are already buffered. */
  nextOffset: bigint
  committed: bigint | undefined
  highWatermark: bigint
}

export interface SinkMetrics {
  files: Counter<'table' | 'kind'>
  bytes: Counter<'table'>
  records: Counter<'table'>
  rejected: Counter<'table'>
  uploadSeconds: Histogram<'table'>
  lag: Gauge<'topic' | 'partition'>
  iot: Counter<'action' | 'outcome'>
  glue: Counter<'outcome'>
}

function createMetrics(registry: Registry): SinkMetrics {
  const r = [registry]
  return {
    files: new Counter({
      name: 'pedepronto_sink_files_written_total',
      help: 'Lake objects written',
      labelNames: ['table', 'kind'],
      registers: r,
    }),
    bytes: new Counter({
      name: 'pedepronto_sink_bytes_written_total',
      help: 'Parquet bytes written',
      labelNames: ['table'],
      registers: r,
    }),
    records: new Counter({
      name: 'pedepronto_sink_records_written_total',
      help: 'Rows written to Parquet',
      labelNames: ['table'],
      registers: r,
    }),
    rejected: new Counter({
      name: 'pedepronto_sink_records_rejected_total',
      help: 'Records written to _rejected',
      labelNames: ['table'],
      registers: r,
    }),
    uploadSeconds: new Histogram({
      name: 'pedepronto_sink_upload_latency_seconds',
      help: 'Encode + upload time of one file',
      labelNames: ['table'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    }),
    lag: new Gauge({
      name: 'pedepronto_sink_lag_records',
      help: 'High watermark minus committed offset',
      labelNames: ['topic', 'partition'],
      registers: r,
    }),
    iot: new Counter({
      name: 'pedepronto_sink_iot_pushes_total',
      help: 'AWS IoT shadow updates and publishes',
      labelNames: ['action', 'outcome'],
      registers: r,
    }),
    glue: new Counter({
      name: 'pedepronto_sink_glue_partition_calls_total',
      help: 'Glue partition registrations',
      labelNames: ['outcome'],
      registers: r,
    }),
  }
}

export interface CloudSinkDeps {
  logger?: Logger
  registry: Registry
  target?: LakeTarget
}

export interface SinkSummary {
  files: number
  rows: number
  rejected: number
  bytes: number
  committed: Record<string, string>
}

export class CloudSink {
  readonly config: SinkConfig
  readonly target: LakeTarget
  readonly metrics: SinkMetrics
  readonly #log: Logger
  readonly #tables: Map<string, TableDef> = new Map()
  readonly #parts = new Map<string, PartitionState>()
  #orphans = new Map<string, Promise<LakeObject[]>>()
  #consumer: Consumer | undefined
  #glue: GlueCatalog | undefined
  #iot: IotLivePush | undefined
  #timer: NodeJS.Timeout | undefined
  #chain: Promise<unknown> = Promise.resolve()
  #joined = false
  #stopping = false
  readonly summary: SinkSummary = { files: 0, rows: 0, rejected: 0, bytes: 0, committed: {} }

  constructor(config: SinkConfig, deps: CloudSinkDeps) {
    this.config = config
    this.#log = deps.logger ?? silentLogger()
    this.metrics = createMetrics(deps.registry)
    const creds = emulatorCredentials(config.aws.endpoint)
    this.target =
      deps.target ??
      createTarget({
        target: config.sink.target,
        localDir: config.sink.localDir,
        bucket: config.sink.bucket,
        region: config.aws.region,
        endpoint: config.aws.endpoint,
        createBucket: config.sink.createBucket,
        ...(creds ? { credentials: creds } : {}),
      })
  }

  get ready(): boolean {
    return this.#joined && !this.#stopping
  }

  /** Physical topic → table, for the tables configured. */
  topics(): Map<string, TableDef> {
    const out = new Map<string, TableDef>()
    for (const t of TABLES) {
      if (!this.config.sink.tables.includes(t.name)) continue
      out.set(topicName(KAFKA_TOPICS[t.topic].name as KafkaTopicName, this.config.kafka.topicPrefix), t)
    }
    return out
  }

  async start(): Promise<{ topics: string[]; skipped: string[] }> {
    const { sink, kafka, aws } = this.config
    if (!(await this.target.ready())) {
      throw new SinkError(
        'SINK_TARGET_UNREACHABLE',
        `the lake target ${this.target.location} is not reachable`,
        {
          canRetry: true,
          exitCode: ExitCode.UNAVAILABLE,
          hint:
            sink.target === 's3'
              ? 'create the bucket (or set --sink-create-bucket true) and check PEDEPRONTO_AWS_ENDPOINT'
              : 'check the folder is writable',
        },
      )
    }
    const creds = emulatorCredentials(aws.endpoint)
    const awsOptions = {
      region: aws.region,
      endpoint: aws.endpoint,
      ...(creds ? { credentials: creds } : {}),
    }
    if (sink.glue) {
      this.#glue = new GlueCatalog({
        database: sink.glueDatabase,
        bucket: sink.bucket,
        prefix: sink.prefix,
        ...awsOptions,
      })
      await this.#glue.ensureTables(TABLES.filter((t) => sink.tables.includes(t.name)))
    }
    if (sink.iotPush) this.#iot = new IotLivePush(awsOptions)
    const client = new Kafka({
      brokers: kafka.brokers,
      clientId: `${kafka.clientId}-sink`,
      connectionTimeout: kafka.connectTimeoutMs,
      logLevel: logLevel.NOTHING,
    })
    const admin = client.admin()
    let existing: Set<string>
    try {
      await admin.connect()
      existing = new Set(await admin.listTopics())
    } catch (error) {
      throw new PedeProntoError(
        'SVC_KAFKA_UNREACHABLE',
        `cannot reach Kafka at ${kafka.brokers.join(',')}: ${(error as Error).message}`,
        {
          cause: error,
          canRetry: true,
          exitCode: ExitCode.UNAVAILABLE,
          hint: 'start the local services with `pedepronto services up` or set PEDEPRONTO_KAFKA_BROKERS',
        },
      )
    } finally {
      await admin.disconnect().catch(() => undefined)
    }
    const wanted = this.topics()
    const topics = [...wanted.keys()].filter((t) => existing.has(t))
    const skipped = [...wanted.keys()].filter((t) => !existing.has(t))
    for (const t of topics) this.#tables.set(t, wanted.get(t) as TableDef)
    if (topics.length === 0) {
      throw new SinkError('SINK_TARGET_UNREACHABLE', `none of the topics ${skipped.join(', ')} exists`, {
        exitCode: ExitCode.UNAVAILABLE,
        hint: 'create them with `pedepronto services up` (or check --kafka-topic-prefix)',
      })
    }
    const consumer = client.consumer({
      groupId: sink.groupId,
      sessionTimeout: sink.sessionTimeoutMs,
      heartbeatInterval: 1_000,
      maxBytesPerPartition: 4 * 1024 * 1024,
      retry: { retries: 8 },
    })
    this.#consumer = consumer
    consumer.on(consumer.events.GROUP_JOIN, () => {
      // kafkajs resumes every assigned partition from its committed offset after a join, so buffered
      // (uncommitted) records would be delivered again: drop them and re-run recovery.
      this.#parts.clear()
      this.#orphans = new Map()
      this.#joined = true
    })
    consumer.on(consumer.events.CRASH, (e) =>
      this.#log.error({ err: e.payload.error }, 'sink consumer crashed'),
    )
    await consumer.connect()
    await consumer.subscribe({ topics, fromBeginning: sink.fromBeginning })
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 2,
      eachBatch: (payload) => this.#serial(() => this.#onBatch(payload)),
    })
    const tick = Math.max(50, Math.min(1_000, Math.floor(sink.flushIntervalMs / 2)))
    this.#timer = setInterval(() => {
      void this.#serial(() => this.#flushIdle()).catch((error: unknown) =>
        this.#log.warn({ err: error }, 'idle flush failed; retrying on the next tick'),
      )
    }, tick)
    this.#timer.unref()
    return { topics, skipped }
  }

  /** One thing at a time: batches, idle flushes and the drain never interleave on the buffers. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(fn, fn)
    this.#chain = next.catch(() => undefined)
    return next
  }

  async #state(topic: string, partition: number, firstOffset: bigint): Promise<PartitionState> {
    const id = `${topic}:${partition}`
    const existing = this.#parts.get(id)
    if (existing) return existing
    const table = this.#tables.get(topic) as TableDef
    const recovered = await this.#recoveredRanges(table, topic, partition, firstOffset)
    if (recovered.length > 0) {
      this.#log.info(
        { topic, partition, recovered: recovered.map((r) => `${r.first}-${r.last}`) },
        'rewriting uncommitted files with their previous cuts',
      )
    }
    const { sink } = this.config
    const state: PartitionState = {
      assembler: new FileAssembler(
        table,
        topic,
        partition,
        { records: sink.rotateRecords, bytes: sink.rotateBytes, spanMs: sink.rotateSpanMs },
        recovered,
      ),
      pending: [],
      nextOffset: firstOffset,
      committed: undefined,
      highWatermark: firstOffset,
    }
    this.#parts.set(id, state)
    return state
  }

  /**
   * Objects of this partition at or after the first offset we are given (= the committed offset):
   * uploaded by a previous owner that died before committing. Their offset ranges fix the cuts.
   */
  async #recoveredRanges(
    table: TableDef,
    topic: string,
    partition: number,
    from: bigint,
  ): Promise<OffsetRange[]> {
    let listing = this.#orphans.get(table.name)
    if (!listing) {
      const { prefix } = this.config.sink
      listing = Promise.all([
        this.target.list(tablePrefix(prefix, table.name)),
        this.target.list(rejectedPrefix(prefix, table.name)),
      ]).then(([a, b]) => [...a, ...b])
      this.#orphans.set(table.name, listing)
    }
    const byFirst = new Map<bigint, bigint>()
    for (const o of await listing) {
      const f = parseFileKey(o.key)
      if (!f || f.topic !== topic || f.partition !== partition || f.firstOffset < from) continue
      const bytes = await this.target.get(o.key)
      if (!bytes) continue
      const last = f.ext === 'parquet' ? lastOffsetOfParquet(bytes) : lastOffsetOfRejected(bytes)
      if (last === undefined) continue
      const known = byFirst.get(f.firstOffset)
      if (known === undefined || last > known) byFirst.set(f.firstOffset, last)
    }
    return [...byFirst].map(([first, last]) => ({ first, last }))
  }

  async #onBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0) return
    const first = BigInt(batch.firstOffset() ?? batch.messages[0]?.offset ?? '0')
    const state = await this.#state(batch.topic, batch.partition, first)
    state.highWatermark = BigInt(batch.highWatermark)
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break
      const offset = BigInt(message.offset)
      if (offset < state.nextOffset) continue
      state.pending.push(
        ...state.assembler.add({ offset: message.offset, key: message.key, value: message.value }),
      )
      state.nextOffset = offset + 1n
    }
    if (state.assembler.idle(this.config.sink.flushIntervalMs)) {
      const file = state.assembler.flush()
      if (file) state.pending.push(file)
    }
    await this.#drain(state, heartbeat)
  }

  async #flushIdle(): Promise<void> {
    for (const state of this.#parts.values()) {
      if (state.assembler.idle(this.config.sink.flushIntervalMs)) {
        const file = state.assembler.flush()
        if (file) state.pending.push(file)
      }
      if (state.pending.length > 0) await this.#drain(state, async () => {})
    }
  }

  /** Uploads pending files in order, then commits past the last uploaded one. */
  async #drain(state: PartitionState, heartbeat: () => Promise<void>): Promise<void> {
    let commitTo: bigint | undefined
    let topic = ''
    let partition = 0
    while (state.pending.length > 0) {
      const file = state.pending[0] as PendingFile
      await this.#uploadWithRetry(file, heartbeat)
      state.pending.shift()
      commitTo = file.lastOffset + 1n
      topic = file.topic
      partition = file.partition
    }
    if (commitTo === undefined || !this.#consumer) return
    await this.#consumer.commitOffsets([{ topic, partition, offset: commitTo.toString() }])
    state.committed = commitTo
    this.summary.committed[`${topic}:${partition}`] = commitTo.toString()
    const lag = state.highWatermark - commitTo
    this.metrics.lag.set({ topic, partition: String(partition) }, Number(lag < 0n ? 0n : lag))
  }

  async #uploadWithRetry(file: PendingFile, heartbeat: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#upload(file)
        return
      } catch (error) {
        if (attempt >= 6 || this.#stopping) throw error
        this.#log.warn(
          {
            err: error,
            attempt,
            topic: file.topic,
            partition: file.partition,
            first: String(file.firstOffset),
          },
          'upload failed; retrying',
        )
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt))
        await heartbeat().catch(() => undefined)
      }
    }
  }

  async #upload(file: PendingFile): Promise<void> {
    const { prefix, compression } = this.config.sink
    const table = file.table
    const t0 = performance.now()
    if (file.rows.length > 0 && file.hour) {
      const meta = new Map([
        [LAST_OFFSET_META, file.lastOffset.toString()],
        ['pedepronto.kafka.topic', file.topic],
        ['pedepronto.kafka.partition', String(file.partition)],
        ['pedepronto.kafka.first_offset', file.firstOffset.toString()],
      ])
      const bytes = encodeParquet(table.columns, file.rows, compression, meta)
      await this.target.put(
        dataKey(prefix, table.name, file.hour, file.topic, file.partition, file.firstOffset),
        bytes,
        'application/vnd.apache.parquet',
      )
      this.metrics.files.inc({ table: table.name, kind: 'parquet' })
      this.metrics.bytes.inc({ table: table.name }, bytes.length)
      this.metrics.records.inc({ table: table.name }, file.rows.length)
      this.summary.files++
      this.summary.rows += file.rows.length
      this.summary.bytes += bytes.length
    }
    if (file.rejected.length > 0) {
      const lines = file.rejected.map((r) =>
        JSON.stringify({ ...r, table: table.name, file_last_offset: file.lastOffset.toString() }),
      )
      await this.target.put(
        rejectedKey(prefix, table.name, file.topic, file.partition, file.firstOffset),
        new TextEncoder().encode(`${lines.join('\n')}\n`),
        'application/x-ndjson',
      )
      this.metrics.files.inc({ table: table.name, kind: 'rejected' })
      this.metrics.rejected.inc({ table: table.name }, file.rejected.length)
      this.summary.rejected += file.rejected.length
      this.#log.warn(
        {
          table: table.name,
          topic: file.topic,
          partition: file.partition,
          count: file.rejected.length,
          first: file.rejected[0]?.reason,
        },
        'records rejected',
      )
    }
    this.metrics.uploadSeconds.observe({ table: table.name }, (performance.now() - t0) / 1000)
    if (file.rows.length > 0 && file.hour) await this.#sideEffects(file)
  }

  /** Catalog and IoT: best effort after the upload; failures are logged and counted, never block commits. */
  async #sideEffects(file: PendingFile): Promise<void> {
    if (this.#glue && file.hour) {
      try {
        await this.#glue.addPartitions(file.table, [file.hour])
        this.metrics.glue.inc({ outcome: 'ok' })
      } catch (error) {
        this.metrics.glue.inc({ outcome: 'error' })
        this.#log.warn({ err: error, table: file.table.name }, 'Glue partition registration failed')
      }
    }
    if (!this.#iot) return
    if (file.table.name === 'restaurant_kpis') {
      const latest = new Map<string, Row>()
      for (const row of file.rows) {
        const r = String(row.restaurant_id)
        const prev = latest.get(r)
        if (!prev || Number(row.window_end) >= Number(prev.window_end)) latest.set(r, row)
      }
      for (const row of latest.values())
        await this.#iotCall('shadow', () => (this.#iot as IotLivePush).pushKpis(row))
    } else if (file.table.name === 'alerts') {
      for (const row of file.rows)
        await this.#iotCall('publish', () => (this.#iot as IotLivePush).publishAlert(row))
    }
  }

  async #iotCall(action: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn()
      this.metrics.iot.inc({ action, outcome: 'ok' })
    } catch (error) {
      this.metrics.iot.inc({ action, outcome: 'error' })
      this.#log.warn({ err: error, action }, 'AWS IoT push failed')
    }
  }

  /** Writes the Redshift COPY manifest of order_facts (all its files, with content_length). */
  async writeManifest(): Promise<string> {
    const { prefix, bucket } = this.config.sink
    const objects = await this.target.list(tablePrefix(prefix, ORDER_FACTS.name))
    const key = manifestKey(prefix, ORDER_FACTS.name)
    const manifest = buildManifest(bucket, prefix, ORDER_FACTS.name, objects)
    await this.target.put(
      key,
      new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`),
      'application/json',
    )
    return key
  }

  /** Status for the periodic line: open buffers and pending files. */
  status(): { partitions: number; buffered: number; pending: number } {
    let buffered = 0
    let pending = 0
    for (const s of this.#parts.values()) {
      buffered += s.assembler.open?.records ?? 0
      pending += s.pending.length
    }
    return { partitions: this.#parts.size, buffered, pending }
  }

  /**
   * Graceful drain: stop fetching, close and upload the open files (except those inside a recovered
   * range, which the next owner rewrites with the same cut), commit, disconnect.
   */
  async stop(): Promise<SinkSummary> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    const consumer = this.#consumer
    if (consumer) {
      // Flush while the group is still joined: kafkajs refuses offset commits after consumer.stop().
      // Pausing first stops new batches; the batch in progress finishes inside #serial.
      consumer.pause([...this.topics().keys()].map((topic) => ({ topic })))
      await this.#serial(async () => {
        for (const state of this.#parts.values()) {
          const file = state.assembler.flush()
          if (file) state.pending.push(file)
          if (state.pending.length > 0) await this.#drain(state, async () => {})
        }
      }).catch((error: unknown) =>
        this.#log.error({ err: error }, 'drain failed; uncommitted records will be re-read'),
      )
      this.#stopping = true
      await consumer.stop()
      await consumer.disconnect()
      this.#consumer = undefined
    }
    this.#stopping = true
    if (this.config.sink.tables.includes('order_facts') && this.summary.files > 0) {
      await this.writeManifest().catch((error: unknown) =>
        this.#log.warn({ err: error }, 'manifest not written'),
      )
    }
    this.#glue?.close()
    this.#iot?.close()
    await this.target.close()
    return this.summary
  }
}

export function lastOffsetOfParquet(bytes: Uint8Array): bigint | undefined {
  try {
    const v = parquetMetadata(bytes).get(LAST_OFFSET_META)
    return v === undefined ? undefined : BigInt(v)
  } catch {
    return undefined
  }
}

export function lastOffsetOfRejected(bytes: Uint8Array): bigint | undefined {
  const text = new TextDecoder().decode(bytes).trim()
  const lastLine = text.slice(text.lastIndexOf('\n') + 1)
  try {
    const v = (JSON.parse(lastLine) as { file_last_offset?: string }).file_last_offset
    return v === undefined ? undefined : BigInt(v)
  } catch {
    return undefined
  }
}
