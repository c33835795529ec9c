/**
 * `pedepronto gateway` runs the edge gateway; `pedepronto attach PORT…` runs it as a serial bridge
 * only (no MQTT listeners). Both stop gracefully on SIGINT/SIGTERM: listeners close, what devices
 * were promised is made durable, then a summary.
 */

import { createLogger, ExitCode, loadConfig, PedeProntoError } from '@pedepronto/common'
import {
  Gateway,
  type GatewayConfig,
  GatewayConfigSchema,
  openSerialPort,
  SerialBridge,
} from '@pedepronto/gateway'
import type { Command } from 'commander'
import { addSchemaFlags, schemaFlags } from '../config-flags.js'
import type { CommandContext } from '../context.js'

interface GatewayOptions {
  config?: string
  [flag: string]: unknown
}

async function runGateway(
  config: GatewayConfig,
  ports: string[],
  baud: number,
  ctx: CommandContext,
): Promise<void> {
  const logger = createLogger('gateway')
  const gateway = new Gateway(config, { logger })
  const addresses = await gateway.start()
  const bridges = ports.map(
    (path) =>
      new SerialBridge({
        path,
        baudRate: baud,
        open: openSerialPort,
        target: gateway,
        logger: logger.child({ port: path }),
      }),
  )
  await Promise.all(bridges.map((b) => b.start()))
  for (const [name, url] of Object.entries(addresses)) ctx.err(`gateway: ${name.padEnd(5)} ${url}\n`)
  for (const b of bridges)
    ctx.err(
      `gateway: serial ${b.stats.open ? 'open' : 'waiting for'} ${ports[bridges.indexOf(b)]} @ ${baud} baud\n`,
    )
  const started = Date.now()
  const counter = (name: string) => gateway.registry.getSingleMetric(name)
  const total = async (name: string) => {
    const m = counter(name)
    if (!m) return 0
    const v = await m.get()
    return v.values.reduce((s, x) => s + x.value, 0)
  }
  const status = setInterval(() => {
    void (async () => {
      const outbox = gateway.outbox?.stats()
      ctx.err(
        `gateway: connected=${await total('pedepronto_gateway_connected_devices')} durable=${await total('pedepronto_gateway_events_durable_total')} ` +
          `rejected=${await total('pedepronto_gateway_messages_rejected_total')} outbox=${outbox?.depth ?? 0} mode=${gateway.writer?.mode}\n`,
      )
    })()
  }, 10_000)
  status.unref()
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  clearInterval(status)
  ctx.err('gateway: stopping (draining what devices were promised)…\n')
  await Promise.all(bridges.map((b) => b.stop()))
  const summary = {
    durable: await total('pedepronto_gateway_events_durable_total'),
    rejected: await total('pedepronto_gateway_messages_rejected_total'),
    aclDenied: await total('pedepronto_gateway_acl_denied_total'),
    serialFrameErrors: await total('pedepronto_gateway_serial_frame_errors_total'),
  }
  await gateway.stop()
  ctx.out(
    `gateway summary: ${((Date.now() - started) / 1000).toFixed(0)} s, ${summary.durable} events durable, ${summary.rejected} dead-lettered, ` +
      `${summary.aclDenied} ACL refusals, ${summary.serialFrameErrors} corrupt serial frames\n`,
  )
}

export function addGatewayCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('gateway')
    .description(
      'run the edge gateway: MQTT (TCP, TLS with client certificates, WebSocket) and serial ports into Kafka',
    )
    .option('--config <file>', 'JSON configuration file (keys as in the README table)')
    .addHelpText(
      'after',
      '\nEvery configuration key is also a flag and an environment variable; see README, "Configuration".',
    )
  addSchemaFlags(cmd, GatewayConfigSchema).action(async (options: GatewayOptions) => {
    const config = loadConfig('gateway', GatewayConfigSchema, {
      flags: schemaFlags(options, GatewayConfigSchema),
      file: options.config,
    })
    await runGateway(config, config.gateway.serialPorts, 115_200, ctx)
  })
}

export function addAttachCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('attach')
    .description(
      'bridge serial ports (real boards or ptys) into Kafka: frames ACKed once durable, re-opened after unplug',
    )
    .argument('<ports...>', 'serial device paths, e.g. /dev/ttyUSB0 /dev/pts/3')
    .option('--baud <rate>', 'baud rate', '115200')
    .option('--config <file>', 'JSON configuration file')
  addSchemaFlags(cmd, GatewayConfigSchema).action(
    async (ports: string[], options: GatewayOptions & { baud: string }) => {
      const baud = Number(options.baud)
      if (!Number.isInteger(baud) || baud < 300 || baud > 4_000_000) {
        throw new PedeProntoError(
          'CLI_USAGE',
          `--baud must be an integer from 300 to 4000000, got "${options.baud}"`,
          { exitCode: ExitCode.USAGE },
        )
      }
      const config = loadConfig('gateway', GatewayConfigSchema, {
        flags: { ...schemaFlags(options, GatewayConfigSchema), 'gateway.brokerEnabled': false },
        file: options.config,
      })
      await runGateway(config, [...config.gateway.serialPorts, ...ports], baud, ctx)
    },
  )
}
