/**
 * `pedepronto demo`: the main job end to end on this machine. Local services up; the gateway, the
 * edge processor and the cloud sink; a seeded fleet of simulated devices over MQTT and a virtual AVR
 * board over serial into the gateway; every acknowledged event verified in Kafka by id; the Parquet
 * lake queried with DuckDB; a summary; everything stopped.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import {
  CloudSink,
  emulatorCredentials,
  IotLivePush,
  lakeReport,
  provisionIot,
  SinkConfigSchema,
} from '@pedepronto/cloud-sink'
import { createLogger, createRegistry, ExitCode, loadConfig, PedeProntoError } from '@pedepronto/common'
import { type IngestedEvent, KAFKA_TOPICS, parseIngestedEvent, topicName } from '@pedepronto/contracts'
import { fleetLayout, MqttTransport, makeScenario, runLive } from '@pedepronto/device-sim'
import { EdgeProcessor, ProcessorConfigSchema } from '@pedepronto/edge-processor'
import { Gateway, GatewayConfigSchema, openSerialPort, SerialBridge } from '@pedepronto/gateway'
import { ALL_SERVICES, freePort, loadServices, servicesDown, servicesUp } from '@pedepronto/infra'
import type { Command } from 'commander'
import type { CommandContext } from '../context.js'

const execFileAsync = promisify(execFile)

import { AVR_IMAGE_ELF, provisionDevice, SIM_HARNESS, type SimBoard, startSimBoard } from './flash.js'

interface DemoOptions {
  restaurants: string
  devicesPerRestaurant: string
  rate: string
  minutes: string
  seed: string
  keepServices?: boolean
  board: boolean
  lake: string
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

/**
 * Reads the run's topics back with kcat (a Kafka client we did not write, and a fast one) and finds
 * every event id the devices were acknowledged for.
 */
async function readBack(brokers: string[], topics: string[], wanted: Set<string>, timeoutMs: number) {
  const found = new Map<string, IngestedEvent>()
  let copies = 0
  for (const topic of topics) {
    const { stdout } = await execFileAsync(
      'kcat',
      ['-C', '-b', brokers.join(','), '-t', topic, '-e', '-q', '-f', '%s\\n'],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 30,
        timeout: timeoutMs,
      },
    )
    for (const line of stdout.split('\n')) {
      if (!line) continue
      const parsed = parseIngestedEvent(line)
      if (!parsed.ok || !wanted.has(parsed.value.event_id)) continue
      copies++
      found.set(parsed.value.event_id, parsed.value)
    }
  }
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
    .option('--rate <n>', 'orders per second across the fleet, in simulated time', '0.4')
    .option(
      '--minutes <n>',
      'simulated minutes of restaurant life (run as fast as acknowledgements allow)',
      '20',
    )
    .option('--seed <n>', 'seed of the simulation', '42')
    .option('--lake <dir>', 'folder of the Parquet lake the sink writes (one sub-folder per run)', 'lake')
    .option('--no-board', 'skip the virtual AVR board on a serial line')
    .option('--keep-services', 'leave the services running afterwards')
    .action(async (options: DemoOptions) => {
      const restaurants = int('--restaurants', options.restaurants, 1, 100)
      const perRestaurant = int('--devices-per-restaurant', options.devicesPerRestaurant, 6, 100)
      const rate = Number(options.rate)
      if (!Number.isFinite(rate) || rate <= 0 || rate > 1_000) {
        throw new PedeProntoError(
          'CLI_USAGE',
          `--rate must be a number above 0 and at most 1000, got "${options.rate}"`,
          {
            exitCode: ExitCode.USAGE,
          },
        )
      }
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
      // Each run gets its own topics and lake folder, so a run's numbers are that run's alone.
      const runId = `demo${seed}x${Date.now().toString(36)}`
      const prefix = services.config.kafka.topicPrefix
        ? `${services.config.kafka.topicPrefix}.${runId}`
        : runId
      const lakeDir = join(options.lake, runId)
      mkdirSync(lakeDir, { recursive: true })
      const quiet = { level: 'warn' as const }
      let gateway: Gateway | undefined
      let processor: EdgeProcessor | undefined
      let sink: CloudSink | undefined
      let board: SimBoard | undefined
      let bridge: SerialBridge | undefined
      try {
        const common = { 'kafka.brokers': services.kafkaBrokers, 'kafka.topicPrefix': prefix, 'ops.port': 0 }
        gateway = new Gateway(
          loadConfig('gateway', GatewayConfigSchema, {
            env: {},
            flags: {
              ...common,
              'gateway.id': 'gw-demo',
              'gateway.mqttPort': await freePort(),
              'gateway.wsPort': 0,
              'gateway.outboxDir': join(work, 'outbox'),
              'gateway.rateLimitPerS': 1_000,
              'gateway.rateLimitBurst': 5_000,
            },
          }),
          { logger: createLogger('gateway', quiet) },
        )
        const addresses = await gateway.start()
        ctx.err(`demo: gateway at ${addresses.mqtt}, metrics at ${addresses.ops}/metrics\n`)
        processor = new EdgeProcessor(
          loadConfig('process', ProcessorConfigSchema, {
            env: {},
            // A short rating wait so that finished orders become facts within the demo's simulated time.
            flags: {
              ...common,
              'processor.groupId': `${runId}-processor`,
              'processor.ratingTimeoutMs': 60_000,
            },
          }),
          { logger: createLogger('edge-processor', quiet) },
        )
        await processor.start()
        ctx.err('demo: edge processor joined its consumer group (exactly-once transactions)\n')
        // AWS IoT on the emulator: a thing and certificate per device, a thing group and a restaurant
        // thing per restaurant (keys into the run's temp folder, removed at the end), then the sink
        // pushes each restaurant's latest KPI window to its shadow and alerts to IoT topics.
        const aws = {
          region: services.config.aws.region,
          endpoint: services.awsEndpoint,
          ...(emulatorCredentials(services.awsEndpoint)
            ? { credentials: emulatorCredentials(services.awsEndpoint) }
            : {}),
        }
        const layout = fleetLayout(restaurants, perRestaurant)
        const inventory = new Map<string, string[]>()
        for (const d of layout)
          inventory.set(d.restaurantId, [...(inventory.get(d.restaurantId) ?? []), d.deviceId])
        const withBoard = options.board && existsSync(SIM_HARNESS) && existsSync(AVR_IMAGE_ELF)
        if (withBoard) inventory.get('rest-0001')?.push('avr-kitchen-1')
        const provisioned = await provisionIot({
          ...aws,
          inventory: { restaurants: [...inventory].map(([id, devices]) => ({ id, devices })) },
          outDir: join(work, 'aws-iot'),
          ruleRoleArn: 'arn:aws:iam::123456789012:role/pedepronto-demo',
        })
        ctx.err(
          `demo: AWS IoT (emulator): ${provisioned.things.length} device things with certificates, ${provisioned.groups.length} restaurant groups, policy ${provisioned.policy.name}, rule ${provisioned.rule.name}\n`,
        )
        sink = new CloudSink(
          loadConfig('sink', SinkConfigSchema, {
            env: {},
            flags: {
              ...common,
              'sink.groupId': `${runId}-sink`,
              'sink.target': 'local',
              'sink.localDir': lakeDir,
              'sink.flushIntervalMs': 2_000,
              'sink.iotPush': true,
              'aws.endpoint': services.awsEndpoint,
            },
          }),
          { logger: createLogger('cloud-sink', quiet), registry: createRegistry('cloud-sink') },
        )
        await sink.start()
        ctx.err(`demo: cloud sink writing Parquet to ${lakeDir}, KPIs to the restaurants' IoT shadows\n`)

        if (withBoard) {
          const link = join(work, 'board')
          board = await startSimBoard({ image: AVR_IMAGE_ELF, link, eeprom: join(work, 'eeprom.bin') })
          await provisionDevice({
            port: link,
            deviceId: 'avr-kitchen-1',
            restaurantId: 'rest-0001',
            heartbeatS: 5,
            telemetryS: 3,
            orderS: 0,
          })
          bridge = new SerialBridge({
            path: link,
            baudRate: 115_200,
            open: openSerialPort,
            target: gateway,
            logger: createLogger('serial', quiet),
          })
          await bridge.start()
          ctx.err(`demo: virtual ATmega328P board (simavr) on ${board.pty}, attached over serial\n`)
        } else if (options.board) {
          ctx.err(
            'demo: no virtual board (build it with `make -C firmware avr sim-harness`); MQTT devices only\n',
          )
        }

        const scenario = makeScenario({
          seed,
          restaurants,
          devicesPerRestaurant: perRestaurant,
          ratePerS: rate,
          durationMs: minutes * 60_000,
        })
        const emitted = new Set<string>()
        const paged: Record<string, number> = {}
        let lastAcked = 0
        let lastAt = Date.now()
        // What each stage still has to pass on: the gateway's outbox and batch not yet in Kafka, the
        // processor's and the sink's consumer lag.
        const stageLag = async () => {
          const gw = gateway?.outbox?.stats().depth ?? 0
          const sinkLag = sink ? (await sink.metrics.lag.get()).values.reduce((n, v) => n + v.value, 0) : 0
          return { gateway: gw, processor: processor?.stats().lag ?? 0, sink: sinkLag }
        }
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
          onCommand: (_spec, outcome) => {
            paged[outcome] = (paged[outcome] ?? 0) + 1
          },
          progressEveryMs: 2_000,
          onProgress: (st) => {
            const now = Date.now()
            const rate = ((st.acked - lastAcked) * 1000) / Math.max(1, now - lastAt)
            lastAcked = st.acked
            lastAt = now
            void stageLag().then((lag) =>
              ctx.err(
                `demo: ${st.connected}/${st.devices} devices, ${Math.round(rate)} ev/s acknowledged (${st.acked} total, ${st.pending} pending); ` +
                  `orders open ${st.orders.open - Math.max(0, st.orders.ready - st.orders.pickedUp)}, ready ${Math.max(0, st.orders.ready - st.orders.pickedUp)}, picked up ${st.orders.pickedUp}; ` +
                  `lag gateway ${lag.gateway}, processor ${lag.processor}, sink ${lag.sink} records\n`,
              ),
            )
          },
        })
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
        const topics = [KAFKA_TOPICS.orders.name, KAFKA_TOPICS.telemetry.name].map((t) =>
          topicName(t, prefix),
        )
        const { found, copies } = await readBack(services.kafkaBrokers, topics, emitted, 120_000)
        // Let the processor finish its transactions and the sink flush its files.
        let rows = -1
        for (let i = 0; i < 30 && rows !== sink.summary.rows; i++) {
          rows = sink.summary.rows
          await new Promise((r) => setTimeout(r, 3_000))
        }
        const boardStats = bridge?.stats
        await bridge?.stop()
        await board?.stop()
        board = undefined
        const processed = processor.stats()
        const iotCalls = (await sink.metrics.iot.get()).values
        const iotOk = (action: string) =>
          iotCalls
            .filter((v) => v.labels.action === action && v.labels.outcome === 'ok')
            .reduce((n, v) => n + v.value, 0)
        const sunk = await sink.stop()
        const live = new IotLivePush(aws)
        const shadow = await live.readKpis('rest-0001').catch(() => undefined)
        live.close()
        sink = undefined
        await processor.stop()
        processor = undefined
        const report = await lakeReport(lakeDir)
        const events = [...found.values()]
        const placed = events.filter((e) => e.type === 'order.placed')

        ctx.out('\nPede Pronto Edge — demo summary\n')
        ctx.out(
          `  devices     ${summary.stats.devices} simulated over MQTT, ${summary.stats.connects} connects${boardStats ? `; 1 AVR board over serial (${boardStats.acks} frames ACKed, ${boardStats.frameErrors} corrupt)` : ''}\n`,
        )
        ctx.out(
          `  gateway     ${summary.stats.acked} events acknowledged (PUBACK after Kafka acks=all or the outbox fsync)\n`,
        )
        for (const [type, n] of Object.entries(summary.ackedByType))
          ctx.out(`              ${type.padEnd(22)} ${n}\n`)
        ctx.out(
          `  latency     PUBACK p50 ${summary.ackLatencyMs.p50} ms, p99 ${summary.ackLatencyMs.p99} ms\n`,
        )
        ctx.out(
          `  kafka       ${found.size} of ${emitted.size} events found by id (${copies - found.size} edge duplicates); ${placed.length} orders placed\n`,
        )
        ctx.out(
          `  processor   ${processed.eventsIn} events in, ${processed.duplicates} duplicates dropped; facts ${processed.outputs.fact}, KPI windows ${processed.outputs.kpi}, alerts ${processed.outputs.alert}, "order ready" commands ${processed.outputs.command}\n`,
        )
        ctx.out(
          `  pagers      "order ready" commands at the devices: ${
            Object.entries(paged)
              .map(([k, v]) => `${v} ${k}`)
              .join(', ') || 'none yet'
          }\n`,
        )
        ctx.out(
          `  lake        ${sunk.files} Parquet files, ${sunk.rows} rows, ${sunk.rejected} rejected, ${sunk.bytes} bytes in ${lakeDir}\n`,
        )
        ctx.out(
          `  aws iot     ${provisioned.things.length} things provisioned; ${iotOk('shadow')} shadow updates, ${iotOk('publish')} alerts published${
            shadow
              ? `; restaurant-rest-0001 reports window ${String(shadow.window_start_iso ?? shadow.window_start)}: ${String(shadow.orders_placed)} placed, ${String(shadow.revenue_cents)} cents`
              : ''
          }\n`,
        )
        ctx.out(`  total       ${((Date.now() - t0) / 1000).toFixed(1)} s\n\n`)
        ctx.out(report)
        ctx.out(
          `\nquery it yourself: pedepronto lake query --dir ${join(lakeDir, 'lake')} "SELECT restaurant_id, count(*) FROM order_facts GROUP BY 1"\n`,
        )
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
        await bridge?.stop().catch(() => undefined)
        await board?.stop().catch(() => undefined)
        await sink?.stop().catch(() => undefined)
        await processor?.stop().catch(() => undefined)
        await gateway?.stop()
        rmSync(work, { recursive: true, force: true })
        if (!options.keepServices && started.length > 0) {
          const down = await servicesDown(services, started)
          ctx.err(`demo: ${down.map((d) => `${d.service} ${d.action}`).join(', ')}\n`)
        }
      }
    })
}
