/**
 * Proof that the local services are the real thing (issue #2, "Proof the services are real"):
 * records written with kafkajs are read back by kcat, a kafkajs consumer group joins and commits on
 * the Kafka 4 broker, moto stores and returns S3 objects and creates IoT things and certificates.
 */
import { spawnSync } from 'node:child_process'
import {
  CreateKeysAndCertificateCommand,
  CreateThingCommand,
  DeleteCertificateCommand,
  DeleteThingCommand,
  DescribeThingCommand,
  IoTClient,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot'
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  createTestBucket,
  createTestTopics,
  EMULATOR_CREDENTIALS,
  type TestBucket,
  type TestTopics,
  uniqueName,
} from '../src/index.js'

const brokers = inject('kafkaBrokers')
const awsEndpoint = inject('awsEndpoint')

describe('Kafka 4 (KRaft) from the local services', () => {
  let topics: TestTopics
  const topic = uniqueName('t-real')

  beforeAll(async () => {
    topics = await createTestTopics(brokers, [{ name: topic, partitions: 3 }])
  })
  afterAll(async () => {
    await topics.cleanup()
  })

  it('reports a 4.x broker in KRaft mode through the admin API', async () => {
    const cluster = await topics.admin.describeCluster()
    expect(cluster.brokers).toHaveLength(1)
    expect(cluster.brokers[0]?.host).toBe('127.0.0.1')
    const meta = await topics.admin.fetchTopicMetadata({ topics: [topic] })
    expect(meta.topics[0]?.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2])
  })

  it('reads with kcat exactly the records kafkajs wrote with acks=all', async () => {
    const kafka = new Kafka({ brokers, clientId: 'test-real', logLevel: logLevel.NOTHING })
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 })
    await producer.connect()
    const sent = Array.from({ length: 30 }, (_, i) => ({ key: `order-${i % 7}`, value: `{"n":${i}}` }))
    const acks = await producer.send({ topic, acks: -1, messages: sent })
    await producer.disconnect()
    expect(acks.every((a) => a.errorCode === 0)).toBe(true)

    const kcat = spawnSync(
      'kcat',
      ['-C', '-b', brokers.join(','), '-t', topic, '-e', '-q', '-f', '%k\t%s\t%p\n'],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    )
    expect(kcat.status).toBe(0)
    const lines = kcat.stdout.trim().split('\n')
    const got = lines.map((l) => {
      const [key, value, partition] = l.split('\t')
      return { key, value, partition: Number(partition) }
    })
    expect(
      got.map(({ key, value }) => ({ key, value })).sort((a, b) => a.value!.localeCompare(b.value!)),
    ).toEqual([...sent].sort((a, b) => a.value.localeCompare(b.value)))
    // One key, one partition: the ordering guarantee the order lifecycle relies on.
    const partitionsByKey = new Map<string, Set<number>>()
    for (const r of got)
      partitionsByKey.set(r.key!, (partitionsByKey.get(r.key!) ?? new Set()).add(r.partition))
    for (const set of partitionsByKey.values()) expect(set.size).toBe(1)
  })

  it('lets a kafkajs consumer group join, consume and commit offsets', async () => {
    const kafka = new Kafka({ brokers, clientId: 'test-group', logLevel: logLevel.NOTHING })
    const groupTopic = uniqueName('t-group')
    const t = await createTestTopics(brokers, [{ name: groupTopic, partitions: 2 }])
    try {
      const producer = kafka.producer()
      await producer.connect()
      await producer.send({
        topic: groupTopic,
        acks: -1,
        messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
      })
      await producer.disconnect()

      const groupId = uniqueName('g')
      const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 })
      await consumer.connect()
      await consumer.subscribe({ topic: groupTopic, fromBeginning: true })
      const seen: string[] = []
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ topic: tp, partition, message }) => {
              seen.push(message.value!.toString())
              await consumer.commitOffsets([
                { topic: tp, partition, offset: (BigInt(message.offset) + 1n).toString() },
              ])
              if (seen.length === 10) resolve()
            },
          })
          .catch(reject)
      })
      await consumer.disconnect()
      expect(seen.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`).sort())
      const offsets = await t.admin.fetchOffsets({ groupId, topics: [groupTopic] })
      const committed = offsets[0]!.partitions.reduce((sum, p) => sum + Number(p.offset), 0)
      expect(committed).toBe(10)
    } finally {
      await t.cleanup()
    }
  })
})

describe('moto (AWS emulator) from the local services', () => {
  let bucket: TestBucket

  beforeAll(async () => {
    bucket = await createTestBucket(awsEndpoint)
  })
  afterAll(async () => {
    await bucket.cleanup()
  })

  it('stores and returns an S3 object (path-style)', async () => {
    const body = JSON.stringify({ order_id: 'o-1', total_cents: 4590 })
    await bucket.s3.send(
      new PutObjectCommand({ Bucket: bucket.name, Key: 'lake/raw/dt=2026-12-03/a.json', Body: body }),
    )
    const head = await bucket.s3.send(
      new HeadObjectCommand({ Bucket: bucket.name, Key: 'lake/raw/dt=2026-12-03/a.json' }),
    )
    expect(head.ContentLength).toBe(Buffer.byteLength(body))
    const got = await bucket.s3.send(
      new GetObjectCommand({ Bucket: bucket.name, Key: 'lake/raw/dt=2026-12-03/a.json' }),
    )
    expect(await got.Body!.transformToString()).toBe(body)
  })

  it('creates an IoT thing and a certificate', async () => {
    const iot = new IoTClient({
      endpoint: awsEndpoint,
      region: 'us-east-1',
      credentials: EMULATOR_CREDENTIALS,
    })
    const thingName = uniqueName('kiosk')
    try {
      const thing = await iot.send(
        new CreateThingCommand({ thingName, attributePayload: { attributes: { restaurant: 'r001' } } }),
      )
      expect(thing.thingName).toBe(thingName)
      const described = await iot.send(new DescribeThingCommand({ thingName }))
      expect(described.attributes).toEqual({ restaurant: 'r001' })
      const cert = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }))
      expect(cert.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----/)
      expect(cert.keyPair?.PrivateKey).toMatch(/PRIVATE KEY-----/)
      await iot.send(
        new UpdateCertificateCommand({ certificateId: cert.certificateId!, newStatus: 'INACTIVE' }),
      )
      await iot.send(new DeleteCertificateCommand({ certificateId: cert.certificateId! }))
    } finally {
      await iot.send(new DeleteThingCommand({ thingName })).catch(() => undefined)
      iot.destroy()
    }
  })
})
