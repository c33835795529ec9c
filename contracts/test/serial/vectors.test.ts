// Checks the codec against contracts/vectors/serial-frames.json, the vectors shared with the C
// firmware, byte for byte; and checks that the committed file is exactly what the generator produces.
import { readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { SerialVectors } from '../../scripts/gen-serial-vectors.js'
import { renderSerialVectors } from '../../scripts/gen-serial-vectors.js'
import { cobsDecode, cobsEncode } from '../../src/serial/cobs.js'
import { crc16CcittFalse } from '../../src/serial/crc16.js'
import type { DecodeEvent } from '../../src/serial/decoder.js'
import { FrameDecoder } from '../../src/serial/decoder.js'
import type { FrameType } from '../../src/serial/frame.js'
import {
  decodeFrame,
  encodeFrame,
  FRAME_ERROR_REASONS,
  FRAME_TYPES,
  FRAME_VERSION,
  isFrameType,
  MAX_ENCODED_FRAME,
  MAX_PAYLOAD,
  MAX_RAW_FRAME,
  MAX_WIRE_FRAME,
  MIN_RAW_FRAME,
  NackCode,
  FrameType as Types,
} from '../../src/serial/frame.js'

// vitest compares typed arrays element by element through its generic path (about 1.5 ms per KiB);
// comparing the bytes directly keeps 10,000-run properties within seconds. Same verdicts.
expect.addEqualityTesters([
  (a: unknown, b: unknown) =>
    a instanceof Uint8Array && b instanceof Uint8Array
      ? a.length === b.length && Buffer.compare(a, b) === 0
      : undefined,
])

const VECTORS_URL = new URL('../../vectors/serial-frames.json', import.meta.url)
if (process.env.UPDATE_SERIAL_VECTORS === '1') writeFileSync(VECTORS_URL, renderSerialVectors())
const vectorsText = readFileSync(VECTORS_URL, 'utf8')
const vectors = JSON.parse(vectorsText) as SerialVectors

const fromHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'))
const toHex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')
const strip = (wire: Uint8Array): Uint8Array => wire.subarray(0, wire.length - 1)

function frameType(value: number): FrameType {
  if (!isFrameType(value)) throw new Error(`vector has unknown frame type ${value}`)
  return value
}

function describeEvents(events: readonly DecodeEvent[]) {
  return events.map((e) =>
    e.kind === 'frame'
      ? { kind: 'frame', type: e.frame.type, seq: e.frame.seq, payload_hex: toHex(e.frame.payload) }
      : { kind: 'error', reason: e.reason },
  )
}

function feed(bytes: Uint8Array, size: number): DecodeEvent[] {
  const decoder = new FrameDecoder()
  const events: DecodeEvent[] = []
  for (let at = 0; at < bytes.length; at += size) events.push(...decoder.push(bytes.subarray(at, at + size)))
  return events
}

describe('serial-frames.json', () => {
  it('is exactly what contracts/scripts/gen-serial-vectors.ts generates', () => {
    expect(vectorsText).toBe(renderSerialVectors())
  })

  it('states the same constants as the codec', () => {
    expect(vectors.constants).toEqual({
      version: FRAME_VERSION,
      max_payload: MAX_PAYLOAD,
      min_raw_frame: MIN_RAW_FRAME,
      max_raw_frame: MAX_RAW_FRAME,
      max_encoded_frame: MAX_ENCODED_FRAME,
      max_wire_frame: MAX_WIRE_FRAME,
      types: Types,
      nack_codes: NackCode,
    })
  })

  it('covers every type, both seq bounds, empty and maximal payloads, and every error reason', () => {
    expect(vectors.frames.length).toBeGreaterThanOrEqual(10)
    expect(new Set(vectors.frames.map((f) => f.type))).toEqual(new Set(FRAME_TYPES))
    const seqs = vectors.frames.map((f) => f.seq)
    expect(seqs).toContain(0)
    expect(seqs).toContain(65_535)
    const payloadLengths = vectors.frames.map((f) => f.payload_hex.length / 2)
    expect(payloadLengths).toContain(0)
    expect(payloadLengths).toContain(MAX_PAYLOAD)
    expect(Math.max(...vectors.frames.map((f) => f.wire_hex.length / 2))).toBe(MAX_WIRE_FRAME)
    expect(vectors.frames.some((f) => f.payload_hex.match(/^(..)*?00/) !== null)).toBe(true)
    expect(new Set(vectors.invalid.map((v) => v.expected_reason))).toEqual(new Set(FRAME_ERROR_REASONS))
  })

  describe('crc16', () => {
    it.each(vectors.crc16)('crc of $hex is $crc', ({ ascii, hex, crc }) => {
      if (ascii !== undefined) expect(toHex(new TextEncoder().encode(ascii))).toBe(hex)
      expect(crc16CcittFalse(fromHex(hex)).toString(16).padStart(4, '0')).toBe(crc)
    })
  })

  describe('cobs', () => {
    it.each(vectors.cobs)('$name', ({ raw, encoded }) => {
      expect(toHex(cobsEncode(fromHex(raw)))).toBe(encoded)
      const decoded = cobsDecode(fromHex(encoded))
      expect(decoded === null ? null : toHex(decoded)).toBe(raw)
    })
  })

  describe('frames', () => {
    it.each(vectors.frames)('$name', ({ type, seq, payload_hex, wire_hex }) => {
      const frame = { type: frameType(type), seq, payload: fromHex(payload_hex) }
      expect(toHex(encodeFrame(frame))).toBe(wire_hex)
      const wire = fromHex(wire_hex)
      expect(decodeFrame(strip(wire))).toEqual({ ok: true, frame: { version: 1, ...frame } })
      expect(describeEvents(feed(wire, 1))).toEqual([{ kind: 'frame', type, seq, payload_hex }])
    })
  })

  describe('invalid', () => {
    it.each(vectors.invalid)('$name', ({ wire_hex, expected_reason }) => {
      const wire = fromHex(wire_hex)
      expect(wire[wire.length - 1]).toBe(0)
      expect(decodeFrame(strip(wire))).toMatchObject({ ok: false, reason: expected_reason })
      const decoder = new FrameDecoder()
      expect(describeEvents(decoder.push(wire))).toEqual([{ kind: 'error', reason: expected_reason }])
      expect(decoder.stats.errors).toMatchObject({ [expected_reason]: 1 })
    })
  })

  describe('stream', () => {
    it.each(vectors.stream)('$name', ({ bytes_hex, expected }) => {
      const bytes = fromHex(bytes_hex)
      for (const size of [bytes.length, 1, 7, 254, 1036]) {
        expect(describeEvents(feed(bytes, size))).toEqual(expected)
      }
    })
  })

  // Exhaustive, hence deterministic, companion of the single-bit property in decoder.test.ts: every
  // bit of every vector frame, including COBS code bytes and the delimiter, flipped in turn, and a
  // 0x00 appended as a sender's flush would. Any frame that comes out must be the original or one of
  // the two corruptions the checksum cannot see (frame.ts, "Known limitation"): nothing else.
  it('lets through no single-bit corruption of a vector frame except the two known ones', () => {
    let flips = 0
    let appended = 0
    let truncated = 0
    for (const { type, seq, payload_hex, wire_hex } of vectors.frames) {
      const wire = fromHex(wire_hex)
      const crcHigh = encodedCrcHigh(type, seq, payload_hex)
      const corrupt = new Uint8Array(wire.length + 1)
      for (let bit = 0; bit < wire.length * 8; bit++) {
        corrupt.set(wire)
        const at = bit >> 3
        corrupt[at] ^= 0x80 >> (bit & 7)
        flips++
        for (const event of new FrameDecoder().push(corrupt)) {
          if (event.kind !== 'frame') continue
          const got = {
            type: event.frame.type,
            seq: event.frame.seq,
            payload_hex: toHex(event.frame.payload),
          }
          if (at === wire.length - 1 && corrupt[at] === 0x01) {
            appended++
            expect(got).toEqual({ type, seq, payload_hex: payload_hex + crcHigh })
          } else if (at === wire.length - 2 && wire[at] === 0x01 && corrupt[at] === 0x00) {
            truncated++
            expect(got).toEqual({ type, seq, payload_hex: payload_hex.slice(0, -2) })
          } else {
            expect(got).toEqual({ type, seq, payload_hex })
          }
        }
      }
    }
    expect(flips).toBe(vectors.frames.reduce((sum, f) => sum + f.wire_hex.length * 4, 0))
    // Systematic for every frame except those already at MAX_PAYLOAD, where the extra byte is too_long.
    expect(appended).toBe(vectors.frames.filter((f) => f.payload_hex.length / 2 < MAX_PAYLOAD).length)
    // A raw frame ending in 0x00 (CRC low byte 0) is still valid without it, unless that is too short.
    expect(truncated).toBe(
      vectors.frames.filter((f) => f.wire_hex.endsWith('0100') && f.payload_hex !== '').length,
    )
    expect(truncated).toBeGreaterThan(0)
  })
})

/** Hex of the CRC high byte of a frame, which becomes payload when a 0x00 is appended. */
function encodedCrcHigh(type: number, seq: number, payloadHex: string): string {
  const body = fromHex(
    `01${type.toString(16).padStart(2, '0')}${seq.toString(16).padStart(4, '0')}${payloadHex}`,
  )
  return (crc16CcittFalse(body) >> 8).toString(16).padStart(2, '0')
}
