import { ExitCode, ensureTopics, PedeProntoError } from '@pedepronto/common'
import { ALL_SERVICES, emulatorS3, loadServices, servicesDown, servicesUp } from '@pedepronto/infra'
import type { Command } from 'commander'
import { Kafka, logLevel } from 'kafkajs'
import type { CommandContext } from '../context.js'
import { runSmoke, smokeStream } from './demo-smoke.js'

interface DemoOptions {
  orders: string
  seed: string
  keepServices?: boolean
  bucket: string
}

function positiveInt(name: string, text: string, max: number): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new PedeProntoError('CLI_USAGE', `${name} must be an integer from 0 to ${max}, got "${text}"`, {
      exitCode: ExitCode.USAGE,
    })
  }
  return n
}

export function addDemoCommand(program: Command, ctx: CommandContext): void {
  program
    .command('demo')
    .description(
      'the main job end to end on this machine: local services up, a run through the pipeline, a summary, services down',
    )
    .option('--orders <n>', 'orders in the smoke stream', '50')
    .option('--seed <n>', 'seed of the event stream', '42')
    .option('--bucket <name>', 'lake bucket in the AWS emulator', 'pedepronto-lake')
    .option('--keep-services', 'leave the services running afterwards')
    .action(async (options: DemoOptions) => {
      const orders = positiveInt('--orders', options.orders, 100_000)
      const seed = positiveInt('--seed', options.seed, 2 ** 32 - 1)
      const services = loadServices()
      const t0 = Date.now()
      ctx.err('demo: starting local services (Kafka KRaft, moto, mosquitto)…\n')
      const up = await servicesUp(services, ALL_SERVICES, (line) => ctx.err(`demo: ${line}\n`))
      for (const r of up)
        ctx.err(`demo: ${r.service} ${r.action} at ${r.endpoint} (${(r.readyMs / 1000).toFixed(1)} s)\n`)
      const started = up.filter((r) => r.action === 'started').map((r) => r.service)
      try {
        const kafka = new Kafka({
          brokers: services.kafkaBrokers,
          clientId: 'pedepronto-demo',
          logLevel: logLevel.NOTHING,
        })
        const admin = kafka.admin()
        await admin.connect()
        const topics = await ensureTopics(admin, { prefix: services.config.kafka.topicPrefix })
        await admin.disconnect()
        ctx.err(`demo: topics created ${topics.created.length}, already there ${topics.existing.length}\n`)

        const stream = smokeStream(seed, orders, Date.parse('2026-12-03T12:00:00Z'))
        ctx.err(
          `demo: ${stream.events.length} events from ${orders} orders (seed ${seed}) → Kafka → consumer group → S3\n`,
        )
        const s3 = emulatorS3(services.awsEndpoint, services.config.aws.region)
        const result = await runSmoke({
          brokers: services.kafkaBrokers,
          s3,
          bucket: options.bucket,
          stream,
          topicPrefix: services.config.kafka.topicPrefix,
        })
        s3.destroy()

        ctx.out('\nPede Pronto Edge — demo summary\n')
        for (const [topic, n] of Object.entries(result.produced))
          ctx.out(`  produced  ${topic.padEnd(22)} ${String(n).padStart(7)} events (acks=all, idempotent)\n`)
        ctx.out(
          `  consumed  ${String(result.consumed).padStart(30)} events back through a consumer group, ${result.invalid} invalid, ${result.missing} missing\n`,
        )
        ctx.out(`  latency   produce ${result.produceMs} ms, produce→consumed all ${result.roundTripMs} ms\n`)
        ctx.out(`  lake      s3://${options.bucket}/${result.s3Key} (${result.s3Bytes} bytes)\n`)
        ctx.out(`  total     ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
        ctx.out(
          '  next      the simulator, gateway, processor and sink join this run as their issues land (README, "Status")\n',
        )
        if (result.missing > 0 || result.invalid > 0) {
          throw new PedeProntoError(
            'CLI_USAGE',
            `the smoke run lost ${result.missing} events and read ${result.invalid} invalid ones`,
            {
              exitCode: ExitCode.SOFTWARE,
            },
          )
        }
      } finally {
        if (!options.keepServices && started.length > 0) {
          const down = await servicesDown(services, started)
          ctx.err(`demo: ${down.map((d) => `${d.service} ${d.action}`).join(', ')}\n`)
        }
      }
    })
}
