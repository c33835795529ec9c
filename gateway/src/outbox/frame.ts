/**
 * The segment file format. A segment is a sequence of frames with nothing between them:
 *
 *   u32  body length (BE)
 *   u32  CRC-32 of the body (BE)
 *   body: u64 entry id (BE) + the encoded record (record.ts)
 *
 * The CRC is what lets recovery tell a whole entry from a torn one: a SIGKILL or power cut in the
 * middle of a write leaves a prefix of the frame (or, on some file systems after power loss, a
 * zero-filled or stale tail) and its CRC will not match. The id in the body makes a frame
 * self-describing, so a segment spliced from the wrong place is detected rather than renumbered.
 */
import { crc32 } from './crc32.js'
import { decodeRecord, encodedRecordSize, type OutboxRecord, writeRecord } from './record.js'

export const FRAME_HEADER_BYTES = 8
const ID_BYTES = 8
/** Where the encoded record starts inside a frame. */
export const FRAME_RECORD_OFFSET = FRAME_HEADER_BYTES + ID_BYTES
const TWO_32 = 2 ** 32

/** Bytes one record occupies on disk, framed; this is what `maxBytes` counts. */
export function frameSize(record: OutboxRecord): number {
  return FRAME_RECORD_OFFSET + encodedRecordSize(record)
}

/**
 * Encodes the record into a new frame whose id and CRC are not yet set: ids are assigned when the
 * group commit forms its batch (so id order is append-call order), by `sealFrame`.
 */
export function openFrame(record: OutboxRecord): Buffer {
  const frame = Buffer.allocUnsafe(frameSize(record))
  writeRecord(record, frame, FRAME_RECORD_OFFSET)
  return frame
}

export function sealFrame(frame: Buffer, id: number): void {
  frame.writeUInt32BE(frame.length - FRAME_HEADER_BYTES, 0)
  // Two u32 halves rather than a BigInt: ids stay below 2^53, and this is the hot path.
  frame.writeUInt32BE(Math.floor(id / TWO_32), FRAME_HEADER_BYTES)
  frame.writeUInt32BE(id % TWO_32, FRAME_HEADER_BYTES + 4)
  frame.writeUInt32BE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 4)
}

export function encodeFrame(id: number, record: OutboxRecord): Buffer {
  const frame = openFrame(record)
  sealFrame(frame, id)
  return frame
}

export type FrameScan =
  | { kind: 'frame'; id: number; frameBytes: number }
  | { kind: 'bad'; reason: string }
  | { kind: 'end' }

/** Reads the frame header at `offset` and checks it; does not decode the record. */
export function scanFrame(buf: Buffer, offset: number): FrameScan {
  const left = buf.length - offset
  if (left === 0) return { kind: 'end' }
  if (left < FRAME_HEADER_BYTES) return { kind: 'bad', reason: `${left} bytes left, a frame header needs 8` }
  const length = buf.readUInt32BE(offset)
  if (length < ID_BYTES + 1) return { kind: 'bad', reason: `body length ${length} is too small` }
  if (length > left - FRAME_HEADER_BYTES)
    return { kind: 'bad', reason: `body length ${length} runs past the end of the file (${left - 8} left)` }
  const body = buf.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length)
  const expected = buf.readUInt32BE(offset + 4)
  const actual = crc32(body)
  if (actual !== expected)
    return { kind: 'bad', reason: `CRC-32 ${hex(actual)} does not match the stored ${hex(expected)}` }
  const high = body.readUInt32BE(0)
  if (high >= 2 ** 21) return { kind: 'bad', reason: 'entry id is above 2^53' }
  return { kind: 'frame', id: high * TWO_32 + body.readUInt32BE(4), frameBytes: FRAME_HEADER_BYTES + length }
}

/** Decodes the record of a frame that `scanFrame` accepted; `frame` is exactly one frame. */
export function frameRecord(frame: Buffer): OutboxRecord {
  return decodeRecord(frame, FRAME_RECORD_OFFSET, frame.length)
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`
}

/** Segment files are named by their first entry id, zero-padded to 20 digits so they sort as text. */
export const SEGMENT_NAME = /^(\d{20})\.seg$/

export function segmentName(baseId: number): string {
  return `${String(baseId).padStart(20, '0')}.seg`
}
