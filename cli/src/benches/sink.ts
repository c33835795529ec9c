/**
 * `pedepronto bench sink`: the cloud sink into Parquet on (moto) S3 — events/s end to end (Kafka →
 * Parquet → S3, offsets committed), bytes per event against JSON lines of the same events (the
 * neutral baseline), file sizes against the configured rotation target, and the Parquet writer
 * choice (parquet-wasm zstd / snappy against DuckDB `COPY … TO`).
 */
import { benchWriters, CloudSink, generateEvents, S3Target, SinkConfigSchema } from '@pedepronto/cloud-sink'
import { type BenchDefinition, createRegistry, loadConfig, median, round } from '@pedepronto/common'
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

export const sinkBench: BenchDefinition = {
  name: 'sink',
  description:
    'cloud sink: events/s into Parquet on (moto) S3, bytes/event vs JSON lines, file sizes vs target',
  async run({ quick, log }) {
    const services = loadServices()
    const up = await servicesUp(services, ['kafka', 'moto'])
    const started = up.filter((u) => u.action === 'started').map((u) => u.service as ServiceName)
    const n = quick ? 20_000 : 100_000
    const rotateRecords = quick ? 5_000 : 20_000
    const prefix = uniqueName('bench-sink')
    const topic = `${prefix}.${KAFKA_TOPICS.orders.name}`
    const topics = await createTestTopics(services.kafkaBrokers, [{ name: topic, partitions: 3 }])
    const bucket = await createTestBucket(services.awsEndpoint, 'pp-bench-sink')
    try {
      const { orders } = generateEvents(n, { hours: 2, seed: 3 })
      const values = orders.map((e) => Buffer.from(JSON.stringify(e)))
      const jsonlBytes = values.reduce((s, v) => s + v.length + 1, 0)
      const writer = await benchWriters(values.slice(0, quick ? 10_000 : 50_000), quick ? 2 : 5)
      const kafka = new Kafka({
        brokers: services.kafkaBrokers,
        clientId: 'bench-sink',
        logLevel: logLevel.NOTHING,
      })
      const producer = kafka.producer()
      await producer.connect()
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
      await producer.disconnect()
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
      await sink.start()
      while (sink.summary.rows < orders.length && performance.now() - t0 < (quick ? 60_000 : 300_000))
        await new Promise((r) => setTimeout(r, 100))
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
      const jsonPerEvent = jsonlBytes / orders.length
      log.info({ rows: summary.rows, files: files.length, seconds }, 'sink bench run')
      return {
        figures: [
          {
            name: 'events_per_s_kafka_to_s3_parquet',
            value: round(summary.rows / seconds, 0),
            unit: 'events/s',
          },
          { name: 'events', value: summary.rows, unit: 'events' },
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
