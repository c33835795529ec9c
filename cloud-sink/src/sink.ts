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
 *
 * Uploads are pipelined with consumption (issue #6: the serial loop left the main thread half idle
 * waiting for S3): a closed file is encoded and uploaded in the background by its partition's
 * UploadPipeline (pipeline.ts), which commits in offset order; the batch handler only waits when
 * UPLOADS_IN_FLIGHT files of its partition are outstanding (back-pressure). Every partition state
 * carries the epoch of the assignment it was created in; a rebalance or a failed upload retires the
 * state, after which its uploads can neither commit nor start another write, and the next state of
 * that partition lists the lake only once they have settled, so it recovers their cuts.
 */
import { ExitCode, type Logger, PedeProntoError, silentLogger } from '@pedepronto/common'
import { KAFKA_TOPICS, type KafkaTopicName, topicName } from '@pedepronto/contracts'
import { type Consumer, type EachBatchPayload, Kafka, logLevel } from 'kafkajs'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { FileAssembler, type OffsetRange, type PendingFile } from './assembler.js'
import type { SinkConfig } from './config.js'
import { createEncoder, type ParquetEncoder } from './encoder.js'
import { SinkError } from './errors.js'
import { GlueCatalog } from './glue.js'
import { IotLivePush } from './iot.js'
import { dataKey, parseFileKey, rejectedKey, rejectedPrefix, tablePrefix } from './layout.js'
import { arrowIpc, parquetMetadata } from './parquet.js'
import { type RetryPolicy, UploadPipeline } from './pipeline.js'
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

/**
 * Files of one partition that may upload at once; the batch handler waits while this many are
 * outstanding. Two keep S3 busy while the next file fills (sink bench) and bound the memory to about
 * two files per partition beyond the open one. Not a config field: the README's configuration table
 * is generated from the schema.
 */
export const UPLOADS_IN_FLIGHT = 2

/** Six attempts with doubling waits (0.4 s … 6.4 s), as the serial sink had. */
export const UPLOAD_RETRY: RetryPolicy = { attempts: 6, delayMs: (attempt: number) => 200 * 2 ** attempt }

interface PartitionState {
  readonly id: string
  readonly topic: string
  readonly partition: number
  /** The assignment this state belongs to (CloudSink.#epoch when it was created). */
  readonly epoch: number
  /** First offset this state was given: where to re-read from when nothing was committable yet. */
  readonly startOffset: bigint
  assembler: FileAssembler
  pipeline: UploadPipeline<PendingFile>
  /** Next offset to add: redelivered records below it are already buffered. */
  nextOffset: bigint
  highWatermark: bigint
  retired: boolean
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
  /** Where the Parquet writer runs (encoder.ts); default a worker thread when built, else inline. */
  encoder?: ParquetEncoder | 'worker' | 'inline'
  /** Upload retries (tests shorten the waits); default UPLOAD_RETRY. */
  uploadRetry?: RetryPolicy
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
  readonly encoder: ParquetEncoder
  readonly metrics: SinkMetrics
  readonly #uploadRetry: RetryPolicy
  readonly #log: Logger
  readonly #tables: Map<string, TableDef> = new Map()
  readonly #parts = new Map<string, PartitionState>()
  #orphans = new Map<string, Promise<LakeObject[]>>()
  #consumer: Consumer | undefined
  #glue: GlueCatalog | undefined
  #iot: IotLivePush | undefined
  #timer: NodeJS.Timeout | undefined
  #chain: Promise<unknown> = Promise.resolve()
  /** Bumped on every rebalance: states of an older epoch may not commit. */
  #epoch = 0
  /** Uploads of retired states still running; the lake is listed for recovery only after them. */
  readonly #settling = new Set<Promise<void>>()
  #joined = false
  #stopping = false
  #read = 0
  readonly summary: SinkSummary = { files: 0, rows: 0, rejected: 0, bytes: 0, committed: {} }

  constructor(config: SinkConfig, deps: CloudSinkDeps) {
    this.config = config
    this.#log = deps.logger ?? silentLogger()
    this.metrics = createMetrics(deps.registry)
    this.#uploadRetry = deps.uploadRetry ?? UPLOAD_RETRY
    this.encoder = typeof deps.encoder === 'object' ? deps.encoder : createEncoder(deps.encoder ?? 'worker')
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
    // Retire before the rejoin already: kafkajs emits REBALANCING just before it re-joins, and a
    // revoked partition's background uploads must stop committing and starting writes from then on.
    consumer.on(consumer.events.REBALANCING, () => this.#retireAll())
    consumer.on(consumer.events.GROUP_JOIN, () => {
      // kafkajs resumes every assigned partition from its committed offset after a join, so buffered
      // (uncommitted) records would be delivered again: drop them and re-run recovery.
      this.#retireAll()
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
      eachBatch: (payload) => this.#onBatch(payload),
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

  /** One thing at a time: adding batches, idle flushes and the stop's flush never interleave on the buffers. */
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
    const pipeline = new UploadPipeline<PendingFile>({
      maxInFlight: UPLOADS_IN_FLIGHT,
      retry: this.#uploadRetry,
      upload: (file) => this.#upload(file),
      uploaded: (file) => this.#sideEffects(file),
      // Called only after this function returned, once a file is uploaded: `state` is set by then.
      commit: (offset) => this.#commit(state, offset),
      onRetry: (file, attempt, error) =>
        this.#log.warn(
          { err: error, attempt, topic, partition, first: String(file.firstOffset) },
          'upload failed; retrying',
        ),
      onCommitError: (offset, error) =>
        this.#log.warn(
          { err: error, topic, partition, offset: String(offset) },
          'offset commit failed; the next commit covers it',
        ),
    })
    const state: PartitionState = {
      id,
      topic,
      partition,
      epoch: this.#epoch,
      startOffset: firstOffset,
      assembler: new FileAssembler(
        table,
        topic,
        partition,
        { records: sink.rotateRecords, bytes: sink.rotateBytes, spanMs: sink.rotateSpanMs },
        recovered,
      ),
      pipeline,
      nextOffset: firstOffset,
      highWatermark: firstOffset,
      retired: false,
    }
    this.#parts.set(id, state)
    return state
  }

  /** Whether `state` still owns its partition: created in this assignment and not retired. */
  #current(state: PartitionState): boolean {
    return !state.retired && state.epoch === this.#epoch && this.#parts.get(state.id) === state
  }

  /** Retires every state: their uploads may finish but never commit (rebalance, graceful stop). */
  #retireAll(): void {
    this.#epoch++
    for (const state of [...this.#parts.values()]) this.#retire(state)
  }

  #retire(state: PartitionState): void {
    state.retired = true
    if (this.#parts.get(state.id) === state) this.#parts.delete(state.id)
    const settled = state.pipeline.retire()
    this.#settling.add(settled)
    void settled.then(() => this.#settling.delete(settled))
  }

  /**
   * A partition whose upload failed for good: retire its state and re-read from the furthest offset
   * that is safe (everything before it uploaded); the next state lists the lake again once the old
   * uploads have settled and so rewrites the objects they left with the same cuts.
   */
  #reset(state: PartitionState, error: unknown): void {
    const from = state.pipeline.committable ?? state.startOffset
    this.#log.error(
      { err: error, topic: state.topic, partition: state.partition, from: String(from) },
      'upload failed after retries; re-reading the partition from its last safe offset',
    )
    this.#retire(state)
    this.#orphans.delete((this.#tables.get(state.topic) as TableDef).name)
    this.#consumer?.seek({ topic: state.topic, partition: state.partition, offset: from.toString() })
  }

  async #commit(state: PartitionState, offset: bigint): Promise<void> {
    if (!this.#consumer || !this.#current(state)) return
    const { topic, partition } = state
    await this.#consumer.commitOffsets([{ topic, partition, offset: offset.toString() }])
    this.summary.committed[`${topic}:${partition}`] = offset.toString()
    const lag = state.highWatermark - offset
    this.metrics.lag.set({ topic, partition: String(partition) }, Number(lag < 0n ? 0n : lag))
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
    // Uploads of a retired state of this partition may still land: list only after them.
    while (this.#settling.size > 0) await Promise.all([...this.#settling])
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
    if (batch.messages.length === 0 || isStale()) return
    const state = await this.#serial(() => this.#add(batch, isRunning, isStale))
    if (!state) return
    try {
      await this.#whileHeartbeating(state.pipeline.room(), heartbeat)
    } catch (error) {
      if (state.pipeline.failure && this.#current(state)) this.#reset(state, error)
      else throw error
      return
    }
    try {
      // Normally kafkajs' own heartbeat after this handler is the one that sees a rebalance; seeing
      // it here lets the uploads in flight land before the group re-assigns the partition, so its
      // next owner lists them (the serial sink had them all done by the time it returned).
      await heartbeat()
    } catch (error) {
      await this.#uploadsSettled()
      throw error
    }
  }

  /** Adds a batch's records and submits the files they close; undefined when the batch is skipped. */
  async #add(
    batch: EachBatchPayload['batch'],
    isRunning: () => boolean,
    isStale: () => boolean,
  ): Promise<PartitionState | undefined> {
    const first = BigInt(batch.firstOffset() ?? batch.messages[0]?.offset ?? '0')
    const state = await this.#state(batch.topic, batch.partition, first)
    const failure = state.pipeline.failure
    if (failure) {
      this.#reset(state, failure.error)
      return undefined
    }
    state.highWatermark = BigInt(batch.highWatermark)
    const { messages } = batch
    for (let i = 0; i < messages.length; i++) {
      // isStale() builds a key string per call (kafkajs seekOffsets): asked every 256 records only.
      if ((i & 255) === 0 && (!isRunning() || isStale())) break
      const message = messages[i] as (typeof messages)[number]
      const offset = BigInt(message.offset)
      if (offset < state.nextOffset) continue
      for (const file of state.assembler.add({
        offset: message.offset,
        key: message.key,
        value: message.value,
      }))
        state.pipeline.submit(file)
      state.nextOffset = offset + 1n
      this.#read++
    }
    if (state.assembler.idle(this.config.sink.flushIntervalMs)) {
      const file = state.assembler.flush()
      if (file) state.pipeline.submit(file)
    }
    return state
  }

  async #flushIdle(): Promise<void> {
    for (const state of this.#parts.values()) {
      if (state.pipeline.failure) continue
      if (state.assembler.idle(this.config.sink.flushIntervalMs)) {
        const file = state.assembler.flush()
        if (file) state.pipeline.submit(file)
      }
    }
  }

  /** Awaits `work`, heartbeating meanwhile so that a slow upload does not cost the group membership. */
  async #whileHeartbeating<T>(work: Promise<T>, heartbeat: () => Promise<void>): Promise<T> {
    const timer = setInterval(() => void heartbeat().catch(() => undefined), 1_000)
    try {
      return await work
    } finally {
      clearInterval(timer)
    }
  }

  /** Resolves once no upload of any current state runs or waits (their commits may still follow). */
  async #uploadsSettled(): Promise<void> {
    await Promise.all([...this.#parts.values()].map((s) => s.pipeline.uploadsSettled()))
  }

  /** Encode and upload one file (one attempt; the pipeline retries). */
  async #upload(file: PendingFile): Promise<void> {
    const { prefix, compression } = this.config.sink
    const table = file.table
    const t0 = performance.now()
    if (file.data.length > 0 && file.hour) {
      const meta = new Map([
        [LAST_OFFSET_META, file.lastOffset.toString()],
        ['pedepronto.kafka.topic', file.topic],
        ['pedepronto.kafka.partition', String(file.partition)],
        ['pedepronto.kafka.first_offset', file.firstOffset.toString()],
      ])
      const bytes = await this.encoder.encode(arrowIpc(table.columns, file.data, meta), compression)
      await this.target.put(
        dataKey(prefix, table.name, file.hour, file.topic, file.partition, file.firstOffset),
        bytes,
        'application/vnd.apache.parquet',
      )
      this.metrics.files.inc({ table: table.name, kind: 'parquet' })
      this.metrics.bytes.inc({ table: table.name }, bytes.length)
      this.metrics.records.inc({ table: table.name }, file.data.length)
      this.summary.files++
      this.summary.rows += file.data.length
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
  }

  /** Catalog and IoT: best effort after the upload; failures are logged and counted, never block commits. */
  async #sideEffects(file: PendingFile): Promise<void> {
    if (file.data.length === 0 || !file.hour) return
    if (this.#glue) {
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
      for (const row of file.data.toRows()) {
        const r = String(row.restaurant_id)
        const prev = latest.get(r)
        if (!prev || Number(row.window_end) >= Number(prev.window_end)) latest.set(r, row)
      }
      for (const row of latest.values())
        await this.#iotCall('shadow', () => (this.#iot as IotLivePush).pushKpis(row))
    } else if (file.table.name === 'alerts') {
      for (const row of file.data.toRows())
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

  /**
   * Status for the periodic line: open buffers, files not committed yet, and records read so far
   * (each delivery counted, so re-reads after a rebalance count again).
   */
  status(): { partitions: number; buffered: number; pending: number; read: number } {
    let buffered = 0
    let pending = 0
    for (const s of this.#parts.values()) {
      buffered += s.assembler.open?.records ?? 0
      pending += s.pipeline.outstanding
    }
    return { partitions: this.#parts.size, buffered, pending, read: this.#read }
  }

  /**
   * Closes every open file now (except those inside a recovered range, which the next owner rewrites
   * with the same cut) and resolves once all files are uploaded and their offsets committed: the end
   * of a stream, without waiting for the idle flush. Rejects with the first failure.
   */
  async flush(): Promise<void> {
    await this.#serial(async () => {
      for (const state of this.#parts.values()) {
        if (state.pipeline.failure) continue
        const file = state.assembler.flush()
        if (file) state.pipeline.submit(file)
      }
    })
    const drained = await Promise.allSettled([...this.#parts.values()].map((s) => s.pipeline.drain()))
    const failed = drained.find((r) => r.status === 'rejected')
    if (failed) throw failed.reason
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
      await this.flush().catch((error: unknown) =>
        this.#log.error({ err: error }, 'drain failed; uncommitted records will be re-read'),
      )
      this.#stopping = true
      this.#retireAll()
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
    await this.encoder.close()
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
