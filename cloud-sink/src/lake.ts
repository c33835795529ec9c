/**
 * Queries over the lake with DuckDB: one view per table over
 * `read_parquet('<dir>/<table>/**\/*.parquet', hive_partitioning = true, union_by_name = true)`
 * (union_by_name lets files written before a column was added read with NULLs). An S3 lake is first
 * copied into a temp folder with the same layout.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { DuckDBInstance, type Json } from '@duckdb/node-api'
import { SinkError } from './errors.js'
import { parseFileKey } from './layout.js'
import { type ColumnType, TABLES } from './tables.js'
import type { LakeTarget } from './targets.js'

function duckType(type: ColumnType): string {
  return type === 'string'
    ? 'VARCHAR'
    : type === 'int64'
      ? 'BIGINT'
      : type === 'double'
        ? 'DOUBLE'
        : 'TIMESTAMPTZ'
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`

function hasParquet(dir: string): boolean {
  if (!existsSync(dir)) return false
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.parquet') && !entry.name.startsWith('.')) return true
    if (entry.isDirectory() && hasParquet(join(dir, entry.name))) return true
  }
  return false
}

/** The folder holding the table folders: `dir` itself, or `dir/<prefix>` one level down. */
export function resolveLakeDir(dir: string): string {
  const abs = resolve(dir)
  const isLake = (d: string) => TABLES.some((t) => existsSync(join(d, t.name)))
  if (isLake(abs) || !existsSync(abs)) return abs
  for (const entry of readdirSync(abs, { withFileTypes: true })) {
    if (entry.isDirectory() && isLake(join(abs, entry.name))) return join(abs, entry.name)
  }
  return abs
}

/** `CREATE VIEW` statements for every table; a table without files is an empty typed view. */
export function viewStatements(dir: string): string[] {
  return TABLES.map((t) => {
    const folder = join(dir, t.name)
    if (hasParquet(folder)) {
      const glob = `${folder}/**/*.parquet`
      return `CREATE OR REPLACE VIEW ${t.name} AS SELECT * FROM read_parquet(${sqlString(glob)}, hive_partitioning = true, union_by_name = true)`
    }
    const cols = [
      ...t.columns.map((c) => `CAST(NULL AS ${duckType(c.type)}) AS ${c.name}`),
      'CAST(NULL AS VARCHAR) AS dt',
      'CAST(NULL AS BIGINT) AS hr',
    ]
    return `CREATE OR REPLACE VIEW ${t.name} AS SELECT ${cols.join(', ')} WHERE false`
  })
}

export interface QueryResult {
  columns: string[]
  rows: Json[][]
}

/** Runs SQL against the lake folder (the one holding the table folders, or its parent). */
export async function queryLake(dir: string, sql: string): Promise<QueryResult> {
  const lakeDir = resolveLakeDir(dir)
  const instance = await DuckDBInstance.create(':memory:')
  const con = await instance.connect()
  try {
    await con.run("SET TimeZone = 'UTC'")
    for (const stmt of viewStatements(lakeDir)) await con.run(stmt)
    const reader = await con.runAndReadAll(sql)
    return { columns: reader.columnNames(), rows: reader.getRowsJson() }
  } catch (error) {
    throw new SinkError('SINK_QUERY_FAILED', `query failed: ${(error as Error).message}`, {
      cause: error,
      hint: `the views are ${TABLES.map((t) => t.name).join(', ')} (plus dt and hr columns); check the SQL`,
    })
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}

function cell(v: Json): string {
  if (v === null) return 'NULL'
  return typeof v === 'object' ? JSON.stringify(v) : String(v)
}

/** A plain-text table, numbers right-aligned. */
export function formatTable(result: QueryResult): string {
  const texts = result.rows.map((r) => r.map(cell))
  const widths = result.columns.map((c, i) => Math.max(c.length, ...texts.map((r) => (r[i] ?? '').length)))
  const numeric = result.columns.map(
    (_, i) =>
      result.rows.length > 0 &&
      result.rows.every(
        (r) => typeof r[i] === 'number' || r[i] === null || /^-?\d+(\.\d+)?$/.test(cell(r[i] ?? null)),
      ),
  )
  const line = (cells: string[]) =>
    cells
      .map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [
    line(result.columns),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...texts.map(line),
    `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`,
  ].join('\n')
}

/** Copies the Parquet files of an S3 (or any) lake into a temp folder; call cleanup when done. */
export async function materializeLake(
  target: LakeTarget,
  prefix: string,
): Promise<{ dir: string; files: number; cleanup(): void }> {
  const root = mkdtempSync(join(tmpdir(), 'pp-lake-'))
  const keyPrefix = prefix === '' ? '' : `${prefix}/`
  const objects = (await target.list(keyPrefix)).filter((o) => parseFileKey(o.key)?.ext === 'parquet')
  let files = 0
  for (const o of objects) {
    const bytes = await target.get(o.key)
    if (!bytes) continue
    const path = join(root, o.key.slice(keyPrefix.length))
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, bytes)
    files++
  }
  return { dir: root, files, cleanup: () => rmSync(root, { recursive: true, force: true }) }
}

export const REPORT_QUERIES = {
  'Orders placed per hour (event time, UTC)': `
    SELECT strftime(date_trunc('hour', event_time), '%Y-%m-%d %H:00') AS hour, restaurant_id, count(*) AS orders,
           sum(total_cents) AS revenue_cents
    FROM order_events WHERE type = 'order.placed' GROUP BY ALL ORDER BY hour, restaurant_id`,
  'Mean preparation time per restaurant (accepted → ready)': `
    WITH per_order AS (
      SELECT restaurant_id, order_id,
             min(event_time) FILTER (WHERE status_to = 'accepted') AS accepted,
             min(event_time) FILTER (WHERE status_to = 'ready') AS ready
      FROM order_events WHERE type = 'order.status_changed' GROUP BY ALL)
    SELECT restaurant_id, count(*) AS orders_ready,
           round(avg(epoch_ms(ready) - epoch_ms(accepted)) / 1000.0, 1) AS prep_mean_s,
           round(quantile_disc(epoch_ms(ready) - epoch_ms(accepted), 0.95) / 1000.0, 1) AS prep_p95_s
    FROM per_order WHERE accepted IS NOT NULL AND ready IS NOT NULL GROUP BY ALL ORDER BY restaurant_id`,
  'Ratings per restaurant': `
    SELECT restaurant_id, count(*) AS ratings, round(avg(rating), 2) AS rating_mean,
           count(*) FILTER (WHERE rating <= 2) AS low_ratings
    FROM order_events WHERE type = 'order.rated' GROUP BY ALL ORDER BY restaurant_id`,
} as const

/** The lake report: orders per hour, mean preparation time and ratings per restaurant. */
export async function lakeReport(dir: string): Promise<string> {
  const sections: string[] = [`Lake report (${resolveLakeDir(dir)})`]
  for (const [title, sql] of Object.entries(REPORT_QUERIES)) {
    sections.push('', title, formatTable(await queryLake(dir, sql)))
  }
  return `${sections.join('\n')}\n`
}
