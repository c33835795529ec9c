/**
 * `pedepronto sink`: the cloud sink (Kafka → Parquet lake, Glue, AWS IoT) with /healthz, /readyz and
 * /metrics, a status line, and a graceful drain on SIGINT/SIGTERM followed by a summary.
 */
import { CloudSink, type SinkConfig, SinkConfigSchema } from '@pedepronto/cloud-sink'
import { createLogger, createRegistry, loadConfig, OpsServer } from '@pedepronto/common'
import type { Command } from 'commander'
import { addSchemaFlags, schemaFlags } from '../config-flags.js'
import type { CommandContext } from '../context.js'

interface SinkOptions {
  config?: string
  [flag: string]: unknown
}

export function sinkFlagsFrom(options: SinkOptions): Record<string, unknown> {
  return schemaFlags(options, SinkConfigSchema)
}

export function addSinkConfigFlags(cmd: Command): Command {
  return addSchemaFlags(cmd, SinkConfigSchema).option(
    '--config <file>',
    'JSON configuration file (keys as in the README table)',
  )
}

export function loadSinkConfig(options: SinkOptions): SinkConfig {
  return loadConfig('sink', SinkConfigSchema, { flags: sinkFlagsFrom(options), file: options.config })
}

async function runSink(config: SinkConfig, ctx: CommandContext): Promise<void> {
  const logger = createLogger('cloud-sink')
  const registry = createRegistry('cloud-sink')
  const sink = new CloudSink(config, { logger, registry })
  const ops = new OpsServer(registry, [
    { name: 'kafka-group', check: () => sink.ready },
    { name: 'lake-target', check: () => sink.target.ready() },
  ])
  const address = await ops.start(config.ops.host, config.ops.port)
  ctx.err(`sink: ops http://${address.host}:${address.port} (/healthz /readyz /metrics)\n`)
  const started = Date.now()
  const { topics, skipped } = await sink.start()
  ctx.err(
    `sink: ${sink.target.location} ← ${topics.join(', ')}${skipped.length > 0 ? ` (not yet created: ${skipped.join(', ')})` : ''}\n`,
  )
  const status =
    config.sink.statusIntervalMs > 0
      ? setInterval(() => {
          const s = sink.status()
          ctx.err(
            `sink: files=${sink.summary.files} rows=${sink.summary.rows} rejected=${sink.summary.rejected} bytes=${sink.summary.bytes} buffered=${s.buffered} pending=${s.pending} partitions=${s.partitions}\n`,
          )
        }, config.sink.statusIntervalMs)
      : undefined
  status?.unref()
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  if (status) clearInterval(status)
  ctx.err('sink: draining (uploading open files, committing)…\n')
  const summary = await sink.stop()
  await ops.stop()
  ctx.out(
    `sink summary: ${((Date.now() - started) / 1000).toFixed(0)} s, ${summary.files} files, ${summary.rows} rows, ${summary.rejected} rejected, ${summary.bytes} bytes\n`,
  )
}

export function addSinkCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('sink')
    .description(
      'run the cloud sink: Kafka → exactly-once Parquet lake (S3 or folder), Glue partitions, AWS IoT shadows',
    )
    .addHelpText(
      'after',
      '\nEvery configuration key is also a flag and an environment variable; see README, "Configuration".',
    )
  addSinkConfigFlags(cmd).action(async (options: SinkOptions) => {
    await runSink(loadSinkConfig(options), ctx)
  })
}
