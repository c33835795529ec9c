import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cobsEncode } from '../../src/serial/cobs.js'
import { crc16CcittFalse } from '../../src/serial/crc16.js'
import type { FrameType } from '../../src/serial/frame.js'
import {
  ackFor,
  decodeFrame,
  encodeFrame,
  FRAME_ERROR_REASONS,
  FRAME_TYPES,
  frameTypeName,
  MAX_ENCODED_FRAME,
  MAX_PAYLOAD,
  MAX_RAW_FRAME,
  MAX_WIRE_FRAME,
  NackCode,
  nackFor,
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

/** Wire bytes without the trailing delimiter, which is what decodeFrame takes. */
const strip = (wire: Uint8Array): Uint8Array => wire.subarray(0, wire.length - 1)

/** COBS-encodes a hand-built raw frame, appending a correct CRC when asked. */
function encodeRaw(body: number[], withCrc = true): Uint8Array {
  const bytes = Uint8Array.from(body)
  if (!withCrc) return cobsEncode(bytes)
  const crc = crc16CcittFalse(bytes)
  return cobsEncode(Uint8Array.from([...body, crc >> 8, crc & 0xff]))
}

describe('frame constants', () => {
  it('size the largest frame as 1 + 1 + 2 + 1024 + 2 raw bytes, plus COBS overhead and the delimiter', () => {
    expect(MAX_PAYLOAD).toBe(1024)
    expect(MAX_RAW_FRAME).toBe(1030)
    expect(MAX_ENCODED_FRAME).toBe(1030 + Math.ceil(1030 / 254))
    expect(MAX_WIRE_FRAME).toBe(1036)
  })

  it('number the frame types 1..7 and the NACK codes 1..3', () => {
    expect(Types).toEqual({ EVENT: 1, ACK: 2, NACK: 3, COMMAND: 4, CONFIG: 5, CONFIG_ACK: 6, HELLO: 7 })
    expect(FRAME_TYPES).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(NackCode).toEqual({ INVALID_PAYLOAD: 1, BUSY: 2, RATE_LIMITED: 3 })
    expect(FRAME_ERROR_REASONS).toEqual([
      'cobs',
      'too_short',
      'too_long',
      'crc',
      'bad_version',
      'unknown_type',
    ])
  })
})

describe('encodeFrame', () => {
  it('lays out version, type, seq big-endian, payload and CRC, then COBS and one delimiter', () => {
    const wire = encodeFrame({ type: Types.EVENT, seq: 0x1234, payload: Uint8Array.of(0xab) })
    const crc = crc16CcittFalse(Uint8Array.of(1, 1, 0x12, 0x34, 0xab))
    expect(wire).toEqual(Uint8Array.of(8, 1, 1, 0x12, 0x34, 0xab, crc >> 8, crc & 0xff, 0))
    expect(wire.indexOf(0)).toBe(wire.length - 1)
  })

  it.each([
    [{ seq: -1 }, /seq must be an integer in 0\.\.65535, got -1/],
    [{ seq: 65_536 }, /got 65536/],
    [{ seq: 1.5 }, /got 1\.5/],
    [{ seq: Number.NaN }, /got NaN/],
    [{ payload: new Uint8Array(MAX_PAYLOAD + 1) }, /payload is 1025 bytes, more than MAX_PAYLOAD \(1024\)/],
    [{ type: 0x08 as FrameType }, /type 8 is not one of 1, 2, 3, 4, 5, 6, 7/],
  ])('throws RangeError for %o', (override, message) => {
    const frame = { type: Types.ACK, seq: 1, payload: new Uint8Array(0), ...override }
    expect(() => encodeFrame(frame)).toThrow(RangeError)
    expect(() => encodeFrame(frame)).toThrow(message)
  })

  it('accepts the bounds: seq 0 and 65535, a 1024-byte payload', () => {
    const wire = encodeFrame({ type: Types.EVENT, seq: 65_535, payload: new Uint8Array(MAX_PAYLOAD).fill(9) })
    expect(wire.length).toBe(MAX_WIRE_FRAME)
    expect(decodeFrame(strip(wire))).toMatchObject({ ok: true, frame: { seq: 65_535 } })
    expect(decodeFrame(strip(encodeFrame(ackFor(0))))).toMatchObject({ ok: true, frame: { seq: 0 } })
  })
})

describe('decodeFrame', () => {
  it('reports each reason with the offending value in the detail', () => {
    expect(decodeFrame(new Uint8Array(MAX_ENCODED_FRAME + 1).fill(1))).toEqual({
      ok: false,
      reason: 'too_long',
      detail: '1036 encoded bytes, more than MAX_ENCODED_FRAME (1035)',
    })
    expect(decodeFrame(Uint8Array.of(5, 0x11, 0x22))).toEqual({
      ok: false,
      reason: 'cobs',
      detail: 'COBS code byte 0x05 at offset 0 points past the end of the 3-byte frame',
    })
    expect(decodeFrame(Uint8Array.of(3, 0x11, 0, 1))).toMatchObject({
      reason: 'cobs',
      detail: '0x00 at offset 2 inside a COBS frame',
    })
    expect(decodeFrame(new Uint8Array(0))).toMatchObject({ reason: 'cobs' })
    expect(decodeFrame(encodeRaw([1, 2, 0, 1, 0], false))).toEqual({
      ok: false,
      reason: 'too_short',
      detail: '5 raw bytes, fewer than the 6 of an empty frame',
    })
    expect(decodeFrame(encodeRaw([1, 1, 0, 1, ...new Uint8Array(MAX_PAYLOAD + 1)]))).toEqual({
      ok: false,
      reason: 'too_long',
      detail: '1031 raw bytes, more than MAX_RAW_FRAME (1030)',
    })
    const good = encodeRaw([1, 2, 0, 7])
    const bad = Uint8Array.from(good)
    bad[bad.length - 1] ^= 0x01
    const crc = crc16CcittFalse(Uint8Array.of(1, 2, 0, 7))
    expect(decodeFrame(bad)).toEqual({
      ok: false,
      reason: 'crc',
      detail: `frame carries crc 0x${(crc ^ 1).toString(16).padStart(4, '0')}, computed 0x${crc.toString(16).padStart(4, '0')} over 4 bytes`,
    })
    expect(decodeFrame(encodeRaw([2, 2, 0, 7]))).toEqual({
      ok: false,
      reason: 'bad_version',
      detail: 'version 2, this codec speaks only version 1',
    })
    expect(decodeFrame(encodeRaw([1, 0x08, 0, 7]))).toEqual({
      ok: false,
      reason: 'unknown_type',
      detail: 'type 0x08 is not a known frame type',
    })
  })

  it('checks the CRC before version and type, so noise is never reported as a bad version', () => {
    expect(decodeFrame(encodeRaw([9, 0x99, 0, 7, 0x12, 0x34], false))).toMatchObject({ reason: 'crc' })
  })

  // Property 1 of the brief: any frame survives encode -> decode unchanged.
  it('round-trips any frame (10,000 runs)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FRAME_TYPES),
        fc.integer({ min: 0, max: 0xffff }),
        fc.uint8Array({ maxLength: MAX_PAYLOAD, size: 'max' }),
        (type, seq, payload) => {
          const wire = encodeFrame({ type, seq, payload })
          expect({
            fits: wire.length <= MAX_WIRE_FRAME,
            delimiterOnlyAtEnd: wire.indexOf(0) === wire.length - 1,
            decoded: decodeFrame(strip(wire)),
          }).toEqual({
            fits: true,
            delimiterOnlyAtEnd: true,
            decoded: { ok: true, frame: { version: 1, type, seq, payload } },
          })
        },
      ),
      { numRuns: 10_000 },
    )
  })
})

describe('helpers', () => {
  it('names frame types, including unknown ones', () => {
    expect(FRAME_TYPES.map(frameTypeName)).toEqual([
      'EVENT',
      'ACK',
      'NACK',
      'COMMAND',
      'CONFIG',
      'CONFIG_ACK',
      'HELLO',
    ])
    expect(frameTypeName(0x08)).toBe('UNKNOWN(0x08)')
    expect(frameTypeName(0)).toBe('UNKNOWN(0x00)')
  })

  it('builds ACK and NACK frames for a seq', () => {
    expect(ackFor(513)).toEqual({ type: Types.ACK, seq: 513, payload: new Uint8Array(0) })
    expect(nackFor(513, NackCode.BUSY)).toEqual({ type: Types.NACK, seq: 513, payload: Uint8Array.of(2) })
    expect(decodeFrame(strip(encodeFrame(nackFor(7, NackCode.RATE_LIMITED))))).toEqual({
      ok: true,
      frame: { version: 1, type: Types.NACK, seq: 7, payload: Uint8Array.of(3) },
    })
  })
})

// frame.ts, "Known limitation": pinned so that a change of the checksum contract shows up here.
describe('known limitation of CRC-16/CCITT-FALSE (xorout 0)', () => {
  it('accepts any valid raw frame followed by 0x00, as a frame whose payload gained the CRC high byte', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FRAME_TYPES),
        fc.integer({ min: 0, max: 0xffff }),
        fc.uint8Array({ maxLength: 64 }),
        (type, seq, payload) => {
          const body = Uint8Array.from([1, type, seq >> 8, seq & 0xff, ...payload])
          const crc = crc16CcittFalse(body)
          const appended = cobsEncode(Uint8Array.from([...body, crc >> 8, crc & 0xff, 0]))
          expect(decodeFrame(appended)).toEqual({
            ok: true,
            frame: { version: 1, type, seq, payload: Uint8Array.from([...payload, crc >> 8]) },
          })
        },
      ),
      { numRuns: 1_000 },
    )
  })
})
