/**
 * Columns (columns.ts) → Parquet bytes with apache-arrow (column data) and parquet-wasm (arrow-rs writer).
 * Types follow the lake's rules: integers INT64, timestamps INT64 TIMESTAMP(MILLIS, isAdjustedToUTC),
 * money INT64 cents, text UTF8. The writer was chosen over DuckDB's `COPY … TO` by measurement
 * (see the sink bench, `writer_*` figures): it needs no temp file or SQL round trip per file and keeps
 * our exact column types instead of DuckDB's inference.
 */
import * as arrow from 'apache-arrow'
import { readSchema } from 'parquet-wasm'
import { ColumnBatch } from './columns.js'
import { type ParquetCompression, parquetFromIpc } from './parquet-writer.js'
import type { ColumnDef, ColumnType, Row } from './tables.js'

export { type ParquetCompression, parquetFromIpc } from './parquet-writer.js'

function arrowType(type: ColumnType): arrow.DataType {
  switch (type) {
    case 'string':
      return new arrow.Utf8()
    case 'int64':
      return new arrow.Int64()
    case 'double':
      return new arrow.Float64()
    case 'timestamp_ms':
      return new arrow.TimestampMillisecond('UTC')
  }
}

export function arrowSchema(columns: readonly ColumnDef[], metadata?: Map<string, string>): arrow.Schema {
  return new arrow.Schema(
    columns.map((col) => new arrow.Field(col.name, arrowType(col.type), col.nullable)),
    metadata,
  )
}

/**
 * A text column's Arrow buffers: all values joined and encoded in one call (per-value TextEncoder
 * calls were the largest item of the encode in the sink bench), offsets from the string lengths when
 * the text is ASCII (bytes = UTF-16 units), else from each value's UTF-8 length.
 */
function utf8Column(values: readonly (string | null)[]): { offsets: Int32Array; data: Uint8Array } {
  const n = values.length
  const joined = values.join('') // null joins as ''
  const bytes = Buffer.from(joined, 'utf8')
  const offsets = new Int32Array(n + 1)
  const ascii = bytes.length === joined.length
  let total = 0
  for (let i = 0; i < n; i++) {
    const v = values[i]
    if (v != null) total += ascii ? v.length : Buffer.byteLength(v, 'utf8')
    offsets[i + 1] = total
  }
  return { offsets, data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) }
}

/**
 * Safe integers held as doubles → little-endian INT64 (Arrow buffers are little-endian, and so is
 * every platform Node runs on here), through the two 32-bit halves: no BigInt per value.
 */
function int64Column(values: Float64Array): BigInt64Array {
  const out = new BigInt64Array(values.length)
  const words = new Int32Array(out.buffer)
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number
    const hi = Math.floor(v / 4_294_967_296)
    words[2 * i] = v - hi * 4_294_967_296
    words[2 * i + 1] = hi
  }
  return out
}

/** Builds one column's Arrow data from the accumulator's arrays (no pass over row objects). */
function columnData(batch: ColumnBatch, c: number, type: arrow.DataType): arrow.Data {
  const col = batch.columns[c] as ColumnDef
  const nulls = batch.nullCount(c)
  // As before the accumulator: no bitmap at all when every value is valid.
  const base = {
    length: batch.length,
    nullCount: nulls,
    ...(nulls > 0 ? { nullBitmap: batch.validity(c) } : {}),
  }
  switch (col.type) {
    case 'string': {
      const { offsets, data } = utf8Column(batch.strings(c))
      return arrow.makeData({ ...base, type: type as arrow.Utf8, valueOffsets: offsets, data })
    }
    case 'double':
      return arrow.makeData({ ...base, type: type as arrow.Float64, data: batch.numbers(c) })
    case 'int64':
      return arrow.makeData({ ...base, type: type as arrow.Int64, data: int64Column(batch.numbers(c)) })
    case 'timestamp_ms':
      return arrow.makeData({
        ...base,
        type: type as arrow.TimestampMillisecond,
        data: int64Column(batch.numbers(c)),
      })
  }
}

/** Rows (tests, the writer bench) into an accumulator; the encoder has one path, from columns. */
export function columnsFromRows(columns: readonly ColumnDef[], rows: readonly Row[]): ColumnBatch {
  const batch = new ColumnBatch(columns, rows.length)
  for (const row of rows) batch.pushRow(row)
  return batch
}

/** An Arrow table with exactly the column list's schema (nullability included). */
export function toArrowTable(
  columns: readonly ColumnDef[],
  rows: readonly Row[] | ColumnBatch,
  metadata?: Map<string, string>,
): arrow.Table {
  const batch = rows instanceof ColumnBatch ? rows : columnsFromRows(columns, rows)
  if (batch.columns.length !== columns.length || batch.columns.some((c, i) => c.name !== columns[i]?.name)) {
    throw new TypeError('the accumulator was filled for another column list')
  }
  const schema = arrowSchema(columns, metadata)
  const children = columns.map((_, i) => columnData(batch, i, (schema.fields[i] as arrow.Field).type))
  const data = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: batch.length,
    nullCount: 0,
    children,
  })
  return new arrow.Table(schema, new arrow.RecordBatch(schema, data))
}

/** The Arrow IPC stream of the rows: what the Parquet writer reads, and what crosses to its worker. */
export function arrowIpc(
  columns: readonly ColumnDef[],
  rows: readonly Row[] | ColumnBatch,
  metadata?: Map<string, string>,
): Uint8Array {
  return arrow.tableToIPC(toArrowTable(columns, rows, metadata), 'stream')
}

export function encodeParquet(
  columns: readonly ColumnDef[],
  rows: readonly Row[] | ColumnBatch,
  compression: ParquetCompression = 'zstd',
  metadata?: Map<string, string>,
): Uint8Array {
  return parquetFromIpc(arrowIpc(columns, rows, metadata), compression)
}

/** Key-value metadata stored with the Arrow schema of a Parquet file (e.g. the Kafka offset range). */
export function parquetMetadata(bytes: Uint8Array): Map<string, string> {
  const schema = readSchema(bytes)
  const out = new Map<string, string>()
  for (const [k, v] of schema.metadata() as Map<string, string>) out.set(String(k), String(v))
  schema.free()
  return out
}
