import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import {
  type BenchReport,
  benchTable,
  createLogger,
  ExitCode,
  PedeProntoError,
  runBench,
} from '@pedepronto/common'
import { ALL_SERVICES, loadServices, servicesDown } from '@pedepronto/infra'
import type { Command } from 'commander'
import { BENCHES } from '../benches/index.js'
import type { CommandContext } from '../context.js'

interface BenchOptions {
  json?: string
  quick?: boolean
  markdown?: string
}

export function addBenchCommand(program: Command, ctx: CommandContext): void {
  const names = BENCHES.map((b) => b.name)
  program
    .command('bench')
    .description(`run a benchmark and write its figures as JSON (benches: ${names.join(', ')}, all)`)
    .argument('<name>', `one of: ${[...names, 'all'].join(', ')}, or "list"`)
    .option('--json <file>', 'write the JSON report to this file')
    .option('--quick', 'small sizes; ends within two minutes (CI runs this)')
    .option('--markdown <file>', 'also write a markdown table of the figures')
    .addHelpText(
      'after',
      '\nThe JSON is {"bench": NAME, "figures": [{"name", "value", "unit"}], "baseline": {…}, "ratio": …}\n' +
        '(baseline and ratio where a neutral baseline is measured in the same run).',
    )
    .action(async (name: string, options: BenchOptions) => {
      if (name === 'list') {
        for (const b of BENCHES) ctx.out(`${b.name.padEnd(12)} ${b.description}\n`)
        return
      }
      const selected = name === 'all' ? BENCHES : BENCHES.filter((b) => b.name === name)
      if (selected.length === 0) {
        throw new PedeProntoError('BENCH_UNKNOWN', `no benchmark named "${name}"`, {
          exitCode: ExitCode.USAGE,
          hint: `choose one of: ${[...names, 'all'].join(', ')}`,
        })
      }
      const log = createLogger('bench')
      const reports: BenchReport[] = []
      // Benches start the services they need; whatever was not running before is stopped after.
      const services = loadServices()
      const runningBefore = new Set(ALL_SERVICES.filter((name) => services[name].pid() !== undefined))
      try {
        for (const definition of selected) {
          ctx.err(`bench ${definition.name}: ${definition.description}${options.quick ? ' (quick)' : ''}\n`)
          const report = await runBench(definition, { quick: Boolean(options.quick), log })
          reports.push(report)
          for (const f of report.figures)
            ctx.out(
              `${report.bench.padEnd(10)} ${f.name.padEnd(36)} ${String(f.value).padStart(12)} ${f.unit}\n`,
            )
          if (report.ratio !== undefined)
            ctx.out(
              `${report.bench.padEnd(10)} ${'ratio to baseline'.padEnd(36)} ${String(report.ratio).padStart(12)} ×\n`,
            )
        }
      } finally {
        const startedByBenches = ALL_SERVICES.filter(
          (name) => !runningBefore.has(name) && services[name].pid() !== undefined,
        )
        if (startedByBenches.length > 0) await servicesDown(services, startedByBenches)
      }
      if (options.json) {
        mkdirSync(dirname(options.json), { recursive: true })
        const body = selected.length === 1 ? reports[0] : { bench: 'all', reports }
        writeFileSync(options.json, `${JSON.stringify(body, null, 2)}\n`)
        ctx.err(`wrote ${options.json}\n`)
      }
      if (options.markdown) {
        mkdirSync(dirname(options.markdown), { recursive: true })
        writeFileSync(options.markdown, `${benchTable(reports)}\n`)
      }
    })
}
