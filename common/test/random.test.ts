import { describe, expect, it } from 'vitest'
import { exponential, pick, randomInt, seededRandom } from '../src/index.js'

describe('seededRandom', () => {
  it('replays the same sequence from the same seed and differs across seeds', () => {
    const a = seededRandom(42)
    const b = seededRandom(42)
    const c = seededRandom(43)
    const sa = Array.from({ length: 100 }, a)
    expect(Array.from({ length: 100 }, b)).toEqual(sa)
    expect(Array.from({ length: 100 }, c)).not.toEqual(sa)
  })

  it('stays in [0, 1) and is roughly uniform', () => {
    const r = seededRandom(7)
    const buckets = new Array(10).fill(0)
    let outside = 0
    for (let i = 0; i < 100_000; i++) {
      const x = r()
      if (!(x >= 0 && x < 1)) outside++
      buckets[Math.floor(x * 10)]++
    }
    expect(outside).toBe(0)
    // Each bucket expects 10,000; 5 standard deviations is about ±475.
    for (const n of buckets) expect(Math.abs(n - 10_000)).toBeLessThan(500)
  })

  it('draws integers, picks and exponential gaps with the right ranges and mean', () => {
    const r = seededRandom(1)
    const ints = Array.from({ length: 10_000 }, () => randomInt(r, 3, 5))
    expect(new Set(ints)).toEqual(new Set([3, 4, 5]))
    expect(new Set(Array.from({ length: 1000 }, () => pick(r, ['a', 'b'])))).toEqual(new Set(['a', 'b']))
    const gaps = Array.from({ length: 50_000 }, () => exponential(r, 4))
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length
    expect(Math.abs(mean - 0.25)).toBeLessThan(0.01)
  })
})
