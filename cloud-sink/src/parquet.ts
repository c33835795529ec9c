/**
 * Rows → Parquet bytes with apache-arrow (column building) and parquet-wasm (arrow-rs writer).
 * Types follow the lake's rules: integers INT64, timestamps INT64 TIMESTAMP(MILLIS, isAdjustedToUTC),
 * money INT64 cents, text UTF8. The writer was chosen over DuckDB's `COPY … TO` by measurement
 * (see the sink bench, `writer_*` figures): it needs no temp file or SQL round trip per file and keeps
 * our exact column types instead of DuckDB's inference.
 */
import * as arrow from 'apache-arrow'
import {
  Compression,
  readSchema,
  Table as WasmTable,
  WriterPropertiesBuilder,
  writeParquet,
} from 'parquet-wasm'
import type { ColumnDef, ColumnType, Row } from './tables.js'

export type ParquetCompression = 'zstd' | 'snappy' | 'none'

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

const utf8 = new TextEncoder()

/** Validity bitmap (LSB first, Arrow spec "Validity bitmaps") and null count, or none when all valid. */
function validity(col: ColumnDef, rows: readonly Row[]): { bitmap: Uint8Array | undefined; nulls: number } {
  const bitmap = new Uint8Array(Math.ceil(rows.length / 8))
  let nulls = 0
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i]?.[col.name]
    if (v === null || v === undefined) nulls++
    else bitmap[i >> 3] = (bitmap[i >> 3] as number) | (1 << (i & 7))
  }
  return { bitmap: nulls === 0 ? undefined : bitmap, nulls }
}

/**
 * Builds one column's Arrow data directly from typed arrays: several times faster than
 * `vectorFromArray`'s generic builders, which dominated the encode time (sink bench).
 */
function columnData(col: ColumnDef, type: arrow.DataType, rows: readonly Row[]): arrow.Data {
  const n = rows.length
  const { bitmap, nulls } = validity(col, rows)
  const base = { length: n, nullCount: nulls, ...(bitmap ? { nullBitmap: bitmap } : {}) }
  switch (col.type) {
    case 'string': {
      const offsets = new Int32Array(n + 1)
      const parts: Uint8Array[] = new Array(n)
      let total = 0
      for (let i = 0; i < n; i++) {
        const v = rows[i]?.[col.name]
        const bytes = v === null || v === undefined ? new Uint8Array(0) : utf8.encode(String(v))
        parts[i] = bytes
        total += bytes.length
        offsets[i + 1] = total
      }
      const data = new Uint8Array(total)
      for (let i = 0; i < n; i++) data.set(parts[i] as Uint8Array, offsets[i] as number)
      return arrow.makeData({ ...base, type: type as arrow.Utf8, valueOffsets: offsets, data })
    }
    case 'double': {
      const data = new Float64Array(n)
      for (let i = 0; i < n; i++) data[i] = Number(rows[i]?.[col.name] ?? 0)
      return arrow.makeData({ ...base, type: type as arrow.Float64, data })
    }
    case 'int64':
    case 'timestamp_ms': {
      const data = new BigInt64Array(n)
      for (let i = 0; i < n; i++) {
        const v = rows[i]?.[col.name]
        data[i] = v === null || v === undefined ? 0n : BigInt(v as number)
      }
      return col.type === 'int64'
        ? arrow.makeData({ ...base, type: type as arrow.Int64, data })
        : arrow.makeData({ ...base, type: type as arrow.TimestampMillisecond, data })
    }
  }
}

/** An Arrow table with exactly the column list's schema (nullability included). */
export function toArrowTable(
  columns: readonly ColumnDef[],
  rows: readonly Row[],
  metadata?: Map<string, string>,
): arrow.Table {
  const schema = arrowSchema(columns, metadata)
  const children = columns.map((col, i) => columnData(col, (schema.fields[i] as arrow.Field).type, rows))
  const data = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: rows.length,
    nullCount: 0,
    children,
  })
  return new arrow.Table(schema, new arrow.RecordBatch(schema, data))
}

const COMPRESSION: Record<ParquetCompression, Compression> = {
  zstd: Compression.ZSTD,
  snappy: Compression.SNAPPY,
  none: Compression.UNCOMPRESSED,
}

export function encodeParquet(
  columns: readonly ColumnDef[],
  rows: readonly Row[],
  compression: ParquetCompression = 'zstd',
  metadata?: Map<string, string>,
): Uint8Array {
  const ipc = arrow.tableToIPC(toArrowTable(columns, rows, metadata), 'stream')
  const props = new WriterPropertiesBuilder()
    .setCompression(COMPRESSION[compression])
    .setCreatedBy('pedepronto cloud-sink')
    .build()
  return writeParquet(WasmTable.fromIPCStream(ipc), props)
}

/** Key-value metadata stored with the Arrow schema of a Parquet file (e.g. the Kafka offset range). */
export function parquetMetadata(bytes: Uint8Array): Map<string, string> {
  const schema = readSchema(bytes)
  const out = new Map<string, string>()
  for (const [k, v] of schema.metadata() as Map<string, string>) out.set(String(k), String(v))
  schema.free()
  return out
}
