import { isUuidv7, uuidv7 } from '@pedepronto/contracts'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { deviceRandom, fastUuidv7 } from '../src/index.js'

describe('fastUuidv7', () => {
  it('gives the same id as the contracts uuidv7 and leaves the random stream in the same place', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        (ms, seed) => {
          const a = deviceRandom(seed, 0, 1)
          const b = deviceRandom(seed, 0, 1)
          const id = fastUuidv7(ms, a)
          expect(id).toBe(uuidv7(ms, b))
          expect(isUuidv7(id)).toBe(true)
          expect(a()).toBe(b())
        },
      ),
    )
  })

  it('rejects a time outside 0..2^48-1 as the contracts version does', () => {
    for (const bad of [-1, 2 ** 48, 1.5, Number.NaN]) {
      expect(() => fastUuidv7(bad, Math.random)).toThrow(RangeError)
      expect(() => uuidv7(bad, Math.random)).toThrow(RangeError)
    }
  })
})
