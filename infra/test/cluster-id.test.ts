import { describe, expect, it } from 'vitest'
import { newClusterId } from '../src/services/kafka.js'

describe('KRaft cluster id', () => {
  it('never starts with "-" (the storage tool would read it as an option)', () => {
    // First draw encodes to "-" + 21 chars; the second does not.
    const draws = [Buffer.from([0xf8, ...new Array(15).fill(0)]), Buffer.alloc(16, 7)]
    const id = newClusterId(() => draws.shift() as Buffer)
    expect(id).toBe(Buffer.alloc(16, 7).toString('base64url'))
    expect(draws).toHaveLength(0)
    for (let i = 0; i < 2000; i++) {
      const random = newClusterId()
      expect(random).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/)
    }
  })
})
