import { uniqueName } from '@pedepronto/infra'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
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
import { ProcessorProcess } from './processes.js'

describe('SIGKILL mid-stream', () => {
  const brokers = inject('kafkaBrokers')
  const prefix = uniqueName('t-kill')
  const kafka = kafkaFor(brokers)
  const admin = kafka.admin()
  const events = faultyStream(202)
  const ref = expected(events)
  let proc: ProcessorProcess | undefined

  beforeAll(async () => {
    await admin.connect()
    await createInputTopics(admin, prefix)
  })
  afterAll(async () => {
    await proc?.kill('SIGKILL')
    await deletePrefixed(admin, prefix)
    await admin.disconnect()
  })

  it('outputs still equal the reference after three crashes: none missing, none twice', async () => {
    const config = testConfig(brokers, prefix, `${prefix}-g`)
    const t0 = Date.now()
    const parts = 4
    const size = Math.ceil(events.length / parts)
    proc = new ProcessorProcess(config)
    await proc.start()
    for (let i = 0; i < parts; i++) {
      await produce(kafka, prefix, events.slice(i * size, (i + 1) * size))
      // Crash it while it is still working through the part (it replays, then processes ~1300
      // events in about a second), then start a new one.
      await new Promise((r) => setTimeout(r, [400, 150, 700, 1_500][i]))
      if (i < parts - 1) {
        await proc.kill('SIGKILL')
        proc = new ProcessorProcess(config)
        await proc.start()
      }
    }
    const got = await collect(kafka, prefix, reached(ref), 90_000)
    const last = proc
    await proc.kill('SIGTERM')
    // The last instance took over partitions with committed progress, so it rebuilt state by replay.
    const stopped = /stopped (\{.*\})/.exec(last.output)
    expect(stopped, last.output).not.toBeNull()
    expect(JSON.parse(stopped![1]!).replayed).toBeGreaterThan(0)
    const problems = diff(got, ref)
    if (problems.length > 0) console.error(problems.slice(0, 40).join('\n'))
    expect(problems).toEqual([])
    console.error(`kill test: ${JSON.stringify(counts(ref))} equal after 3 SIGKILLs, ${Date.now() - t0} ms`)
  }, 170_000)
})
