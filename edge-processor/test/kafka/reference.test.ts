import { silentLogger } from '@pedepronto/common'
import { validateCommand } from '@pedepronto/contracts'
import { uniqueName } from '@pedepronto/infra'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  AlertSchema,
  EdgeProcessor,
  LateEventSchema,
  OrderFactSchema,
  RestaurantKpiSchema,
} from '../../src/index.js'
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

describe('edge processor over Kafka equals the reference', () => {
  const brokers = inject('kafkaBrokers')
  const prefix = uniqueName('t-proc')
  const kafka = kafkaFor(brokers)
  const admin = kafka.admin()
  const events = faultyStream(101)
  const ref = expected(events)

  beforeAll(async () => {
    await admin.connect()
    await createInputTopics(admin, prefix)
  })
  afterAll(async () => {
    await deletePrefixed(admin, prefix)
    await admin.disconnect()
  })

  it('facts, KPIs, alerts, late events and commands equal the reference (read_committed)', async () => {
    const n = counts(ref)
    expect(n.facts).toBeGreaterThan(100)
    expect(n.kpis).toBeGreaterThan(20)
    expect(n.late).toBeGreaterThan(0)
    const kinds = new Set([...ref.alerts.values()].map((a) => a.kind))
    for (const k of ['illegal_transition', 'unknown_order', 'device_offline', 'sensor_out_of_range'])
      expect(kinds, k).toContain(k)
    await produce(kafka, prefix, events)
    const processor = new EdgeProcessor(testConfig(brokers, prefix, `${prefix}-g`), {
      logger: silentLogger(),
    })
    const t0 = Date.now()
    await processor.start()
    try {
      const got = await collect(kafka, prefix, reached(ref), 90_000)
      const problems = diff(got, ref)
      if (problems.length > 0) console.error(problems.slice(0, 40).join('\n'))
      expect(problems.length).toBe(0)
      const validators = [
        [OrderFactSchema, got.facts],
        [RestaurantKpiSchema, got.kpis],
        [AlertSchema, got.alerts],
        [LateEventSchema, got.late],
      ] as const
      for (const [schema, records] of validators) {
        const check = TypeCompiler.Compile(schema)
        for (const r of records) expect(check.Check(r), JSON.stringify(r)).toBe(true)
      }
      for (const c of got.commands) expect(validateCommand(c).ok).toBe(true)
      console.error(
        `reference test: ${events.length} events, ${JSON.stringify(n)}, ${Date.now() - t0} ms, stats ${JSON.stringify(processor.stats())}`,
      )
    } finally {
      await processor.stop()
    }
  }, 150_000)
})
