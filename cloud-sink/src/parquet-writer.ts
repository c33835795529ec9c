/**
 * Arrow IPC stream → Parquet bytes with parquet-wasm (the arrow-rs writer). Its own module with no
 * other import, so that the encoder worker (encoder-worker.ts) loads nothing but the writer.
 */
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm'

export type ParquetCompression = 'zstd' | 'snappy' | 'none'

const COMPRESSION: Record<ParquetCompression, Compression> = {
  zstd: Compression.ZSTD,
  snappy: Compression.SNAPPY,
  none: Compression.UNCOMPRESSED,
}

export function parquetFromIpc(ipc: Uint8Array, compression: ParquetCompression = 'zstd'): Uint8Array {
  const props = new WriterPropertiesBuilder()
    .setCompression(COMPRESSION[compression])
    .setCreatedBy('pedepronto cloud-sink')
    .build()
  return writeParquet(WasmTable.fromIPCStream(ipc), props)
}
