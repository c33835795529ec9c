/**
 * `pedepronto sim`: a fleet of simulated restaurant and customer devices (issue #3). `--dry-run`
 * writes the seeded event stream as JSON lines without any broker; otherwise devices connect over
 * MQTT (TLS with per-device certificates via --tls-dir) or serial ports and publish at QoS 1.
 */
import { createWriteStream, type WriteStream } from 'node:fs'
import {
  ConfigError,
  createLogger,
  createProgress,
  ExitCode,
  flagName,
  loadConfig,
  PedeProntoError,
} from '@pedepronto/common'
import {
  dryRun,
  EVENT_FAULTS,
  type Faults,
  FaultsSchema,
  parseFaults,
  runLive,
  SimConfigSchema,
  scenarioFromConfig,
  transportFactory,
} from '@pedepronto/device-sim'
import { type Command, Option } from 'commander'
import type { CommandContext } from '../context.js'

interface SimOptions {
  config?: string
  restaurants?: string
  devicesPerRestaurant?: string
  rate?: string
  duration?: string
  seed?: string
  broker?: string
  serial?: string
  faults?: string
  fault?: string[]
  scenario?: string
  tlsDir?: string
  offlineQueueMax?: string
  speed?: string
  start?: string
  pickupTrigger?: string
  window?: string
  ackTimeoutMs?: string
  dryRun?: boolean
  out?: string
  quiet?: boolean
}

function usage(message: string, hint?: string): PedeProntoError {
  return new PedeProntoError('SIM_USAGE', message, { exitCode: ExitCode.USAGE, ...(hint ? { hint } : {}) })
}

const RATE_UNITS: Record<string, number> = { s: 1, sec: 1, min: 1 / 60, m: 1 / 60, h: 1 / 3600 }

/** "50/s", "3000/min", "2.5" (per second) → orders per second. */
export function parseRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|min|m|h))?\s*$/.exec(text)
  const n = m ? Number(m[1]) * RATE_UNITS[m[2] ?? 's']! : Number.NaN
  if (!Number.isFinite(n) || n <= 0) {
    throw usage(`--rate must be a positive rate like 50/s or 3000/min, got "${text}"`)
  }
  return n
}

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, min: 60, h: 3600 }

/** "60s", "2m", "500ms", "90" (seconds) → seconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/.exec(text)
  const n = m ? Number(m[1]) * DURATION_UNITS[m[2] ?? 's']! : Number.NaN
  if (!Number.isFinite(n) || n <= 0) {
    throw usage(`--duration must be a positive duration like 60s, 2m or 500ms, got "${text}"`)
  }
  return n
}

/** `--fault duplicate=0.01` (repeatable) → a partial faults object, checked against the schema. */
export function parseFaultFlags(flags: readonly string[]): Partial<Faults> {
  const out: Record<string, number> = {}
  const known = Object.keys(FaultsSchema.properties)
  for (const flag of flags) {
    const m = /^([a-z_]+)=(.+)$/.exec(flag)
    if (!m || !known.includes(m[1]!) || !Number.isFinite(Number(m[2]))) {
      throw usage(`--fault must be NAME=NUMBER with NAME one of ${known.join(', ')}; got "${flag}"`)
    }
    out[m[1]!] = Number(m[2])
  }
  parseFaults(out, '--fault flags')
  return out as Partial<Faults>
}

/** Config keys under `sim.` that a flag of this command sets, and the flag the user types for each. */
const SIM_FLAGS = {
  restaurants: '--restaurants',
  devicesPerRestaurant: '--devices-per-restaurant',
  rate: '--rate',
  durationS: '--duration',
  seed: '--seed',
  broker: '--broker',
  serial: '--serial',
  faults: '--faults',
  scenario: '--scenario',
  tlsDir: '--tls-dir',
  offlineQueueMax: '--offline-queue-max',
  speed: '--speed',
  start: '--start',
  pickupTrigger: '--pickup-trigger',
  window: '--window',
  ackTimeoutMs: '--ack-timeout-ms',
} as const

/**
 * loadConfig names a flag after its config key (`sim.restaurants` → `--sim-restaurants`); this
 * command's flags drop the section prefix, so a problem must name the flag the user typed.
 */
function loadSimConfig(flags: Record<string, unknown>, file: string | undefined) {
  try {
    return loadConfig('sim', SimConfigSchema, { flags, ...(file ? { file } : {}) }).sim
  } catch (error) {
    if (error instanceof ConfigError) {
      let message = error.message
      for (const [key, flag] of Object.entries(SIM_FLAGS)) {
        message = message.replaceAll(`(flag ${flagName(`sim.${key}`)})`, `(flag ${flag})`)
      }
      error.message = message
    }
    throw error
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

export function addSimCommand(program: Command, ctx: CommandContext): void {
  program
    .command('sim')
    .description(
      'simulated customer and restaurant devices (kiosks, kitchen terminals, pagers, sensors) over MQTT or serial',
    )
    .option('--config <file>', 'JSON configuration file (keys as in the README table)')
    .option('--restaurants <n>', 'restaurants (default 2)')
    .option(
      '--devices-per-restaurant <n>',
      'devices per restaurant: kitchen, kiosk, pager, fridge, fryer, table, app, pager, … (default 6)',
    )
    .option(
      '--rate <rate>',
      'mean order arrivals across the fleet, Poisson, e.g. 50/s or 3000/min (default 5/s)',
    )
    .option('--duration <time>', 'virtual run length, e.g. 60s, 2m (default 30s)')
    .option('--seed <n>', 'seed: one seed, one event stream (default 42)')
    .option('--broker <url>', 'MQTT broker URL (default mqtt://127.0.0.1:1883)')
    .option(
      '--serial <paths>',
      'comma-separated serial ports; device i uses port i (others use --broker if given)',
    )
    .option('--faults <file>', 'JSON file of fault rates')
    .option(
      '--fault <name=rate>',
      `one fault rate, repeatable (${EVENT_FAULTS.join(', ')}, disconnect_storms_per_min, serial_ber, …)`,
      collect,
    )
    .option(
      '--scenario <file>',
      'JSON file of behaviour knobs: menu, distributions, cancel/reject/rating rates',
    )
    .option('--tls-dir <dir>', 'folder with ca.pem and <device_id>.pem/.key (mutual TLS)')
    .option('--offline-queue-max <n>', 'events a device queues while offline (default 1000)')
    .option('--speed <x>', 'virtual seconds per wall second; 0 = as fast as acks allow (default 1)')
    .option('--start <time>', 'virtual start time, ISO 8601 or "now" (default 2026-03-02T14:30:00Z)')
    .addOption(
      new Option('--pickup-trigger <mode>', 'what starts the pickup after ready').choices(['sim', 'command']),
    )
    .option('--window <n>', 'QoS 1 messages in flight per device (default 8)')
    .option(
      '--ack-timeout-ms <ms>',
      'resend after reconnecting when no ack came in this time (default 10000)',
    )
    .option('--dry-run', 'no broker: write the event stream as JSON lines')
    .option('--out <file>', 'with --dry-run: write to this file instead of stdout')
    .option('--quiet', 'no progress output')
    .action(async (options: SimOptions) => {
      if (options.out !== undefined && !options.dryRun)
        throw usage('--out needs --dry-run', 'add --dry-run or leave --out out')
      const flags: Record<string, unknown> = {}
      const set = (key: keyof typeof SIM_FLAGS, value: unknown) => {
        if (value !== undefined) flags[`sim.${key}`] = value
      }
      set('restaurants', options.restaurants)
      set('devicesPerRestaurant', options.devicesPerRestaurant)
      set('rate', options.rate === undefined ? undefined : parseRate(options.rate))
      set('durationS', options.duration === undefined ? undefined : parseDuration(options.duration))
      set('seed', options.seed)
      set('broker', options.broker)
      set('serial', options.serial)
      set('faults', options.faults)
      set('scenario', options.scenario)
      set('tlsDir', options.tlsDir)
      set('offlineQueueMax', options.offlineQueueMax)
      set('speed', options.speed)
      set('start', options.start)
      set('pickupTrigger', options.pickupTrigger)
      set('window', options.window)
      set('ackTimeoutMs', options.ackTimeoutMs)
      const sim = loadSimConfig(flags, options.config)
      const faultFlags = parseFaultFlags(options.fault ?? [])
      const scenario = scenarioFromConfig(sim, Date.now(), faultFlags)

      if (options.dryRun) {
        let stream: WriteStream | undefined
        let write: (line: string) => void = (line) => ctx.out(line)
        if (options.out) {
          const s = createWriteStream(options.out)
          stream = s
          write = (line) => {
            s.write(line)
          }
        }
        const result = dryRun(scenario, write)
        if (stream)
          await new Promise<void>((resolve, reject) =>
            stream.end((e?: Error | null) => (e ? reject(e) : resolve())),
          )
        ctx.err(
          `sim dry run: ${result.lines} lines, ${result.counters.events} events (${formatCounts(result.counters.byType)}); ` +
            `faults ${formatCounts(result.counters.faults)}${options.out ? `; wrote ${options.out}` : ''}\n`,
        )
        return
      }

      const explicitBroker = options.broker !== undefined || process.env.PEDEPRONTO_SIM_BROKER !== undefined
      const mqtt = sim.serial.length === 0 || explicitBroker
      const log = createLogger('device-sim', { level: options.quiet ? 'warn' : 'info' })
      const progress = createProgress({
        label: 'sim',
        total: Math.round(sim.durationS),
        unit: 'virtual s',
        quiet: Boolean(options.quiet),
      })
      const abort = new AbortController()
      const onSignal = () => abort.abort()
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      let summary: Awaited<ReturnType<typeof runLive>>
      try {
        summary = await runLive({
          scenario,
          transportFor: transportFactory(sim, scenario, { mqtt }),
          speed: sim.speed,
          window: sim.window,
          offlineQueueMax: sim.offlineQueueMax,
          ackTimeoutMs: sim.ackTimeoutMs,
          reconnectBaseMs: sim.reconnectBaseMs,
          reconnectCapMs: sim.reconnectCapMs,
          signal: abort.signal,
          log,
          onProgress: (s) =>
            progress.update(Math.min(Math.round(sim.durationS), Math.floor(s.virtualMs / 1000)), {
              connected: `${s.connected}/${s.transmitting}`,
              sent: s.sends,
              acked: s.acked,
              queued: s.pending,
              errors: s.errors + s.connectFailures,
            }),
        })
      } finally {
        progress.stop()
        process.removeListener('SIGINT', onSignal)
        process.removeListener('SIGTERM', onSignal)
      }
      const s = summary.stats
      ctx.out('\nPede Pronto sim — summary\n')
      ctx.out(
        `  devices     ${s.devices} (${s.transmitting} transmitting), connects ${s.connects}, connect failures ${s.connectFailures}, disconnects ${s.disconnects}\n`,
      )
      ctx.out(`  generated   ${summary.sim.events} events: ${formatCounts(summary.sim.byType)}\n`)
      ctx.out(`  acked       ${s.acked} of ${s.sends} sends: ${formatCounts(summary.ackedByType)}\n`)
      ctx.out(
        `  delivery    retransmits ${s.retransmits}, ack timeouts ${s.ackTimeouts}, rejected ${s.rejected}, offline-queue drops ${s.offlineDropped}, still queued ${s.pending}\n`,
      )
      ctx.out(
        `  ack latency p50 ${summary.ackLatencyMs.p50} ms, p99 ${summary.ackLatencyMs.p99} ms, max ${summary.ackLatencyMs.max} ms (${summary.ackLatencyMs.samples} acks)\n`,
      )
      ctx.out(`  orders      ${formatCounts(summary.sim.orders)}\n`)
      ctx.out(`  faults      ${formatCounts(summary.sim.faults)}\n`)
      ctx.out(`  commands    ${formatCounts(summary.sim.commands)}\n`)
      ctx.out(
        `  wall time   ${(summary.wallMs / 1000).toFixed(1)} s${summary.drained ? '' : ' (drain timed out)'}\n`,
      )
      if (s.transmitting > 0 && s.connects === 0) {
        throw new PedeProntoError(
          'SIM_CONNECT_FAILED',
          `no device could connect to ${sim.serial.length > 0 ? sim.serial.join(', ') : sim.broker}`,
          {
            exitCode: ExitCode.UNAVAILABLE,
            hint: 'start a broker (`pedepronto gateway`, or mosquitto) or pass --broker / --serial, or use --dry-run',
          },
        )
      }
    })
}

function formatCounts(counts: object): string {
  const entries = Object.entries(counts as Record<string, number>).filter(([, v]) => v !== 0)
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${v}`).join(', ')
}
