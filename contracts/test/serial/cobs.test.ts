import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cobsDecode, cobsEncode, cobsEncodeInto, cobsMaxEncodedLength } from '../../src/serial/cobs.js'

// vitest compares typed arrays element by element through its generic path (about 1.5 ms per KiB);
// comparing the bytes directly keeps 10,000-run properties within seconds. Same verdicts.
expect.addEqualityTesters([
  (a: unknown, b: unknown) =>
    a instanceof Uint8Array && b instanceof Uint8Array
      ? a.length === b.length && Buffer.compare(a, b) === 0
      : undefined,
])

const fromHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'))

describe('cobsEncode / cobsDecode', () => {
  // Cheshire & Baker's scheme as illustrated in Wikipedia's worked examples; the long ones are in
  // contracts/vectors/serial-frames.json (vectors.test.ts).
  it.each([
    ['', '01'],
    ['00', '0101'],
    ['0000', '010101'],
    ['11220033', '0311220233'],
    ['11223344', '0511223344'],
    ['11000000', '0211010101'],
  ])('encodes %s as %s and back', (raw, encoded) => {
    expect(cobsEncode(fromHex(raw))).toEqual(fromHex(encoded))
    expect(cobsDecode(fromHex(encoded))).toEqual(fromHex(raw))
  })

  it('rejects input that no encoder produces', () => {
    expect(cobsDecode(new Uint8Array(0))).toBeNull()
    expect(cobsDecode(fromHex('0311002233'))).toBeNull() // 0x00 inside a block
    expect(cobsDecode(fromHex('021100'))).toBeNull() // 0x00 where a code byte belongs
    expect(cobsDecode(fromHex('05112233'))).toBeNull() // code 5 needs 4 more bytes, has 3
    expect(cobsDecode(fromHex('ff'))).toBeNull()
  })

  it('round-trips any input, never emits 0x00 and stays within the overhead bound', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1100, size: 'max' }), (raw) => {
        const encoded = cobsEncode(raw)
        expect({
          zeroFree: !encoded.includes(0),
          withinOverhead:
            encoded.length >= raw.length + 1 && encoded.length <= cobsMaxEncodedLength(raw.length),
          decoded: cobsDecode(encoded),
        }).toEqual({ zeroFree: true, withinOverhead: true, decoded: raw })
      }),
      { numRuns: 2_000 },
    )
  })

  it('reaches the overhead bound exactly for runs of non-zero bytes', () => {
    for (const n of [1, 253, 254, 255, 508, 509, 1030]) {
      expect(cobsEncode(new Uint8Array(n).fill(7)).length).toBe(cobsMaxEncodedLength(n))
    }
    expect(cobsMaxEncodedLength(1030)).toBe(1035)
  })

  it('encodes into a caller buffer at an offset', () => {
    const out = new Uint8Array(8).fill(0xee)
    const end = cobsEncodeInto(fromHex('11220033'), out, 2)
    expect(end).toBe(7)
    expect(out).toEqual(fromHex('eeee0311220233ee'))
  })
})
