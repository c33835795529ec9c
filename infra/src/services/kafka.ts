/**
 * Apache Kafka 4.x in KRaft mode, one combined broker+controller on loopback, run from the jars
 * Maven fetches from Maven Central (infra/kafka/pom.xml) — no tarball, no Docker.
 *
 * Single-broker settings that matter: every internal topic's replication factor and min ISR are 1,
 * or consumer groups never find a coordinator and transactional producers never initialise.
 */

import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ExitCode, PedeProntoError } from '@pedepronto/common'
import { Kafka, logLevel } from 'kafkajs'
import { REPO_ROOT, type ServicePaths, servicePaths } from '../paths.js'
import {
  killProcess,
  type ManagedProcess,
  portOpen,
  runningPid,
  startDetached,
  stopProcess,
  tailFile,
  waitUntil,
} from './process.js'

export const KAFKA_VERSION = '4.1.1'

export interface LocalKafkaOptions {
  home: string
  port: number
  controllerPort: number
  heapMb: number
  readyTimeoutMs: number
  /** Jar cache; defaults to the home's. Scratch brokers in tests share the main cache. */
  libsDir?: string
}

export function kafkaProcess(paths: ServicePaths): ManagedProcess {
  return { name: 'kafka', pidFile: join(paths.run, 'kafka.pid'), logFile: join(paths.logs, 'kafka.log') }
}

/** Fetches the broker jars with Maven into the cache unless they are there. */
export function ensureKafkaJars(paths: ServicePaths, log: (line: string) => void = () => {}): void {
  const marker = join(paths.kafkaLibs, `kafka_2.13-${KAFKA_VERSION}.jar`)
  if (existsSync(marker)) return
  log(`fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central into ${paths.kafkaLibs}`)
  mkdirSync(paths.kafkaLibs, { recursive: true })
  const result = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      join(REPO_ROOT, 'infra', 'kafka', 'pom.xml'),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${paths.kafkaLibs}`,
      '-DincludeScope=runtime',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  )
  if (result.error || result.status !== 0 || !existsSync(marker)) {
    throw new PedeProntoError(
      'SVC_INSTALL_FAILED',
      `could not fetch the Kafka jars with Maven: ${result.error?.message ?? (result.stdout + result.stderr).slice(-800)}`,
      {
        hint: 'install Java 17 and Maven (`mvn -v`), check that Maven Central is reachable, then run `pedepronto services up` again',
        exitCode: ExitCode.UNAVAILABLE,
      },
    )
  }
}

function serverProperties(paths: ServicePaths, options: LocalKafkaOptions): string {
  return [
    '# Written by `pedepronto services up`; edits are overwritten.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${options.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${options.port},CONTROLLER://127.0.0.1:${options.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${options.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${paths.kafkaData}`,
    'num.partitions=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    // One broker: internal topics cannot have more replicas than brokers.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=10',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // Topics are created explicitly from contracts/ with their partition counts; a typo must fail.
    'auto.create.topics.enable=false',
    'delete.topic.enable=true',
    'log.retention.hours=24',
    'log.segment.bytes=67108864',
    '',
  ].join('\n')
}

const LOG4J2 = `Configuration:
  status: warn
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Logger:
      - name: kafka
        level: INFO
      - name: org.apache.kafka
        level: INFO
      - name: state.change.logger
        level: WARN
      - name: kafka.request.logger
        level: WARN
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
`

function javaArgs(paths: ServicePaths, options: LocalKafkaOptions, main: string, rest: string[]): string[] {
  return [
    `-Xmx${options.heapMb}m`,
    `-Xms${Math.min(options.heapMb, 256)}m`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(paths.kafkaConfig, 'log4j2.yaml')}`,
    '-cp',
    `${paths.kafkaLibs}/*`,
    main,
    ...rest,
  ]
}

/**
 * A cluster id is 16 random bytes in URL-safe base64 without padding (KIP-500). Like Kafka's own
 * Uuid.randomUuid, never one that starts with '-': the storage tool's argument parser would read it
 * as an option ("argument --cluster-id/-t: expected one argument"), 1 start in 64.
 */
export function newClusterId(random: (n: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

/** Formats the KRaft storage once (first start); later starts keep the data. */
function ensureFormatted(paths: ServicePaths, options: LocalKafkaOptions): void {
  if (existsSync(join(paths.kafkaData, 'meta.properties'))) return
  mkdirSync(paths.kafkaData, { recursive: true })
  const clusterId = newClusterId()
  const result = spawnSync(
    'java',
    javaArgs(paths, options, 'kafka.tools.StorageTool', [
      'format',
      '-t',
      clusterId,
      '-c',
      join(paths.kafkaConfig, 'server.properties'),
    ]),
    { encoding: 'utf8' },
  )
  if (result.status !== 0) {
    throw new PedeProntoError(
      'SVC_START_FAILED',
      `formatting Kafka storage failed: ${(result.stdout + result.stderr).slice(-800)}`,
      {
        hint: `remove ${paths.kafkaData} and run \`pedepronto services up\` again`,
      },
    )
  }
}

export class LocalKafka {
  readonly paths: ServicePaths
  readonly options: LocalKafkaOptions
  readonly process: ManagedProcess

  constructor(options: LocalKafkaOptions) {
    this.options = options
    const paths = servicePaths(options.home)
    this.paths = options.libsDir ? { ...paths, kafkaLibs: options.libsDir } : paths
    this.process = kafkaProcess(this.paths)
  }

  get brokers(): string[] {
    return [`127.0.0.1:${this.options.port}`]
  }

  pid(): number | undefined {
    return runningPid(this.process)
  }

  /** Starts the broker unless it runs; returns whether this call started it. */
  async up(log: (line: string) => void = () => {}): Promise<{ started: boolean; readyMs: number }> {
    const t0 = Date.now()
    if (this.pid() !== undefined) {
      await this.waitReady()
      return { started: false, readyMs: Date.now() - t0 }
    }
    for (const port of [this.options.port, this.options.controllerPort]) {
      if (await portOpen('127.0.0.1', port)) {
        throw new PedeProntoError(
          'SVC_PORT_IN_USE',
          `port ${port} on 127.0.0.1 is taken by a process that is not our Kafka`,
          {
            hint: 'stop that process, choose other ports (PEDEPRONTO_SERVICES_KAFKA_PORT, PEDEPRONTO_SERVICES_KAFKA_CONTROLLER_PORT), or point PEDEPRONTO_KAFKA_BROKERS at an existing Kafka',
            exitCode: ExitCode.UNAVAILABLE,
          },
        )
      }
    }
    ensureKafkaJars(this.paths, log)
    mkdirSync(this.paths.kafkaConfig, { recursive: true })
    writeFileSync(
      join(this.paths.kafkaConfig, 'server.properties'),
      serverProperties(this.paths, this.options),
    )
    writeFileSync(join(this.paths.kafkaConfig, 'log4j2.yaml'), LOG4J2)
    ensureFormatted(this.paths, this.options)
    log(
      `starting Kafka ${KAFKA_VERSION} (KRaft) on 127.0.0.1:${this.options.port}, log ${this.process.logFile}`,
    )
    await this.start()
    await this.waitReady()
    return { started: true, readyMs: Date.now() - t0 }
  }

  /** Starts the JVM (config and storage must exist). Used by `up` and by fault tests after a kill. */
  async start(): Promise<number> {
    return startDetached(
      this.process,
      'java',
      javaArgs(this.paths, this.options, 'kafka.Kafka', [join(this.paths.kafkaConfig, 'server.properties')]),
    )
  }

  async waitReady(timeoutMs = this.options.readyTimeoutMs): Promise<void> {
    const ok = await waitUntil(() => portOpen('127.0.0.1', this.options.port), timeoutMs, 200)
    if (!ok || this.pid() === undefined) {
      throw new PedeProntoError(
        'SVC_START_FAILED',
        `Kafka did not open 127.0.0.1:${this.options.port}. Last log lines:\n${tailFile(this.process.logFile)}`,
        {
          hint: `read ${this.process.logFile}; \`pedepronto services down\` then \`up\` retries`,
          exitCode: ExitCode.UNAVAILABLE,
        },
      )
    }
    await kafkaRoundTrip(this.brokers, timeoutMs)
  }

  async down(): Promise<'stopped' | 'killed' | 'not-running'> {
    return stopProcess(this.process, 30_000)
  }

  /** SIGKILL the broker, as a crash would (fault tests). */
  async kill(): Promise<boolean> {
    return killProcess(this.process)
  }
}

/**
 * Readiness as a client sees it: create a topic, write with acks=all, read it back through a
 * consumer group (so the group coordinator is loaded), delete the topic. Throws when any step
 * does not succeed within the timeout.
 */
export async function kafkaRoundTrip(brokers: string[], timeoutMs = 60_000): Promise<{ ms: number }> {
  const t0 = Date.now()
  const deadline = t0 + timeoutMs
  let lastError: unknown
  // Right after a (re)start a broker can answer before its partitions are led
  // (UNKNOWN_TOPIC_OR_PARTITION, NOT_COORDINATOR): retry the whole round trip until the deadline.
  while (Date.now() < deadline) {
    try {
      await roundTripOnce(brokers, deadline - Date.now())
      return { ms: Date.now() - t0 }
    } catch (error) {
      lastError = error
      await new Promise((r) => setTimeout(r, 500))
    }
  }
  throw new PedeProntoError(
    'SVC_KAFKA_UNREACHABLE',
    `Kafka at ${brokers.join(',')} did not complete a create/produce/consume round trip within ${timeoutMs} ms${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
    {
      canRetry: true,
      exitCode: ExitCode.UNAVAILABLE,
      hint: 'start the local services with `pedepronto services up`, or set PEDEPRONTO_KAFKA_BROKERS to a reachable Kafka',
      cause: lastError,
    },
  )
}

async function roundTripOnce(brokers: string[], timeoutMs: number): Promise<void> {
  const kafka = new Kafka({
    brokers,
    clientId: 'pedepronto-readiness',
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2_000 },
  })
  const topic = `__pp_ready_${randomBytes(4).toString('hex')}`
  const admin = kafka.admin()
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  const consumer = kafka.consumer({
    groupId: `${topic}-group`,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
  })
  const attempt = async () => {
    await admin.connect()
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    })
    await producer.connect()
    await producer.send({ topic, acks: -1, messages: [{ key: 'ready', value: 'ready' }] })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            if (message.value?.toString() === 'ready') resolve()
          },
        })
        .catch(reject)
    })
  }
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      attempt(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no round trip within ${timeoutMs} ms`)),
          Math.max(timeoutMs, 1),
        )
      }),
    ])
  } finally {
    if (timer) clearTimeout(timer)
    await consumer.disconnect().catch(() => undefined)
    await producer.disconnect().catch(() => undefined)
    await admin.deleteTopics({ topics: [topic], timeout: 5_000 }).catch(() => undefined)
    await admin.disconnect().catch(() => undefined)
  }
}

/** Folders in the jar cache, for `status`. */
export function kafkaJarCount(paths: ServicePaths): number {
  return existsSync(paths.kafkaLibs)
    ? readdirSync(paths.kafkaLibs).filter((f) => f.endsWith('.jar')).length
    : 0
}
