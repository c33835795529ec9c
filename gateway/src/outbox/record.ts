/**
 * What the outbox stores: one Kafka record as the producer would send it, and its binary codec.
 *
 * Layout (big-endian, like the Kafka protocol):
 *
 *   u8   version (1)
 *   f64  timestamp            any JS number round-trips bit for bit (ms since the epoch in practice)
 *   u16  topic length, topic bytes (UTF-8)
 *   i32  key length (-1 = null), key bytes (UTF-8)
 *   u16  header count, then per header: u16 name length, name bytes, u32 value length, value bytes
 *   u32  value length, value bytes (raw, never re-encoded)
 *
 * Fixed-width lengths instead of varints: the codec runs once per record on the append path, and
 * a bounds check per field is cheaper than a varint loop; the overhead is ~20 bytes per record.
 * Strings are UTF-8, so a string with a lone surrogate (not well-formed UTF-16) does not round-trip;
 * Kafka would encode it the same lossy way.
 */
import { OutboxError } from './errors.js'

export interface OutboxRecord {
  topic: string
  key: string | null
  value: Buffer
  headers: Record<string, string>
  timestamp: number
}

const VERSION = 1
const U16_MAX = 0xffff
const I32_MAX = 0x7fffffff
const U32_MAX = 0xffffffff

function invalid(what: string, bytes: number, limit: number): OutboxError {
  return new OutboxError(
    'GW_OUTBOX_INVALID',
    `outbox record ${what} is ${bytes} bytes; the limit is ${limit}`,
    {
      hint: 'reject the message as invalid at validation, before it reaches the outbox',
    },
  )
}

/** Bytes `writeRecord` will use for this record. */
export function encodedRecordSize(record: OutboxRecord): number {
  let size = 1 + 8 + 2 + Buffer.byteLength(record.topic, 'utf8') + 4 + 2 + 4 + record.value.length
  if (record.key !== null) size += Buffer.byteLength(record.key, 'utf8')
  for (const name of Object.keys(record.headers)) {
    size += 2 + Buffer.byteLength(name, 'utf8') + 4 + Buffer.byteLength(record.headers[name]!, 'utf8')
  }
  return size
}

function writeString(target: Buffer, offset: number, text: string, lengthBytes: 2 | 4, what: string): number {
  const start = offset + lengthBytes
  const written = target.write(text, start, 'utf8')
  const limit = lengthBytes === 2 ? U16_MAX : I32_MAX
  if (written > limit) throw invalid(what, written, limit)
  if (lengthBytes === 2) target.writeUInt16BE(written, offset)
  else target.writeInt32BE(written, offset)
  return start + written
}

/**
 * Writes the record into `target` at `offset` (which must have `encodedRecordSize` bytes free) and
 * returns the offset after it. The outbox encodes straight into its frame buffer, so no copy.
 */
export function writeRecord(record: OutboxRecord, target: Buffer, offset: number): number {
  let o = target.writeUInt8(VERSION, offset)
  o = target.writeDoubleBE(record.timestamp, o)
  o = writeString(target, o, record.topic, 2, 'topic')
  if (record.key === null) o = target.writeInt32BE(-1, o)
  else o = writeString(target, o, record.key, 4, 'key')
  const names = Object.keys(record.headers)
  if (names.length > U16_MAX) throw invalid('header count', names.length, U16_MAX)
  o = target.writeUInt16BE(names.length, o)
  for (const name of names) {
    o = writeString(target, o, name, 2, 'header name')
    o = writeString(target, o, record.headers[name]!, 4, 'header value')
  }
  if (record.value.length > U32_MAX) throw invalid('value', record.value.length, U32_MAX)
  o = target.writeUInt32BE(record.value.length, o)
  o += record.value.copy(target, o)
  return o
}

export function encodeRecord(record: OutboxRecord): Buffer {
  const target = Buffer.allocUnsafe(encodedRecordSize(record))
  const end = writeRecord(record, target, 0)
  return end === target.length ? target : target.subarray(0, end)
}

function corrupt(detail: string): OutboxError {
  return new OutboxError('GW_OUTBOX_CORRUPT', `outbox record cannot be decoded: ${detail}`)
}

class Reader {
  offset: number
  constructor(
    private readonly buf: Buffer,
    start: number,
    private readonly end: number,
  ) {
    this.offset = start
  }
  need(n: number, what: string): void {
    if (n < 0 || this.offset + n > this.end)
      throw corrupt(`${what} needs ${n} bytes at ${this.offset}, only ${this.end - this.offset} left`)
  }
  u8(what: string): number {
    this.need(1, what)
    return this.buf.readUInt8(this.offset++)
  }
  u16(what: string): number {
    this.need(2, what)
    const v = this.buf.readUInt16BE(this.offset)
    this.offset += 2
    return v
  }
  i32(what: string): number {
    this.need(4, what)
    const v = this.buf.readInt32BE(this.offset)
    this.offset += 4
    return v
  }
  u32(what: string): number {
    this.need(4, what)
    const v = this.buf.readUInt32BE(this.offset)
    this.offset += 4
    return v
  }
  f64(what: string): number {
    this.need(8, what)
    const v = this.buf.readDoubleBE(this.offset)
    this.offset += 8
    return v
  }
  bytes(n: number, what: string): Buffer {
    this.need(n, what)
    const v = this.buf.subarray(this.offset, this.offset + n)
    this.offset += n
    return v
  }
  string(n: number, what: string): string {
    this.need(n, what)
    const v = this.buf.toString('utf8', this.offset, this.offset + n)
    this.offset += n
    return v
  }
}

/**
 * Decodes one record occupying exactly `buf[start, end)`. The returned `value` is a view into
 * `buf` (zero copy): keep `buf` unmodified for as long as the record is used.
 */
export function decodeRecord(buf: Buffer, start = 0, end = buf.length): OutboxRecord {
  const r = new Reader(buf, start, end)
  const version = r.u8('version')
  if (version !== VERSION) throw corrupt(`version ${version}, this build reads ${VERSION}`)
  const timestamp = r.f64('timestamp')
  const topic = r.string(r.u16('topic length'), 'topic')
  const keyLength = r.i32('key length')
  if (keyLength < -1) throw corrupt(`key length ${keyLength}`)
  const key = keyLength === -1 ? null : r.string(keyLength, 'key')
  const count = r.u16('header count')
  const headers: Record<string, string> = {}
  for (let i = 0; i < count; i++) {
    const name = r.string(r.u16('header name length'), 'header name')
    const value = r.string(r.u32('header value length'), 'header value')
    // defineProperty, not assignment: a header named "__proto__" must stay a header, not a prototype.
    Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true })
  }
  const value = r.bytes(r.u32('value length'), 'value')
  if (r.offset !== end) throw corrupt(`${end - r.offset} trailing bytes after the value`)
  return { topic, key, value, headers, timestamp }
}
