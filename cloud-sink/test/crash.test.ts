import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { KAFKA_TOPICS } from '@pedepronto/contracts'
import {
  createTestBucket,
  EMULATOR_CREDENTIALS,
  type TestBucket,
  type TestTopics,
  uniqueName,
} from '@pedepronto/infra'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { materializeLake, queryLake } from '../src/lake.js'
import { parseFileKey } from '../src/layout.js'
import { lastOffsetOfParquet } from '../src/sink.js'
import { S3Target } from '../src/targets.js'
import { generateEvents, idChecksum } from './support/events.js'
import { produce, sinkTopics, waitFor } from './support/kafka.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const brokers = inject('kafkaBrokers')
const endpoint = inject('awsEndpoint')
const prefix = uniqueName('crash')
const ordersTopic = `${prefix}.${KAFKA_TOPICS.orders.name}`
let topics: TestTopics
let bucket: TestBucket
const children = new Set<ChildProcess>()

beforeAll(async () => {
  topics = await sinkTopics(brokers, prefix, { orders: 3 })
  bucket = await createTestBucket(endpoint, 'pp-crash')
})

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  await topics?.cleanup()
  await bucket?.cleanup()
})

/** The built CLI when main.ts wires `sink`, else the shim with the same command. */
function sinkArgv(): string[] {
  const main = readFileSync(join(ROOT, 'cli/dist/main.js'), 'utf8')
  return main.includes('addSinkCommand')
    ? [join(ROOT, 'cli/bin/pedepronto.js'), 'sink']
    : [join(ROOT, 'cloud-sink/test/support/sink-child.mjs'), 'sink']
}

function startSink(): ChildProcess {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PEDEPRONTO_')))
  const child = spawn(
    process.execPath,
    [
      ...sinkArgv(),
      '--sink-target',
      's3',
      '--sink-bucket',
      bucket.name,
      '--sink-prefix',
      'lake',
      '--sink-group-id',
      `${prefix}-g`,
      '--sink-rotate-records',
      '40',
      '--sink-flush-interval-ms',
      '300',
      '--sink-tables',
      'order_events',
      '--sink-status-interval-ms',
      '0',
      '--sink-session-timeout-ms',
      '6000',
      '--kafka-brokers',
      brokers.join(','),
      '--kafka-topic-prefix',
      prefix,
      '--aws-endpoint',
      endpoint,
    ],
    { cwd: ROOT, env: { ...env, PEDEPRONTO_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  children.add(child)
  child.on('exit', () => children.delete(child))
  return child
}

const exited = (c: ChildProcess) =>
  new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())))

describe('exactly-once under SIGKILL', () => {
  it('leaves no missing, no duplicate rows and one object per first offset after repeated kills', async () => {
    const target = new S3Target({
      bucket: bucket.name,
      region: 'us-east-1',
      endpoint,
      credentials: EMULATOR_CREDENTIALS,
    })
    const count = async () => (await target.list('lake/order_events/')).length
    const { orders } = generateEvents(2400, { hours: 2, seed: 11 })
    const batches = [orders.slice(0, 1200), orders.slice(1200, 1800), orders.slice(1800)]
    const enc = (e: (typeof orders)[number]) => ({
      key: (e.payload as { order_id: string }).order_id,
      value: Buffer.from(JSON.stringify(e)),
    })
    let kills = 0
    for (const batch of batches) {
      await produce(brokers, ordersTopic, batch.map(enc))
      const child = startSink()
      const before = await count()
      // Kill as soon as this run has uploaded some files: mid-stream, between uploads and commits.
      await waitFor(async () => (await count()) >= before + 3, 30_000, 'uploads to begin')
      child.kill('SIGKILL')
      await exited(child)
      kills++
    }
    const final = startSink()
    let out = ''
    final.stdout?.on('data', (d) => (out += d))
    const admin = topics.admin
    await waitFor(
      async () => {
        const ends = await admin.fetchTopicOffsets(ordersTopic)
        const committed =
          (await admin.fetchOffsets({ groupId: `${prefix}-g`, topics: [ordersTopic] }))[0]?.partitions ?? []
        return ends.every((e) => committed.find((c) => c.partition === e.partition)?.offset === e.high)
      },
      60_000,
      'the group to commit every record',
    )
    final.kill('SIGTERM')
    await exited(final)
    expect(out).toMatch(/sink summary:/)
    expect(kills).toBe(3)

    const objects = (await target.list('lake/order_events/')).filter((o) => o.key.endsWith('.parquet'))
    // Per partition, the files' offset ranges are disjoint (no second copy of any record).
    const ranges = new Map<number, [bigint, bigint][]>()
    for (const o of objects) {
      const f = parseFileKey(o.key)!
      const last = lastOffsetOfParquet((await target.get(o.key))!)!
      ranges.set(f.partition, [...(ranges.get(f.partition) ?? []), [f.firstOffset, last]])
    }
    for (const list of ranges.values()) {
      list.sort((a, b) => (a[0] < b[0] ? -1 : 1))
      for (let i = 1; i < list.length; i++) expect(list[i]![0]).toBeGreaterThan(list[i - 1]![1])
    }
    const copy = await materializeLake(target, 'lake')
    try {
      const r = await queryLake(copy.dir, 'SELECT event_id FROM order_events')
      expect(r.rows.length).toBe(orders.length)
      expect(idChecksum(r.rows.map((x) => String(x[0])))).toBe(idChecksum(orders.map((e) => e.event_id)))
    } finally {
      copy.cleanup()
      await target.close()
    }
  }, 150_000)
})
