/**
 * The fault-test helper itself: a scratch broker is SIGKILLed mid-life and restarted, and every
 * record acknowledged with acks=all before the kill is still there afterwards.
 */

import { createTopicsReady } from '@pedepronto/common'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isAlive, type ScratchKafka, startScratchKafka, uniqueName } from '../src/index.js'

describe('startScratchKafka', () => {
  let scratch: ScratchKafka

  beforeAll(async () => {
    scratch = await startScratchKafka()
  }, 180_000)
  afterAll(async () => {
    await scratch?.destroy()
  })

  it('survives SIGKILL and restart without losing acknowledged records', async () => {
    const kafka = new Kafka({
      brokers: scratch.brokers,
      clientId: 'test-kill',
      logLevel: logLevel.NOTHING,
      retry: { retries: 3 },
    })
    const admin = kafka.admin()
    await admin.connect()
    const topic = uniqueName('t-kill')
    await createTopicsReady(admin, [{ topic, numPartitions: 2 }])
    const producer = kafka.producer({ idempotent: true })
    await producer.connect()
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 5}`, value: String(i) })),
    })
    await producer.disconnect()
    await admin.disconnect()

    const pidBefore = scratch.broker.pid()!
    expect(isAlive(pidBefore)).toBe(true)
    await scratch.kill()
    expect(isAlive(pidBefore)).toBe(false)
    expect(scratch.broker.pid()).toBeUndefined()

    await scratch.restart()
    const pidAfter = scratch.broker.pid()!
    expect(pidAfter).not.toBe(pidBefore)

    const again = new Kafka({
      brokers: scratch.brokers,
      clientId: 'test-kill-read',
      logLevel: logLevel.NOTHING,
    })
    const offsetsAdmin = again.admin()
    await offsetsAdmin.connect()
    const offsets = await offsetsAdmin.fetchTopicOffsets(topic)
    await offsetsAdmin.disconnect()
    const total = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0)
    expect(total).toBe(200)
  }, 180_000)
})
