/**
 * Helpers for integration and fault tests against the real local services: unique topic and
 * bucket names with cleanup, and scratch Kafka brokers a test may SIGKILL and restart without
 * disturbing the shared broker other test files use.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3'
import { createTopicsReady } from '@pedepronto/common'
import { type Admin, Kafka, logLevel } from 'kafkajs'
import { servicePaths, servicesHome } from '../paths.js'
import { ensureKafkaJars, LocalKafka } from '../services/kafka.js'
import { EMULATOR_CREDENTIALS } from '../services/moto.js'

/** A name no other test (or earlier run) uses: lowercase, safe for Kafka topics and S3 buckets. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${randomBytes(4).toString('hex')}`.toLowerCase()
}

export interface TopicSpec {
  name: string
  partitions?: number
  config?: Record<string, string>
}

export interface TestTopics {
  names: string[]
  admin: Admin
  cleanup(): Promise<void>
}

/** Creates the topics (waiting for leaders) and returns a cleanup that deletes them. */
export async function createTestTopics(brokers: string[], specs: TopicSpec[]): Promise<TestTopics> {
  const kafka = new Kafka({ brokers, clientId: 'pedepronto-testkit', logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await createTopicsReady(
    admin,
    specs.map((s) => ({
      topic: s.name,
      numPartitions: s.partitions ?? 1,
      replicationFactor: 1,
      configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
    })),
  )
  return {
    names: specs.map((s) => s.name),
    admin,
    async cleanup() {
      await admin.deleteTopics({ topics: specs.map((s) => s.name), timeout: 10_000 }).catch(() => undefined)
      await admin.disconnect()
    },
  }
}

export function emulatorS3(endpoint: string, region = 'us-east-1'): S3Client {
  return new S3Client({ endpoint, region, forcePathStyle: true, credentials: EMULATOR_CREDENTIALS })
}

export interface TestBucket {
  name: string
  s3: S3Client
  cleanup(): Promise<void>
}

/** Creates a uniquely named bucket; cleanup empties and deletes it. */
export async function createTestBucket(endpoint: string, prefix = 'pp-test'): Promise<TestBucket> {
  const s3 = emulatorS3(endpoint)
  const name = uniqueName(prefix)
  await s3.send(new CreateBucketCommand({ Bucket: name }))
  return {
    name,
    s3,
    async cleanup() {
      let token: string | undefined
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: name, ContinuationToken: token }))
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []))
        if (keys.length > 0)
          await s3.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys } }))
        token = page.NextContinuationToken
      } while (token)
      await s3.send(new DeleteBucketCommand({ Bucket: name }))
      s3.destroy()
    },
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export interface ScratchKafka {
  broker: LocalKafka
  brokers: string[]
  /** SIGKILL the broker process group, as a crash would. */
  kill(): Promise<void>
  /** Start it again on the same data and wait until it is ready. */
  restart(): Promise<void>
  /** Stop it and delete its data. */
  destroy(): Promise<void>
}

/**
 * A private single-node Kafka on free ports with its own data folder, sharing the jar cache of the
 * main services. Fault tests kill and restart it freely.
 */
export async function startScratchKafka(options: { heapMb?: number } = {}): Promise<ScratchKafka> {
  const mainPaths = servicePaths(servicesHome())
  ensureKafkaJars(mainPaths)
  const home = mkdtempSync(join(tmpdir(), 'pp-scratch-kafka-'))
  const broker = new LocalKafka({
    home,
    port: await freePort(),
    controllerPort: await freePort(),
    heapMb: options.heapMb ?? 384,
    readyTimeoutMs: 120_000,
    libsDir: mainPaths.kafkaLibs,
  })
  await broker.up()
  return {
    broker,
    brokers: broker.brokers,
    async kill() {
      await broker.kill()
    },
    async restart() {
      await broker.start()
      await broker.waitReady()
    },
    async destroy() {
      await broker.down()
      rmSync(home, { recursive: true, force: true })
    },
  }
}
