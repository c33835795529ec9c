/**
 * `pedepronto process` runs the edge processor (issue #5): exactly-once pre-aggregation from
 * `pp.orders.v1`/`pp.telemetry.v1` into order facts, KPIs, alerts, late events and order-ready
 * commands. `/healthz`, `/readyz`, `/metrics` on the ops port; a status line every 10 s on stderr;
 * SIGINT/SIGTERM drain (the running transaction commits, the groups are left) and a summary.
 */
import { createLogger, loadConfig } from '@pedepronto/common'
import { EdgeProcessor, ProcessorConfigSchema } from '@pedepronto/edge-processor'
import type { Command } from 'commander'
import { addSchemaFlags, schemaFlags } from '../config-flags.js'
import type { CommandContext } from '../context.js'

interface ProcessOptions {
  config?: string
  [flag: string]: unknown
}

export function addProcessCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('process')
    .description(
      'run the edge processor: dedup, order state machine, facts, KPI windows, alerts and order-ready commands, exactly once over Kafka',
    )
    .option('--config <file>', 'JSON configuration file (keys as in the README table)')
    .addHelpText(
      'after',
      '\nEvery configuration key is also a flag and an environment variable; see README, "Configuration".',
    )
  addSchemaFlags(cmd, ProcessorConfigSchema)
  cmd.action(async (options: ProcessOptions) => {
    const flags = schemaFlags(options, ProcessorConfigSchema)
    const config = loadConfig('process', ProcessorConfigSchema, { flags, file: options.config })
    const logger = createLogger('edge-processor')
    const processor = new EdgeProcessor(config, { logger })
    const started = Date.now()
    const stop = new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve())
      process.once('SIGTERM', () => resolve())
    })
    const { ops } = await processor.start()
    ctx.err(
      `process: ops http://${ops.host}:${ops.port} (/healthz /readyz /metrics), group ${config.processor.groupId}, ` +
        `topic prefix "${config.kafka.topicPrefix}"\n`,
    )
    const line = () => {
      const s = processor.stats()
      ctx.err(
        `process: ready=${processor.ready} in=${s.eventsIn} dup=${s.duplicates} facts=${s.outputs.fact} ` +
          `kpis=${s.outputs.kpi} alerts=${s.outputs.alert} late=${s.outputs.late} commands=${s.outputs.command} ` +
          `tx=${s.transactions} failed=${s.failedTransactions} replayed=${s.replayed} lag=${s.lag}\n`,
      )
    }
    const status =
      config.processor.statusIntervalMs > 0 ? setInterval(line, config.processor.statusIntervalMs) : undefined
    status?.unref()
    await stop
    if (status !== undefined) clearInterval(status)
    ctx.err('process: stopping (the running transactions commit, then the groups are left)…\n')
    await processor.stop()
    const s = processor.stats()
    ctx.out(
      `process summary: ${((Date.now() - started) / 1000).toFixed(0)} s, ${s.eventsIn} events in, ${s.duplicates} duplicates, ` +
        `${s.outputs.fact} facts, ${s.outputs.kpi} KPI windows, ${s.outputs.alert} alerts, ${s.outputs.late} late events, ` +
        `${s.outputs.command} commands, ${s.transactions} transactions (${s.failedTransactions} aborted), ${s.replayed} records replayed\n`,
    )
  })
}
