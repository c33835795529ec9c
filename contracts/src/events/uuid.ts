// UUIDv7 (RFC 9562 §5.7): 48-bit Unix ms timestamp, version 7, 74 random bits, variant 10.
// Clock and randomness are injected so that the simulator is reproducible from a seed; ids sort by
// creation time, which keeps Kafka/Parquet dedup indexes and S3 listings roughly time-ordered.
import { UUIDV7_REGEX } from './common.js'

const MAX_UNIX_TS_MS = 2 ** 48 - 1

/**
 * @param nowMs Unix epoch milliseconds, an integer in 0..2^48-1.
 * @param random Returns a number in [0, 1) like Math.random; called 10 times (one per random byte).
 */
export function uuidv7(nowMs: number, random: () => number): string {
  if (!Number.isInteger(nowMs) || nowMs < 0 || nowMs > MAX_UNIX_TS_MS) {
    throw new RangeError(`uuidv7: nowMs must be an integer in 0..2^48-1, got ${nowMs}`)
  }
  const bytes = new Uint8Array(16)
  let ts = nowMs
  // Big-endian timestamp; division instead of shifts because bitwise ops truncate to 32 bits.
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ts % 256
    ts = Math.floor(ts / 256)
  }
  for (let i = 6; i < 16; i++) bytes[i] = Math.floor(random() * 256) & 0xff
  bytes[6] = 0x70 | (bytes[6] & 0x0f)
  bytes[8] = 0x80 | (bytes[8] & 0x3f)
  let hex = ''
  for (const b of bytes) hex += b.toString(16).padStart(2, '0')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** The creation time (epoch ms) carried in a UUIDv7, or null if `id` is not a canonical UUIDv7. */
export function uuidv7Time(id: string): number | null {
  if (!UUIDV7_REGEX.test(id)) return null
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)
}

export function isUuidv7(id: unknown): id is string {
  return typeof id === 'string' && UUIDV7_REGEX.test(id)
}
