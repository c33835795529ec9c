/**
 * CRC-32 (IEEE 802.3, the zlib/gzip polynomial 0xEDB88320, reflected) over a frame body. Node has
 * `zlib.crc32` since 20.15 / 22.2 and it runs in native code; `engines` allows Node 20.11, so older
 * runtimes get the table-driven fallback below, which produces the same value.
 */
import * as zlib from 'node:zlib'

let table: Uint32Array | undefined

function makeTable(): Uint32Array {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
}

/** The portable implementation; exported so a test can check it agrees with the native one. */
export function crc32Portable(data: Uint8Array): number {
  table ??= makeTable()
  let c = 0xffffffff
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

// A namespace import, not `import { crc32 }`: on a Node without it a named import fails at link time.
const native: ((data: Uint8Array) => number) | undefined =
  typeof zlib.crc32 === 'function' ? (data) => zlib.crc32(data) : undefined

export const crc32: (data: Uint8Array) => number = native ?? crc32Portable
