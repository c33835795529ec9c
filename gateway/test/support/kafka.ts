/**
 * Reading back what the gateway wrote: every record of a topic, from the beginning to the current
 * end, with kcat (`-e` exits once every partition is at its end), counted by event id.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { KAFKA_TOPICS, topicName } from '@pedepronto/contracts'
import type { ScratchKafka } from '@pedepronto/infra'

/** The topics the gateway writes ingested events to (telemetry and orders) under a prefix. */
export function eventTopics(prefix: string): string[] {
  return [topicName(KAFKA_TOPICS.telemetry.name, prefix), topicName(KAFKA_TOPICS.orders.name, prefix)]
}

export function deadLetterTopic(prefix: string): string {
  return topicName(KAFKA_TOPICS.deadLetter.name, prefix)
}

export interface TopicRead {
  records: number
  /** event id → how many records carry it. */
  ids: Map<string, number>
  /** dead-letter reasons → count (dead-letter topics only). */
  reasons: Map<string, number>
}

const EVENT_ID = /"event_id":"([0-9a-f-]{36})"/
const REASON = /"reason":"([a-z_]+)"/

/** Every line kcat prints for `topic` with `format`, from the beginning to the current end. */
async function kcatLines(
  brokers: string[],
  topic: string,
  format: string,
  timeoutMs: number,
): Promise<string[]> {
  const child = spawn(
    'kcat',
    ['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-q', '-f', format],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const out: string[] = []
  for await (const line of createInterface({ input: child.stdout })) if (line.length > 0) out.push(line)
  const code = await new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode)
    else child.once('exit', (c) => resolve(c))
  })
  clearTimeout(timer)
  if (code !== 0) throw new Error(`kcat reading ${topic} exited with ${code}: ${stderr.trim()}`)
  return out
}

/** Reads `topics` completely. One JSON value per line: the gateway's records contain no newline. */
export async function readTopics(
  brokers: string[],
  topics: string[],
  timeoutMs = 60_000,
): Promise<TopicRead> {
  const out: TopicRead = { records: 0, ids: new Map(), reasons: new Map() }
  for (const topic of topics) {
    for (const line of await kcatLines(brokers, topic, '%s\n', timeoutMs)) {
      out.records++
      const id = EVENT_ID.exec(line)?.[1]
      if (id) out.ids.set(id, (out.ids.get(id) ?? 0) + 1)
      const reason = REASON.exec(line)?.[1]
      if (reason && !id) out.reasons.set(reason, (out.reasons.get(reason) ?? 0) + 1)
    }
  }
  return out
}

export interface KafkaRecord {
  topic: string
  key: string
  /** kcat's `%h`: `name=value` pairs, comma-separated. */
  headers: string
  value: string
}

/**
 * Every record of `topics` with key, headers and value. The gateway's keys, headers and JSON values
 * hold no tab or newline (JSON escapes them), so one tab-separated line is one record.
 */
export async function readRecords(
  brokers: string[],
  topics: string[],
  timeoutMs = 60_000,
): Promise<KafkaRecord[]> {
  const out: KafkaRecord[] = []
  for (const topic of topics) {
    for (const line of await kcatLines(brokers, topic, '%k\t%h\t%s\n', timeoutMs)) {
      const [key = '', headers = '', ...value] = line.split('\t')
      out.push({ topic, key, headers, value: value.join('\t') })
    }
  }
  return out
}

export interface Reconciliation {
  acknowledged: number
  missing: string[]
  /** Acknowledged ids found more than once, and the extra copies. */
  duplicatedIds: number
  extraCopies: number
  /** Records whose id was never acknowledged (possible: durable, but the PUBACK was lost). */
  unacknowledgedPresent: number
}

export function reconcile(acked: Iterable<string>, read: TopicRead): Reconciliation {
  const missing: string[] = []
  let acknowledged = 0
  let duplicatedIds = 0
  let extraCopies = 0
  const ackedSet = new Set(acked)
  for (const id of ackedSet) {
    acknowledged++
    const n = read.ids.get(id) ?? 0
    if (n === 0) missing.push(id)
    if (n > 1) {
      duplicatedIds++
      extraCopies += n - 1
    }
  }
  let unacknowledgedPresent = 0
  for (const id of read.ids.keys()) if (!ackedSet.has(id)) unacknowledgedPresent++
  return { acknowledged, missing, duplicatedIds, extraCopies, unacknowledgedPresent }
}

/** A failure message listing what is missing (the first 20 ids). */
export function missingMessage(r: Reconciliation): string {
  return `${r.missing.length} of ${r.acknowledged} acknowledged events are not in Kafka: ${r.missing.slice(0, 20).join(', ')}${r.missing.length > 20 ? ', …' : ''}`
}

/**
 * Restarts a SIGKILLed scratch broker. The testkit's readiness round trip (create a topic, wait
 * for its leader) can fail once right after a crash recovery with UNKNOWN_TOPIC_OR_PARTITION while
 * the broker loads its metadata; it is retried here rather than failing the fault test.
 */
export async function restartKafka(kafka: ScratchKafka, attempts = 3): Promise<void> {
  await kafka.broker.start()
  for (let i = 1; ; i++) {
    try {
      await kafka.broker.waitReady()
      return
    } catch (error) {
      if (i >= attempts) throw error
    }
  }
}
