/**
 * `pedepronto bench sink`: the cloud sink into Parquet on (moto) S3 — events/s end to end (Kafka →
 * Parquet → S3, offsets committed), bytes per event against JSON lines of the same events (the
 * neutral baseline), file sizes against the configured rotation target, and the Parquet writer
 * choice (parquet-wasm zstd / snappy against DuckDB `COPY … TO`).
 *
 * The clock runs from `start()` until every event is in a Parquet object and its offset committed.
 * The stream's end is flushed explicitly (`sink.flush()`, once the sink has read every event), as a
 * finite input's end is: waiting for the idle flush instead measured the flush timer, not the sink —
 * the last file of each partition opens at the second event hour, midway, and closes only at
 * flushIntervalMs (1 s) of age plus a timer tick, which capped this figure near 55,000 events/s
 * whatever the sink's speed (issue #6). `read_all_s` and `end_flush_s` split the time.
 */
import { benchWriters, CloudSink, generateEvents, S3Target, SinkConfigSchema } from '@pedepronto/cloud-sink'
import {
  type BenchDefinition,
  type BenchFigure,
  createRegistry,
  loadConfig,
  median,
  round,
} from '@pedepronto/common'
import { KAFKA_TOPICS } from '@pedepronto/contracts'
import {
  createTestBucket,
  createTestTopics,
  EMULATOR_CREDENTIALS,
  loadServices,
  type ServiceName,
  servicesDown,
  servicesUp,
  uniqueName,
} from '@pedepronto/infra'
import { Kafka, logLevel } from 'kafkajs'

/**
 * Generates and produces the events and runs the writer comparison. A function of its own so that the
 * events and their encodings are garbage before the sink runs: left live, the bench's own ~100k
 * objects made the sink's major GCs several times longer than in a sink process.
 */
async function prepare(
  brokers: string[],
  topic: string,
  n: number,
  quick: boolean,
): Promise<{ events: number; jsonlBytes: number; writer: BenchFigure[] }> {
  const { orders } = generateEvents(n, { hours: 2, seed: 3 })
  const values = orders.map((e) => Buffer.from(JSON.stringify(e)))
  const jsonlBytes = values.reduce((s, v) => s + v.length + 1, 0)
  const writer = await benchWriters(values.slice(0, quick ? 10_000 : 50_000), quick ? 2 : 5)
  const kafka = new Kafka({ brokers, clientId: 'bench-sink', logLevel: logLevel.NOTHING })
  const producer = kafka.producer()
  await producer.connect()
  try {
    for (let i = 0; i < orders.length; i += 2_000) {
      await producer.send({
        topic,
        acks: -1,
        messages: orders.slice(i, i + 2_000).map((e, j) => ({
          key: (e.payload as { order_id: string }).order_id,
          value: values[i + j] as Buffer,
        })),
      })
    }
  } finally {
    await producer.disconnect()
  }
  return { events: orders.length, jsonlBytes, writer }
}

export const sinkBench: BenchDefinition = {
  name: 'sink',
  description:
    'cloud sink: events/s into Parquet on (moto) S3, bytes/event vs JSON lines, file sizes vs target',
  async run({ quick, log }) {
    const services = loadServices()
    const up = await servicesUp(services, ['kafka', 'moto'])
    const started = up.filter((u) => u.action === 'started').map((u) => u.service as ServiceName)
    // Full: ~4 s of steady state (at 100,000 the run lasted ~1 s and its figure moved by 25 % between runs).
    const n = quick ? 20_000 : 400_000
    const rotateRecords = quick ? 5_000 : 20_000
    const prefix = uniqueName('bench-sink')
    const topic = `${prefix}.${KAFKA_TOPICS.orders.name}`
    const topics = await createTestTopics(services.kafkaBrokers, [{ name: topic, partitions: 3 }])
    const bucket = await createTestBucket(services.awsEndpoint, 'pp-bench-sink')
    try {
      const { events, jsonlBytes, writer } = await prepare(services.kafkaBrokers, topic, n, quick)
      const config = loadConfig('sink', SinkConfigSchema, {
        env: {},
        flags: {
          'sink.target': 's3',
          'sink.bucket': bucket.name,
          'sink.prefix': 'lake',
          'sink.groupId': `${prefix}-g`,
          'sink.tables': ['order_events'],
          'sink.rotateRecords': rotateRecords,
          'sink.flushIntervalMs': 1_000,
          'sink.statusIntervalMs': 0,
          'kafka.brokers': services.kafkaBrokers,
          'kafka.topicPrefix': prefix,
          'aws.endpoint': services.awsEndpoint,
        },
      })
      const sink = new CloudSink(config, { registry: createRegistry('bench-sink') })
      const t0 = performance.now()
      const deadline = t0 + (quick ? 60_000 : 300_000)
      await sink.start()
      // Polled at 5 ms: at ~1 s per run a coarser poll would be a visible part of the figure.
      while (sink.status().read < events && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 5))
      const readAll = (performance.now() - t0) / 1000
      await sink.flush()
      while (sink.summary.rows < events && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 5))
      const seconds = (performance.now() - t0) / 1000
      const summary = await sink.stop()
      const target = new S3Target({
        bucket: bucket.name,
        region: config.aws.region,
        endpoint: services.awsEndpoint,
        credentials: EMULATOR_CREDENTIALS,
      })
      const files = (await target.list('lake/order_events/')).filter((o) => o.key.endsWith('.parquet'))
      await target.close()
      const sizes = files.map((f) => f.size)
      const parquetPerEvent = summary.bytes / Math.max(1, summary.rows)
      const jsonPerEvent = jsonlBytes / events
      log.info({ rows: summary.rows, files: files.length, seconds }, 'sink bench run')
      return {
        figures: [
          {
            name: 'events_per_s_kafka_to_s3_parquet',
            value: round(summary.rows / seconds, 0),
            unit: 'events/s',
          },
          { name: 'events', value: summary.rows, unit: 'events' },
          { name: 'read_all_s', value: round(readAll, 3), unit: 's' },
          { name: 'end_flush_s', value: round(seconds - readAll, 3), unit: 's' },
          { name: 'parquet_bytes_per_event', value: round(parquetPerEvent, 1), unit: 'B' },
          { name: 'jsonl_bytes_per_event', value: round(jsonPerEvent, 1), unit: 'B' },
          { name: 'files', value: files.length, unit: 'files' },
          { name: 'file_size_median', value: round(median(sizes) / 1024, 1), unit: 'KiB' },
          {
            name: 'records_per_file_vs_target',
            value: round(summary.rows / files.length / rotateRecords, 3),
            unit: '×',
          },
          ...writer,
        ],
        baseline: { name: 'JSON lines of the same events', bytes_per_event: round(jsonPerEvent, 1) },
        ratio: round(parquetPerEvent / jsonPerEvent, 3),
      }
    } finally {
      await topics.cleanup()
      await bucket.cleanup()
      if (started.length > 0) await servicesDown(services, started)
    }
  },
}
