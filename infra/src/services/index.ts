/**
 * `pedepronto services up|down|status`: the real local services every test and the demo run
 * against. `up` is idempotent (reuses what runs); an external Kafka (PEDEPRONTO_KAFKA_BROKERS) or AWS
 * endpoint (PEDEPRONTO_AWS_ENDPOINT or AWS_ENDPOINT_URL) given in the environment is used instead
 * of starting our own.
 */
import { type ConfigSources, ExitCode, loadConfig, PedeProntoError } from '@pedepronto/common'
import { type ServicesConfig, ServicesConfigSchema } from '../config.js'
import { servicePaths, servicesHome } from '../paths.js'
import { kafkaRoundTrip, LocalKafka } from './kafka.js'
import { LocalMosquitto } from './mosquitto.js'
import { awsReady, LocalMoto } from './moto.js'
import { portOpen } from './process.js'

export * from './kafka.js'
export * from './mosquitto.js'
export * from './moto.js'
export * from './process.js'
export * from './tools.js'

export type ServiceName = 'kafka' | 'moto' | 'mosquitto'

export const ALL_SERVICES: readonly ServiceName[] = ['kafka', 'moto', 'mosquitto']

export interface Services {
  config: ServicesConfig
  kafka: LocalKafka
  moto: LocalMoto
  mosquitto: LocalMosquitto
  /** Kafka given by the environment: not ours to start or stop. */
  externalKafka: boolean
  externalAws: boolean
  kafkaBrokers: string[]
  awsEndpoint: string
}

export function loadServices(sources: ConfigSources = {}): Services {
  const env = sources.env ?? process.env
  const withAwsAlias = { ...env }
  if (withAwsAlias.PEDEPRONTO_AWS_ENDPOINT === undefined && env.AWS_ENDPOINT_URL) {
    withAwsAlias.PEDEPRONTO_AWS_ENDPOINT = env.AWS_ENDPOINT_URL
  }
  const config = loadConfig('services', ServicesConfigSchema, { ...sources, env: withAwsAlias })
  const home = servicesHome(config.services.home)
  const kafka = new LocalKafka({
    home,
    port: config.services.kafkaPort,
    controllerPort: config.services.kafkaControllerPort,
    heapMb: config.services.kafkaHeapMb,
    readyTimeoutMs: config.services.readyTimeoutMs,
  })
  const moto = new LocalMoto({
    home,
    port: config.services.motoPort,
    readyTimeoutMs: config.services.readyTimeoutMs,
  })
  const externalKafka =
    withAwsAlias.PEDEPRONTO_KAFKA_BROKERS !== undefined || sources.flags?.['kafka.brokers'] !== undefined
  const externalAws =
    withAwsAlias.PEDEPRONTO_AWS_ENDPOINT !== undefined || sources.flags?.['aws.endpoint'] !== undefined
  const mosquitto = new LocalMosquitto({ home, port: config.services.mosquittoPort, readyTimeoutMs: 10_000 })
  return {
    config,
    kafka,
    moto,
    mosquitto,
    externalKafka,
    externalAws,
    kafkaBrokers: externalKafka ? config.kafka.brokers : kafka.brokers,
    awsEndpoint: externalAws ? config.aws.endpoint : moto.endpoint,
  }
}

export interface UpResult {
  service: ServiceName
  action: 'started' | 'reused' | 'external'
  endpoint: string
  readyMs: number
}

export async function servicesUp(
  services: Services,
  which: readonly ServiceName[] = ALL_SERVICES,
  log: (line: string) => void = () => {},
): Promise<UpResult[]> {
  // Start both at once: the JVM and the Python server spend their start-up on different cores.
  const tasks = which.map(async (name): Promise<UpResult> => {
    if (name === 'kafka') {
      if (services.externalKafka) {
        await assertKafkaReachable(services.kafkaBrokers, services.config.kafka.connectTimeoutMs)
        const r = await kafkaRoundTrip(services.kafkaBrokers, services.config.services.readyTimeoutMs)
        return {
          service: 'kafka',
          action: 'external',
          endpoint: services.kafkaBrokers.join(','),
          readyMs: r.ms,
        }
      }
      const r = await services.kafka.up(log)
      return {
        service: 'kafka',
        action: r.started ? 'started' : 'reused',
        endpoint: services.kafkaBrokers.join(','),
        readyMs: r.readyMs,
      }
    }
    if (name === 'mosquitto') {
      const r = await services.mosquitto.up(log)
      return {
        service: name,
        action: r.started ? 'started' : 'reused',
        endpoint: services.mosquitto.url,
        readyMs: r.readyMs,
      }
    }
    if (services.externalAws) {
      const r = await awsReady(
        services.awsEndpoint,
        services.config.services.readyTimeoutMs,
        services.config.aws.region,
      )
      return { service: 'moto', action: 'external', endpoint: services.awsEndpoint, readyMs: r.ms }
    }
    const r = await services.moto.up(log)
    return {
      service: 'moto',
      action: r.started ? 'started' : 'reused',
      endpoint: services.awsEndpoint,
      readyMs: r.readyMs,
    }
  })
  const settled = await Promise.allSettled(tasks)
  const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failures.length > 0) throw failures[0]?.reason
  return settled.map((s) => (s as PromiseFulfilledResult<UpResult>).value)
}

/** Fails fast, with what to do, when no bootstrap server accepts a TCP connection. */
export async function assertKafkaReachable(brokers: string[], timeoutMs: number): Promise<void> {
  for (const broker of brokers) {
    const i = broker.lastIndexOf(':')
    if (await portOpen(broker.slice(0, i), Number(broker.slice(i + 1)), timeoutMs)) return
  }
  throw new PedeProntoError(
    'SVC_KAFKA_UNREACHABLE',
    `no Kafka broker answers at ${brokers.join(',')} (tried for ${timeoutMs} ms each)`,
    {
      canRetry: true,
      exitCode: ExitCode.UNAVAILABLE,
      hint: 'unset PEDEPRONTO_KAFKA_BROKERS to use the local Kafka (`pedepronto services up`), or point it at a reachable broker',
    },
  )
}

export interface DownResult {
  service: ServiceName
  action: 'stopped' | 'killed' | 'not-running' | 'external'
}

export async function servicesDown(
  services: Services,
  which: readonly ServiceName[] = ALL_SERVICES,
): Promise<DownResult[]> {
  return Promise.all(
    which.map(async (name): Promise<DownResult> => {
      if (name === 'kafka')
        return { service: name, action: services.externalKafka ? 'external' : await services.kafka.down() }
      if (name === 'mosquitto') return { service: name, action: await services.mosquitto.down() }
      return { service: name, action: services.externalAws ? 'external' : await services.moto.down() }
    }),
  )
}

export interface StatusResult {
  service: ServiceName
  managed: 'ours' | 'external'
  pid: number | undefined
  endpoint: string
  ready: boolean
  detail: string
}

export async function servicesStatus(services: Services, timeoutMs = 15_000): Promise<StatusResult[]> {
  const kafkaStatus = async (): Promise<StatusResult> => {
    const pid = services.externalKafka ? undefined : services.kafka.pid()
    const endpoint = services.kafkaBrokers.join(',')
    const [host, port] = (services.kafkaBrokers[0] ?? '127.0.0.1:9092').split(':')
    if (!(await portOpen(host ?? '127.0.0.1', Number(port)))) {
      return {
        service: 'kafka',
        managed: services.externalKafka ? 'external' : 'ours',
        pid,
        endpoint,
        ready: false,
        detail: 'not listening',
      }
    }
    try {
      const r = await kafkaRoundTrip(services.kafkaBrokers, timeoutMs)
      return {
        service: 'kafka',
        managed: services.externalKafka ? 'external' : 'ours',
        pid,
        endpoint,
        ready: true,
        detail: `round trip ${r.ms} ms`,
      }
    } catch (error) {
      return {
        service: 'kafka',
        managed: services.externalKafka ? 'external' : 'ours',
        pid,
        endpoint,
        ready: false,
        detail: (error as Error).message,
      }
    }
  }
  const motoStatus = async (): Promise<StatusResult> => {
    const pid = services.externalAws ? undefined : services.moto.pid()
    try {
      const r = await awsReady(services.awsEndpoint, Math.min(timeoutMs, 3_000), services.config.aws.region)
      return {
        service: 'moto',
        managed: services.externalAws ? 'external' : 'ours',
        pid,
        endpoint: services.awsEndpoint,
        ready: true,
        detail: `S3 answered in ${r.ms} ms`,
      }
    } catch {
      return {
        service: 'moto',
        managed: services.externalAws ? 'external' : 'ours',
        pid,
        endpoint: services.awsEndpoint,
        ready: false,
        detail: 'not answering',
      }
    }
  }
  const mosquittoStatus = async (): Promise<StatusResult> => {
    const ready = await portOpen('127.0.0.1', services.config.services.mosquittoPort)
    return {
      service: 'mosquitto',
      managed: 'ours',
      pid: services.mosquitto.pid(),
      endpoint: services.mosquitto.url,
      ready,
      detail: ready ? 'listening' : 'not listening',
    }
  }
  return Promise.all([kafkaStatus(), motoStatus(), mosquittoStatus()])
}

export { servicePaths }
