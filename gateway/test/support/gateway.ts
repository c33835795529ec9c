/**
 * An in-process gateway against the real Kafka of the services, on ephemeral ports, with a topic
 * prefix and an outbox folder of its own that `stop()` removes again; and a logger that keeps what
 * the gateway logs, for tests that check a refusal was logged (and a secret was not).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Logger, loadConfig } from '@pedepronto/common'
import { uniqueName } from '@pedepronto/infra'
import { Kafka, logLevel } from 'kafkajs'
import { pino } from 'pino'
import { Gateway, type GatewayAddresses, GatewayConfigSchema, type GatewayDeps } from '../../src/index.js'

export interface TestGateway {
  gateway: Gateway
  addresses: GatewayAddresses
  prefix: string
  /** A scratch folder of this gateway's (removed by stop). */
  dir: string
  stop(): Promise<void>
}

/**
 * Starts a local-profile gateway (unless `flags` say otherwise) with `flags` over the test defaults.
 * `flags` may name files in `dir` through a function of it.
 */
export async function startTestGateway(
  brokers: string[],
  name: string,
  flags: Record<string, unknown> | ((dir: string) => Record<string, unknown>) = {},
  deps: GatewayDeps = {},
): Promise<TestGateway> {
  const prefix = uniqueName(name)
  const dir = mkdtempSync(join(tmpdir(), `pp-${name}-`))
  const config = loadConfig('gateway', GatewayConfigSchema, {
    env: {},
    flags: {
      'gateway.mqttPort': 0,
      'gateway.mqttsPort': 0,
      'gateway.wsPort': 0,
      'gateway.outboxDir': join(dir, 'outbox'),
      'gateway.lingerMs': 2,
      'kafka.brokers': brokers,
      'kafka.topicPrefix': prefix,
      'ops.port': 0,
      ...(typeof flags === 'function' ? flags(dir) : flags),
    },
  })
  const gateway = new Gateway(config, deps)
  let addresses: GatewayAddresses
  try {
    addresses = await gateway.start()
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return {
    gateway,
    addresses,
    prefix,
    dir,
    async stop() {
      await gateway.stop()
      const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin()
      await admin.connect()
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`))
      await admin.deleteTopics({ topics: mine }).catch(() => undefined)
      await admin.disconnect()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface CapturedLog {
  logger: Logger
  /** Every line logged so far, as JSON text. */
  lines: string[]
  /** The parsed lines whose `msg` contains `text`. */
  find(text: string): Record<string, unknown>[]
}

/** A pino logger at debug level that keeps every line in memory. */
export function captureLog(): CapturedLog {
  const lines: string[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) })
  return {
    logger,
    lines,
    find: (text) =>
      lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => typeof l.msg === 'string' && l.msg.includes(text)),
  }
}
