import { describe, expect, it } from 'vitest'
import { RateLimiter } from '../../src/ingest/rate-limit.js'

describe('RateLimiter', () => {
  it('allows the burst, then the sustained rate, per device', () => {
    let now = 0
    const limiter = new RateLimiter({ ratePerS: 10, burst: 5, now: () => now })
    const first = Array.from({ length: 8 }, () => limiter.take('a'))
    expect(first).toEqual([true, true, true, true, true, false, false, false])
    expect(limiter.take('b')).toBe(true)
    now += 100 // one token at 10/s
    expect([limiter.take('a'), limiter.take('a')]).toEqual([true, false])
    now += 10_000 // refills to the burst, not beyond
    expect(Array.from({ length: 6 }, () => limiter.take('a'))).toEqual([true, true, true, true, true, false])
  })

  it('forgets idle devices so memory follows active devices only', () => {
    let now = 0
    const limiter = new RateLimiter({ ratePerS: 1, burst: 1, now: () => now, idleMs: 1_000 })
    for (let i = 0; i < 100; i++) limiter.take(`d${i}`)
    expect(limiter.size).toBe(100)
    now = 5_000
    limiter.take('fresh')
    expect(limiter.size).toBe(1)
  })
})
