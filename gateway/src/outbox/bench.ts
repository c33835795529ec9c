/**
 * `pedepronto bench outbox`: appends/s and append latency of the durable outbox with fsync on,
 * 64 concurrent appenders of one ~300-byte record each (the shape of MQTT publishes arriving while
 * Kafka is down), so group commit is what is measured. A single appender on the same disk is the
 * neutral baseline: one fsync per record.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Outbox } from './outbox.js'
import type { OutboxRecord } from './record.js'

export interface OutboxBenchFigure {
  name: string
  value: number
  unit: string
}

interface Run {
  appends: number
  seconds: number
  latenciesMs: number[]
  commits: number
}

function record(i: number): OutboxRecord {
  // ~300 bytes framed: a JSON envelope-sized value plus a key and two headers, as the gateway sends.
  const value = Buffer.alloc(220, 0x61)
  value.write(`{"eventId":"${i.toString(16).padStart(26, '0')}"`, 0, 'utf8')
  return {
    topic: 'pedepronto.orders.v1',
    key: `order-${i % 1000}`,
    value,
    headers: { 'content-type': 'application/json', 'x-gateway': 'gw-1' },
    timestamp: 1_700_000_000_000 + i,
  }
}

async function run(appenders: number, seconds: number): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), 'pedepronto-outbox-bench-'))
  const outbox = await Outbox.open({ dir, maxBytes: 256 * 1024 * 1024, segmentBytes: 16 * 1024 * 1024 })
  const latenciesMs: number[] = []
  let appends = 0
  let stop = false
  const deadline = performance.now() + seconds * 1000
  // A drainer that acknowledges everything committed, as if Kafka were up, so the outbox stays small.
  const drainer = (async () => {
    while (!stop) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      const last = outbox.peek(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER).at(-1)
      if (last !== undefined) await outbox.ack(last.id)
    }
  })()
  const started = performance.now()
  const workers = Array.from({ length: appenders }, async (_, w) => {
    let i = w
    while (performance.now() < deadline) {
      const t0 = performance.now()
      await outbox.append([record(i)])
      latenciesMs.push(performance.now() - t0)
      appends++
      i += appenders
    }
  })
  await Promise.all(workers)
  const elapsed = (performance.now() - started) / 1000
  stop = true
  await drainer
  const { commits } = outbox.stats()
  await outbox.close()
  await rm(dir, { recursive: true, force: true })
  return { appends, seconds: elapsed, latenciesMs, commits }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

export async function benchOutbox(opts: { quick: boolean }): Promise<OutboxBenchFigure[]> {
  const seconds = opts.quick ? 3 : 15
  const grouped = await run(64, seconds)
  const single = await run(1, opts.quick ? 2 : 5)
  const sorted = grouped.latenciesMs.sort((a, b) => a - b)
  const singleSorted = single.latenciesMs.sort((a, b) => a - b)
  const round = (n: number): number => Math.round(n * 1000) / 1000
  return [
    { name: 'outbox_appends_per_s', value: Math.round(grouped.appends / grouped.seconds), unit: 'records/s' },
    { name: 'outbox_append_p50_ms', value: round(percentile(sorted, 50)), unit: 'ms' },
    { name: 'outbox_append_p99_ms', value: round(percentile(sorted, 99)), unit: 'ms' },
    { name: 'outbox_records_per_fsync', value: round(grouped.appends / grouped.commits), unit: 'records' },
    {
      name: 'outbox_appends_per_s_single_appender',
      value: Math.round(single.appends / single.seconds),
      unit: 'records/s',
    },
    { name: 'outbox_append_p50_ms_single_appender', value: round(percentile(singleSorted, 50)), unit: 'ms' },
  ]
}
