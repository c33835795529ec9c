/**
 * `pedepronto demo`: the main job end to end on this machine. Local services up; the gateway; a
 * seeded fleet of simulated devices over MQTT into it; every acknowledged event verified in Kafka;
 * the run landed in the lake bucket; a summary; everything stopped. Later issues add the processor,
 * the sink and a virtual AVR board to this run.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger, ExitCode, loadConfig, PedeProntoError, percentile } from '@pedepronto/common'
import { type IngestedEvent, KAFKA_TOPICS, parseIngestedEvent, topicName } from '@pedepronto/contracts'
import { MqttTransport, makeScenario, runLive } from '@pedepronto/device-sim'
import { Gateway, GatewayConfigSchema } from '@pedepronto/gateway'
import { ALL_SERVICES, emulatorS3, freePort, loadServices, servicesDown, servicesUp } from '@pedepronto/infra'
import type { Command } from 'commander'
import { Kafka, logLevel } from 'kafkajs'
import type { CommandContext } from '../context.js'
import { landInLake } from './demo-lake.js'

interface DemoOptions {
  restaurants: string
  devicesPerRestaurant: string
  rate: string
  minutes: string
  seed: string
  keepServices?: boolean
  bucket: string
}

function int(name: string, text: string, min: number, max: number): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new PedeProntoError(
      'CLI_USAGE',
      `${name} must be an integer from ${min} to ${max}, got "${text}"`,
      {
        exitCode: ExitCode.USAGE,
      },
    )
  }
  return n
}

/** Reads the run's events back from Kafka (a fresh consumer group, from the beginning). */
async function readBack(brokers: string[], topics: string[], wanted: Set<string>, timeoutMs: number) {
  const kafka = new Kafka({ brokers, clientId: 'pedepronto-demo-verify', logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({
    groupId: `pedepronto-demo-verify-${Date.now()}`,
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
  })
  const found = new Map<string, IngestedEvent>()
  let copies = 0
  await consumer.connect()
  await consumer.subscribe({ topics, fromBeginning: true })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, timeoutMs)
    consumer
      .run({
        eachMessage: async ({ message }) => {
          const parsed = parseIngestedEvent(message.value ?? new Uint8Array())
          if (!parsed.ok || !wanted.has(parsed.value.event_id)) return
          copies++
          found.set(parsed.value.event_id, parsed.value)
          if (found.size === wanted.size) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
  return { found, copies }
}

export function addDemoCommand(program: Command, ctx: CommandContext): void {
  program
    .command('demo')
    .description(
      'the main job end to end: local services, gateway, a simulated fleet over MQTT, Kafka verified, the lake, a summary',
    )
    .option('--restaurants <n>', 'simulated restaurants', '3')
    .option('--devices-per-restaurant <n>', 'devices per restaurant', '8')
    .option('--rate <n>', 'orders per second across the fleet, in simulated time', '2')
    .option(
      '--minutes <n>',
      'simulated minutes of restaurant life (run as fast as acknowledgements allow)',
      '10',
    )
    .option('--seed <n>', 'seed of the simulation', '42')
    .option('--bucket <name>', 'lake bucket in the AWS emulator', 'pedepronto-lake')
    .option('--keep-services', 'leave the services running afterwards')
    .action(async (options: DemoOptions) => {
      const restaurants = int('--restaurants', options.restaurants, 1, 100)
      const perRestaurant = int('--devices-per-restaurant', options.devicesPerRestaurant, 6, 100)
      const rate = int('--rate', options.rate, 1, 1_000)
      const minutes = int('--minutes', options.minutes, 1, 24 * 60)
      const seed = int('--seed', options.seed, 0, 2 ** 32 - 1)
      const services = loadServices()
      const t0 = Date.now()
      ctx.err('demo: starting local services (Kafka KRaft, moto, mosquitto)…\n')
      const up = await servicesUp(services, ALL_SERVICES, (line) => ctx.err(`demo: ${line}\n`))
      for (const r of up)
        ctx.err(`demo: ${r.service} ${r.action} at ${r.endpoint} (${(r.readyMs / 1000).toFixed(1)} s)\n`)
      const started = up.filter((r) => r.action === 'started').map((r) => r.service)
      const work = mkdtempSync(join(tmpdir(), 'pp-demo-'))
      let gateway: Gateway | undefined
      try {
        const config = loadConfig('gateway', GatewayConfigSchema, {
          env: {},
          flags: {
            'gateway.id': 'gw-demo',
            'gateway.mqttPort': await freePort(),
            'gateway.wsPort': 0,
            'gateway.outboxDir': join(work, 'outbox'),
            'gateway.rateLimitPerS': 1_000,
            'gateway.rateLimitBurst': 5_000,
            'kafka.brokers': services.kafkaBrokers,
            'kafka.topicPrefix': services.config.kafka.topicPrefix,
            'ops.port': 0,
          },
        })
        gateway = new Gateway(config, { logger: createLogger('gateway', { level: 'warn' }) })
        const addresses = await gateway.start()
        ctx.err(`demo: gateway at ${addresses.mqtt}, metrics at ${addresses.ops}/metrics\n`)

        const scenario = makeScenario({
          seed,
          restaurants,
          devicesPerRestaurant: perRestaurant,
          ratePerS: rate,
          durationMs: minutes * 60_000,
        })
        const emitted = new Set<string>()
        ctx.err(
          `demo: ${restaurants * perRestaurant} devices, ${minutes} simulated minutes at ${rate} orders/s (seed ${seed})\n`,
        )
        const summary = await runLive({
          scenario,
          speed: 0,
          transportFor: (spec) =>
            new MqttTransport({
              url: addresses.mqtt as string,
              deviceId: spec.deviceId,
              restaurantId: spec.restaurantId,
            }),
          onEmission: (e) => {
            if (e.kind === 'event' && e.faults.length === 0) emitted.add(e.event.event_id)
          },
          progressEveryMs: 2_000,
          onProgress: (s) =>
            ctx.err(
              `demo: devices ${s.connected}/${s.devices} connected, events sent ${s.sends}, acknowledged ${s.acked}, pending ${s.pending}\n`,
            ),
        })
        const topics = [KAFKA_TOPICS.orders.name, KAFKA_TOPICS.telemetry.name].map((t) =>
          topicName(t, services.config.kafka.topicPrefix),
        )
        const { found, copies } = await readBack(services.kafkaBrokers, topics, emitted, 60_000)
        const events = [...found.values()]
        const s3 = emulatorS3(services.awsEndpoint, services.config.aws.region)
        const lake = await landInLake(s3, options.bucket, events)
        s3.destroy()

        const placed = events.filter((e) => e.type === 'order.placed')
        const byRestaurant = new Map<
          string,
          { orders: number; revenue: number; ratings: number[]; prepMs: number[] }
        >()
        const acceptedAt = new Map<string, number>()
        for (const e of [...events].sort((a, b) => a.event_time - b.event_time)) {
          const r = byRestaurant.get(e.restaurant_id) ?? { orders: 0, revenue: 0, ratings: [], prepMs: [] }
          byRestaurant.set(e.restaurant_id, r)
          if (e.type === 'order.placed') {
            r.orders++
            r.revenue += e.payload.total_cents
          } else if (e.type === 'order.rated') {
            r.ratings.push(e.payload.rating)
          } else if (e.type === 'order.status_changed') {
            if (e.payload.to === 'accepted') acceptedAt.set(e.payload.order_id, e.event_time)
            const accepted = acceptedAt.get(e.payload.order_id)
            if (e.payload.to === 'ready' && accepted !== undefined) r.prepMs.push(e.event_time - accepted)
          }
        }
        ctx.out('\nPede Pronto Edge — demo summary\n')
        ctx.out(
          `  devices     ${summary.stats.devices} simulated, ${summary.stats.connects} connects, ${summary.stats.disconnects} disconnects\n`,
        )
        ctx.out(
          `  events      ${summary.stats.acked} acknowledged by the gateway (PUBACK after Kafka acks=all or the outbox fsync)\n`,
        )
        for (const [type, n] of Object.entries(summary.ackedByType))
          ctx.out(`              ${type.padEnd(22)} ${n}\n`)
        ctx.out(
          `  latency     PUBACK p50 ${summary.ackLatencyMs.p50} ms, p99 ${summary.ackLatencyMs.p99} ms\n`,
        )
        ctx.out(
          `  kafka       ${found.size} of ${emitted.size} events found by id (${copies - found.size} edge duplicates)\n`,
        )
        ctx.out(
          `  lake        ${lake.objects} objects, ${lake.bytes} bytes under s3://${options.bucket}/${lake.prefix}\n`,
        )
        ctx.out('  restaurant  orders  revenue (BRL)  mean prep (min)  mean rating\n')
        for (const [id, r] of [...byRestaurant].sort()) {
          const prep = r.prepMs.length
            ? (r.prepMs.reduce((a, b) => a + b, 0) / r.prepMs.length / 60_000).toFixed(1)
            : '—'
          const rating = r.ratings.length
            ? (r.ratings.reduce((a, b) => a + b, 0) / r.ratings.length).toFixed(2)
            : '—'
          ctx.out(
            `  ${id.padEnd(10)}  ${String(r.orders).padStart(6)}  ${(r.revenue / 100).toFixed(2).padStart(13)}  ${prep.padStart(15)}  ${rating.padStart(11)}\n`,
          )
        }
        ctx.out(
          `  orders      ${placed.length} placed; p95 prep ${(
            percentile(
              [...byRestaurant.values()].flatMap((r) => r.prepMs),
              95,
            ) / 60_000 || 0
          ).toFixed(1)} min\n`,
        )
        ctx.out(`  total       ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
        if (!summary.drained) {
          throw new PedeProntoError(
            'CLI_USAGE',
            'the simulated devices did not get every event acknowledged in time',
            {
              exitCode: ExitCode.TEMPFAIL,
              hint: 'the machine may be overloaded: try fewer --devices-per-restaurant or --minutes',
            },
          )
        }
        if (found.size < emitted.size) {
          throw new PedeProntoError(
            'CLI_USAGE',
            `${emitted.size - found.size} acknowledged events are missing from Kafka`,
            {
              exitCode: ExitCode.SOFTWARE,
            },
          )
        }
      } finally {
        await gateway?.stop()
        rmSync(work, { recursive: true, force: true })
        if (!options.keepServices && started.length > 0) {
          const down = await servicesDown(services, started)
          ctx.err(`demo: ${down.map((d) => `${d.service} ${d.action}`).join(', ')}\n`)
        }
      }
    })
}
