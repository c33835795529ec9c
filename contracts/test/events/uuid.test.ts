import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isUuidv7, UUIDV7_REGEX, uuidv7, uuidv7Time } from '../../src/events/index.js'

function bytesRandom(bytes: number[]): () => number {
  let i = 0
  return () => bytes[i++]! / 256
}

describe('uuidv7', () => {
  it('reproduces the RFC 9562 Appendix A.6 example', () => {
    // 017F22E2-79B0-7CC3-98C4-DC0C0C07398F; random bytes chosen so that, after the version and
    // variant bits are set, they equal the example's (0x0c → 0x7c, 0x18 → 0x98).
    const random = bytesRandom([0x0c, 0xc3, 0x18, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f])
    expect(uuidv7(0x017f22e279b0, random)).toBe('017f22e2-79b0-7cc3-98c4-dc0c0c07398f')
    expect(uuidv7Time('017f22e2-79b0-7cc3-98c4-dc0c0c07398f')).toBe(1645557742000)
  })

  it('is reproducible from the same clock and random sequence', () => {
    const a = uuidv7(1_700_000_000_000, bytesRandom([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
    const b = uuidv7(1_700_000_000_000, bytesRandom([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
    expect(a).toBe(b)
  })

  it('round-trips the timestamp and is always a canonical UUIDv7', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 48n - 1n }).map(Number),
        fc.uint8Array({ minLength: 10, maxLength: 10 }),
        (ms, bytes) => {
          const id = uuidv7(ms, bytesRandom([...bytes]))
          return UUIDV7_REGEX.test(id) && isUuidv7(id) && uuidv7Time(id) === ms
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('sorts by time as a string', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 2 ** 31 }), (t, dt) => {
        const t0 = 1_577_836_800_000 + t
        const rnd = () => 0.999
        return uuidv7(t0, rnd) < uuidv7(t0 + dt, () => 0)
      }),
      { numRuns: 1000 },
    )
  })

  it('rejects clocks outside 48 bits and returns null for non-v7 ids', () => {
    expect(() => uuidv7(-1, Math.random)).toThrow(RangeError)
    expect(() => uuidv7(2 ** 48, Math.random)).toThrow(RangeError)
    expect(() => uuidv7(1.5, Math.random)).toThrow(RangeError)
    expect(uuidv7Time('017f22e2-79b0-4cc3-98c4-dc0c0c07398f')).toBeNull()
    expect(uuidv7Time('not-a-uuid')).toBeNull()
  })
})
