import { silentLogger } from '@pedepronto/common'
import { uniqueName } from '@pedepronto/infra'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { EdgeProcessor } from '../../src/index.js'
import {
  collect,
  counts,
  createInputTopics,
  deletePrefixed,
  diff,
  expected,
  faultyStream,
  kafkaFor,
  produce,
  reached,
  testConfig,
} from './harness.js'

describe('two instances in one group', () => {
  const brokers = inject('kafkaBrokers')
  const prefix = uniqueName('t-scale')
  const kafka = kafkaFor(brokers)
  const admin = kafka.admin()
  const events = faultyStream(101)
  const ref = expected(events)
  const running: EdgeProcessor[] = []

  beforeAll(async () => {
    await admin.connect()
    await createInputTopics(admin, prefix)
  })
  afterAll(async () => {
    for (const p of running) await p.stop().catch(() => undefined)
    await deletePrefixed(admin, prefix)
    await admin.disconnect()
  })

  it('split the partitions and together produce exactly what one instance produces', async () => {
    const config = testConfig(brokers, prefix, `${prefix}-g`)
    const half = Math.floor(events.length / 2)
    const a = new EdgeProcessor(config, { logger: silentLogger() })
    running.push(a)
    await a.start()
    await produce(kafka, prefix, events.slice(0, half))
    // The second instance joins mid-stream: a rebalance moves partitions (and their state, by replay).
    const b = new EdgeProcessor(config, { logger: silentLogger() })
    running.push(b)
    await b.start()
    await produce(kafka, prefix, events.slice(half))
    const got = await collect(kafka, prefix, reached(ref), 90_000)
    const problems = diff(got, ref)
    if (problems.length > 0) console.error(problems.slice(0, 40).join('\n'))
    expect(problems).toEqual([])
    const sa = a.stats()
    const sb = b.stats()
    expect(sa.eventsIn).toBeGreaterThan(0)
    expect(sb.eventsIn).toBeGreaterThan(0)
    console.error(
      `scale test: ${JSON.stringify(counts(ref))}; A in=${sa.eventsIn} replayed=${sa.replayed}, B in=${sb.eventsIn} replayed=${sb.replayed}`,
    )
  }, 170_000)
})
