import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CRC16_CCITT_FALSE_INIT, crc16CcittFalse } from '../../src/serial/crc16.js'

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text)

describe('crc16CcittFalse', () => {
  it('matches the catalogue check value 0x29B1 for "123456789"', () => {
    expect(crc16CcittFalse(ascii('123456789'))).toBe(0x29b1)
  })

  it('returns the init value for no input', () => {
    expect(crc16CcittFalse(new Uint8Array(0))).toBe(CRC16_CCITT_FALSE_INIT)
    expect(crc16CcittFalse(new Uint8Array(0), 0x1234)).toBe(0x1234)
  })

  it('continues a running checksum through init (xorout is 0)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), (a, b) => {
        const joined = new Uint8Array(a.length + b.length)
        joined.set(a)
        joined.set(b, a.length)
        expect(crc16CcittFalse(b, crc16CcittFalse(a))).toBe(crc16CcittFalse(joined))
      }),
      { numRuns: 2_000 },
    )
  })

  it('detects every single-bit error and every burst of up to 16 bits', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 1030, size: 'max' }),
        fc.nat(),
        fc.integer({ min: 1, max: 0xffff }),
        (bytes, at, pattern) => {
          // A burst is `pattern` (its lowest bit set, at most 16 bits wide) XORed in at bit `at`.
          const burst = pattern | 1
          const totalBits = bytes.length * 8
          const start = at % totalBits
          const corrupt = Uint8Array.from(bytes)
          for (let bit = 0; bit < 16 && start + bit < totalBits; bit++) {
            if ((burst >> bit) & 1) {
              const index = start + bit
              corrupt[index >> 3] ^= 0x80 >> (index & 7)
            }
          }
          if (corrupt.every((b, i) => b === bytes[i])) return
          expect(crc16CcittFalse(corrupt)).not.toBe(crc16CcittFalse(bytes))
        },
      ),
      { numRuns: 2_000 },
    )
  })
})
