/**
 * The Parquet writer comparison of the sink bench: the sink's own path — record values through the
 * table's `writeRow` into the column accumulator, Arrow IPC, parquet-wasm (zstd, snappy) — against
 * DuckDB `COPY (SELECT * FROM read_json(…)) TO 'x.parquet'` of the same JSON lines. Both include
 * parsing the JSON; the sink's side also validates every event against the contract, DuckDB's does not.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { type BenchFigure, median, round } from '@pedepronto/common'
import { ColumnBatch } from './columns.js'
import { encodeParquet } from './parquet.js'
import { ORDER_EVENTS } from './tables.js'

export async function benchWriters(values: Buffer[], runs: number): Promise<BenchFigure[]> {
  let rows = new ColumnBatch(ORDER_EVENTS.columns, values.length)
  const timed = (fn: () => void) => {
    const t0 = performance.now()
    fn()
    return performance.now() - t0
  }
  const toRows = () => {
    rows = new ColumnBatch(ORDER_EVENTS.columns, values.length)
    for (const v of values) {
      rows.beginRow()
      if (ORDER_EVENTS.writeRow(v, rows).ok) rows.commitRow()
    }
  }
  const zstd: number[] = []
  const snappy: number[] = []
  let zBytes = 0
  let sBytes = 0
  for (let i = 0; i < runs; i++) {
    zstd.push(
      timed(() => {
        toRows()
        zBytes = encodeParquet(ORDER_EVENTS.columns, rows, 'zstd').length
      }),
    )
    snappy.push(
      timed(() => {
        toRows()
        sBytes = encodeParquet(ORDER_EVENTS.columns, rows, 'snappy').length
      }),
    )
  }
  const dir = mkdtempSync(join(tmpdir(), 'pp-bench-writer-'))
  const duck: number[] = []
  let dBytes = 0
  try {
    writeFileSync(join(dir, 'in.jsonl'), `${values.map((v) => v.toString('utf8')).join('\n')}\n`)
    const db = await DuckDBInstance.create(':memory:')
    const con = await db.connect()
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now()
      await con.run(
        `COPY (SELECT * FROM read_json('${join(dir, 'in.jsonl')}')) TO '${join(dir, `out${i}.parquet`)}' (FORMAT parquet, COMPRESSION zstd)`,
      )
      duck.push(performance.now() - t0)
      dBytes = statSync(join(dir, `out${i}.parquet`)).size
    }
    con.closeSync()
    db.closeSync()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const per = (ms: number) => round(values.length / (ms / 1000), 0)
  return [
    { name: 'writer_parquet_wasm_zstd', value: per(median(zstd)), unit: 'events/s' },
    { name: 'writer_parquet_wasm_snappy', value: per(median(snappy)), unit: 'events/s' },
    { name: 'writer_duckdb_copy_zstd', value: per(median(duck)), unit: 'events/s' },
    { name: 'writer_zstd_bytes_per_event', value: round(zBytes / values.length, 1), unit: 'B' },
    { name: 'writer_snappy_bytes_per_event', value: round(sBytes / values.length, 1), unit: 'B' },
    { name: 'writer_duckdb_bytes_per_event', value: round(dBytes / values.length, 1), unit: 'B' },
  ]
}
