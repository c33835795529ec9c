// Serial frame codec: the contract between the gateway's serial bridge and device firmware.
// The C firmware reuses this layout byte for byte; contracts/vectors/serial-frames.json holds the
// shared test vectors that both implementations must reproduce.
//
// ---------------------------------------------------------------------------------------------------
// Frame layout, version 1 (../shared/DESIGN.md, "Contracts" > "Serial frames")
//
//   Raw frame (before stuffing), all multi-byte fields big-endian:
//
//     offset  size   field
//     0       1      version   u8, = 1
//     1       1      type      u8, one of FrameType below
//     2       2      seq       u16 BE, sender's sequence number; an ACK/NACK carries the seq it answers
//     4       n      payload   0..MAX_PAYLOAD (1024) bytes, meaning depends on type
//     4+n     2      crc16     u16 BE, CRC-16/CCITT-FALSE over bytes 0 .. 4+n-1 (version..payload)
//
//   There is no length field: the length comes from the delimiter. A raw frame is 6..1030 bytes.
//
//   CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no input or output reflection, xorout 0x0000,
//   check value over ASCII "123456789" = 0x29B1 (see crc16.ts).
//
//   On the wire: COBS(raw frame) followed by one 0x00 delimiter. COBS is Consistent Overhead Byte
//   Stuffing (S. Cheshire and M. Baker, IEEE/ACM Transactions on Networking 7(2), 1999; see
//   cobs.ts): it removes every 0x00 from the frame at a cost of at most ceil(n / 254) bytes, so the
//   largest wire frame is 1030 + ceil(1030 / 254) + 1 = 1036 bytes (MAX_WIRE_FRAME).
//
//   A sender may emit extra 0x00 bytes (typically one before a frame, to flush line noise out of the
//   receiver); a receiver ignores empty frames between delimiters without counting them as errors.
//
//   Types:
//     0x01 EVENT       device  -> gateway  UTF-8 JSON event envelope
//     0x02 ACK         either direction    empty; acknowledges the frame with the same seq
//     0x03 NACK        either direction    1 byte reason code (NackCode); rejects the frame with that seq
//     0x04 COMMAND     gateway -> device   UTF-8 JSON command
//     0x05 CONFIG      gateway or provisioner -> device
//                                          UTF-8 JSON settings (device id, restaurant id,
//                                          heartbeat interval, ...)
//     0x06 CONFIG_ACK  device  -> gateway  UTF-8 JSON, echoes the settings the device applied
//     0x07 HELLO       device  -> gateway  on boot, UTF-8 JSON {device_id, restaurant_id, firmware}
//
//   Receiver checks, in this order (the first failure is the FrameErrorReason):
//     1. too_long      more than 1035 stuffed bytes (MAX_ENCODED_FRAME), checked before any work
//     2. cobs          not a valid COBS encoding (a 0x00 inside, or a code byte points past the end)
//     3. too_short     fewer than 6 raw bytes (MIN_RAW_FRAME)
//        too_long      more than 1030 raw bytes (MAX_RAW_FRAME)
//     4. crc           checksum mismatch
//     5. bad_version   version != 1
//     6. unknown_type  type not in the table above
//   The CRC is checked before version and type because nothing in a corrupt frame can be trusted:
//   line noise is reported as `crc`, never as a made-up version or type. A future version must
//   therefore keep the CRC-16 trailer so that version 1 receivers report it as `bad_version`.
//   Payload semantics (JSON validity, NACK payload length) are checked above the codec.
//
//   Known limitation of the checksum as specified. With xorout 0 the CRC register is 0 after any
//   valid frame, and a 0x00 byte leaves a zero register at 0, so if R is a valid raw frame, R || 0x00
//   is one too: same type and seq, the payload gains R's CRC high byte. A single bit flip reaches it
//   on the wire: a delimiter 0x00 turned 0x01 and followed by another 0x00 (e.g. a sender's flush).
//   Conversely a valid frame whose CRC low byte is 0x00 stays valid without that byte, and loses it
//   (its payload loses its last byte) if its final COBS code byte 0x01 turns 0x00. Both effects are
//   pinned by tests and vectors. Until the contract changes (e.g. xorout 0xFFFF, i.e.
//   CRC-16/GENIBUS, check 0xD64E), receivers must check payload lengths exactly (ACK 0 bytes, NACK
//   1 byte) and parse JSON strictly: an altered JSON payload then fails to parse, except when the
//   added byte is JSON whitespace, which changes nothing. Such a failure can come from the line, so
//   a sender should retry an INVALID_PAYLOAD NACK a bounded number of times before giving up.
// ---------------------------------------------------------------------------------------------------

import { cobsDecode, cobsEncodeInto, cobsMaxEncodedLength } from './cobs.js'
import { crc16CcittFalse } from './crc16.js'

/** The only frame layout version this codec speaks. */
export const FRAME_VERSION = 1

/** Delimiter byte between COBS-encoded frames. */
export const FRAME_DELIMITER = 0x00

/** Largest payload, in bytes. */
export const MAX_PAYLOAD = 1024

/** version + type + seq. */
export const FRAME_HEADER_LENGTH = 4

/** The CRC-16 trailer. */
export const FRAME_CRC_LENGTH = 2

/** Smallest raw frame: header and CRC around an empty payload. */
export const MIN_RAW_FRAME = FRAME_HEADER_LENGTH + FRAME_CRC_LENGTH

/** Largest raw frame (before COBS): 1 + 1 + 2 + 1024 + 2 = 1030. */
export const MAX_RAW_FRAME = FRAME_HEADER_LENGTH + MAX_PAYLOAD + FRAME_CRC_LENGTH

/** Largest COBS-encoded frame without its delimiter: 1030 + ceil(1030 / 254) = 1035. */
export const MAX_ENCODED_FRAME = cobsMaxEncodedLength(MAX_RAW_FRAME)

/** Largest frame on the wire, delimiter included: 1036. */
export const MAX_WIRE_FRAME = MAX_ENCODED_FRAME + 1

/** Frame types (see the table at the top of this file). */
export const FrameType = {
  EVENT: 0x01,
  ACK: 0x02,
  NACK: 0x03,
  COMMAND: 0x04,
  CONFIG: 0x05,
  CONFIG_ACK: 0x06,
  HELLO: 0x07,
} as const
export type FrameType = (typeof FrameType)[keyof typeof FrameType]
export type FrameTypeName = keyof typeof FrameType

/** Every frame type, in numeric order. */
export const FRAME_TYPES: readonly FrameType[] = Object.values(FrameType)

/** Reason codes carried as the 1-byte payload of a NACK frame. */
export const NackCode = {
  /**
   * The payload could not be parsed or failed validation. Usually a sender bug, but a line error can
   * cause it too (see "Known limitation" above), so a bounded retry is worth it.
   */
  INVALID_PAYLOAD: 0x01,
  /** The receiver cannot take the frame now (e.g. the gateway outbox is full); retry later. */
  BUSY: 0x02,
  /** The sender exceeded its rate limit; retry after backing off. */
  RATE_LIMITED: 0x03,
} as const
export type NackCode = (typeof NackCode)[keyof typeof NackCode]

/** Why a frame was rejected; a closed list so that metrics have a fixed label set. */
export const FRAME_ERROR_REASONS = [
  'cobs',
  'too_short',
  'too_long',
  'crc',
  'bad_version',
  'unknown_type',
] as const
export type FrameErrorReason = (typeof FRAME_ERROR_REASONS)[number]

/** A decoded frame. `payload` is a view into a buffer owned by this frame alone. */
export interface Frame {
  version: typeof FRAME_VERSION
  type: FrameType
  seq: number
  payload: Uint8Array
}

/** What a sender supplies; the version is always FRAME_VERSION. */
export interface FrameInput {
  type: FrameType
  seq: number
  payload: Uint8Array
}

export type DecodeResult =
  | { ok: true; frame: Frame }
  | { ok: false; reason: FrameErrorReason; detail: string }

const TYPE_NAMES: ReadonlyMap<number, FrameTypeName> = new Map(
  (Object.entries(FrameType) as [FrameTypeName, FrameType][]).map(([name, value]) => [value, name]),
)

export function isFrameType(value: number): value is FrameType {
  return TYPE_NAMES.has(value)
}

/** 'EVENT', 'ACK', ... or 'UNKNOWN(0x08)' for a value outside the table. */
export function frameTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `UNKNOWN(${hexByte(type)})`
}

/** The ACK answering the frame with sequence number `seq`. */
export function ackFor(seq: number): FrameInput {
  return { type: FrameType.ACK, seq, payload: new Uint8Array(0) }
}

/** The NACK rejecting the frame with sequence number `seq`, for reason `code`. */
export function nackFor(seq: number, code: NackCode): FrameInput {
  return { type: FrameType.NACK, seq, payload: Uint8Array.of(code) }
}

/**
 * Encodes a frame into wire bytes: COBS(raw frame) followed by the 0x00 delimiter.
 * Throws RangeError on an oversized payload, a seq that is not a u16 integer, or an unknown type:
 * those are bugs in the sender, not conditions of the line.
 */
export function encodeFrame(frame: FrameInput): Uint8Array {
  const { type, seq, payload } = frame
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff) {
    throw new RangeError(`serial frame seq must be an integer in 0..65535, got ${String(seq)}`)
  }
  if (payload.length > MAX_PAYLOAD) {
    throw new RangeError(
      `serial frame payload is ${payload.length} bytes, more than MAX_PAYLOAD (${MAX_PAYLOAD}); ` +
        'split the message or shrink it',
    )
  }
  if (!isFrameType(type)) {
    throw new RangeError(`serial frame type ${String(type)} is not one of ${FRAME_TYPES.join(', ')}`)
  }
  const rawLength = MIN_RAW_FRAME + payload.length
  const raw = new Uint8Array(rawLength)
  raw[0] = FRAME_VERSION
  raw[1] = type
  raw[2] = seq >>> 8
  raw[3] = seq & 0xff
  raw.set(payload, FRAME_HEADER_LENGTH)
  const crc = crc16CcittFalse(raw.subarray(0, rawLength - FRAME_CRC_LENGTH))
  raw[rawLength - 2] = crc >>> 8
  raw[rawLength - 1] = crc & 0xff

  const out = new Uint8Array(cobsMaxEncodedLength(rawLength) + 1)
  const end = cobsEncodeInto(raw, out)
  out[end] = FRAME_DELIMITER
  return end + 1 === out.length ? out : out.subarray(0, end + 1)
}

/**
 * Decodes one COBS-encoded frame, without its delimiter. Never throws; see the check order at the
 * top of this file.
 */
export function decodeFrame(encoded: Uint8Array): DecodeResult {
  if (encoded.length > MAX_ENCODED_FRAME) {
    return fail(
      'too_long',
      `${encoded.length} encoded bytes, more than MAX_ENCODED_FRAME (${MAX_ENCODED_FRAME})`,
    )
  }
  const raw = cobsDecode(encoded)
  if (raw === null) return fail('cobs', describeCobsError(encoded))
  if (raw.length < MIN_RAW_FRAME) {
    return fail('too_short', `${raw.length} raw bytes, fewer than the ${MIN_RAW_FRAME} of an empty frame`)
  }
  if (raw.length > MAX_RAW_FRAME) {
    return fail('too_long', `${raw.length} raw bytes, more than MAX_RAW_FRAME (${MAX_RAW_FRAME})`)
  }
  const body = raw.length - FRAME_CRC_LENGTH
  const expected = (raw[body]! << 8) | raw[body + 1]!
  const actual = crc16CcittFalse(raw.subarray(0, body))
  if (actual !== expected) {
    return fail(
      'crc',
      `frame carries crc ${hexWord(expected)}, computed ${hexWord(actual)} over ${body} bytes`,
    )
  }
  const version = raw[0]!
  if (version !== FRAME_VERSION) {
    return fail('bad_version', `version ${version}, this codec speaks only version ${FRAME_VERSION}`)
  }
  const type = raw[1]!
  if (!isFrameType(type)) {
    return fail('unknown_type', `type ${hexByte(type)} is not a known frame type`)
  }
  return {
    ok: true,
    frame: {
      version: FRAME_VERSION,
      type,
      seq: (raw[2]! << 8) | raw[3]!,
      payload: raw.subarray(FRAME_HEADER_LENGTH, body),
    },
  }
}

function fail(reason: FrameErrorReason, detail: string): DecodeResult {
  return { ok: false, reason, detail }
}

// Only runs on the error path, so the hot decoder stays a single pass.
function describeCobsError(encoded: Uint8Array): string {
  if (encoded.length === 0) return 'empty input is not a COBS encoding'
  let read = 0
  while (read < encoded.length) {
    const code = encoded[read]!
    if (code === 0) return `0x00 at offset ${read} inside a COBS frame`
    const end = read + code
    for (let i = read + 1; i < Math.min(end, encoded.length); i++) {
      if (encoded[i] === 0) return `0x00 at offset ${i} inside a COBS frame`
    }
    if (end > encoded.length) {
      return `COBS code byte ${hexByte(code)} at offset ${read} points past the end of the ${encoded.length}-byte frame`
    }
    read = end
  }
  return 'invalid COBS encoding'
}

function hexByte(value: number): string {
  return `0x${value.toString(16).padStart(2, '0')}`
}

function hexWord(value: number): string {
  return `0x${value.toString(16).padStart(4, '0')}`
}
