/**
 * `pedepronto lake query "SQL"` and `pedepronto lake report`: DuckDB over the lake (the local folder,
 * or the S3 lake copied into a temp folder), with one view per table.
 */
import {
  CloudSink,
  formatTable,
  lakeReport,
  materializeLake,
  queryLake,
  type SinkConfig,
} from '@pedepronto/cloud-sink'
import { createRegistry } from '@pedepronto/common'
import type { Command } from 'commander'
import type { CommandContext } from '../context.js'
import { addSinkConfigFlags, loadSinkConfig } from './sink.js'

async function withLakeDir<T>(
  config: SinkConfig,
  dirFlag: string | undefined,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  if (dirFlag !== undefined) return fn(dirFlag)
  if (config.sink.target === 'local') return fn(`${config.sink.localDir}/${config.sink.prefix}`)
  const sink = new CloudSink(config, { registry: createRegistry('lake-cli') })
  const copy = await materializeLake(sink.target, config.sink.prefix)
  try {
    return await fn(copy.dir)
  } finally {
    copy.cleanup()
    await sink.target.close()
  }
}

export function addLakeCommand(program: Command, ctx: CommandContext): void {
  const lake = program
    .command('lake')
    .description(
      'query the Parquet lake with DuckDB (views: order_events, telemetry, order_facts, restaurant_kpis, alerts)',
    )
  const query = lake
    .command('query')
    .description('run SQL over the lake tables and print a table (or JSON)')
    .argument('<sql>', 'SQL, e.g. "SELECT type, count(*) FROM order_events GROUP BY 1"')
    .option('--json', 'print JSON lines (one object per row)')
    .option(
      '--dir <folder>',
      'lake folder holding the table folders (default: sink.localDir/sink.prefix, or S3)',
    )
  addSinkConfigFlags(query).action(
    async (sql: string, options: { json?: boolean; dir?: string; [k: string]: unknown }) => {
      const config = loadSinkConfig(options)
      await withLakeDir(config, options.dir, async (dir) => {
        const result = await queryLake(dir, sql)
        if (options.json) {
          for (const row of result.rows)
            ctx.out(`${JSON.stringify(Object.fromEntries(result.columns.map((c, i) => [c, row[i]])))}\n`)
        } else ctx.out(`${formatTable(result)}\n`)
      })
    },
  )
  const report = lake
    .command('report')
    .description('orders per hour, mean preparation time and ratings per restaurant')
    .option('--dir <folder>', 'lake folder (default: sink.localDir/sink.prefix, or S3)')
  addSinkConfigFlags(report).action(async (options: { dir?: string; [k: string]: unknown }) => {
    const config = loadSinkConfig(options)
    await withLakeDir(config, options.dir, async (dir) => ctx.out(await lakeReport(dir)))
  })
}
