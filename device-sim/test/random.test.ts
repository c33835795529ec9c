import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { backoffMs, deriveSeed, deviceRandom, STREAM, sampleMs, TimedHeap } from '../src/index.js'

describe('backoffMs (exponential, full jitter, capped)', () => {
  it('stays within [0, min(cap, base·2^attempt))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 60_000 }),
        (seed, attempt, base, cap) => {
          const r = deviceRandom(seed, 0, STREAM.backoff)
          const d = backoffMs(r, attempt, base, cap)
          return d >= 0 && d < Math.max(1, Math.min(cap, base * 2 ** attempt))
        },
      ),
    )
  })

  it('spreads retries (jitter): 1000 devices at attempt 5 do not pick the same delay', () => {
    const delays = Array.from({ length: 1000 }, (_, i) =>
      backoffMs(deviceRandom(1, i, STREAM.backoff), 5, 100, 60_000),
    )
    // 1000 uniform draws over 3200 values: about 3200·(1 − e^(−1000/3200)) ≈ 860 distinct.
    expect(new Set(delays).size).toBeGreaterThan(780)
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length
    expect(mean).toBeGreaterThan(1400) // uniform on [0, 3200): mean 1600
    expect(mean).toBeLessThan(1800)
  })
})

describe('seeded streams', () => {
  it('derive different seeds per device and purpose', () => {
    expect(deriveSeed(42, 0, 1)).not.toBe(deriveSeed(42, 1, 1))
    expect(deriveSeed(42, 0, 1)).not.toBe(deriveSeed(42, 0, 2))
    expect(deriveSeed(42, 7, 3)).toBe(deriveSeed(42, 7, 3))
  })

  it('sampleMs matches the distribution means', () => {
    const r = deviceRandom(9, 0, 1)
    const n = 20_000
    let exp = 0
    let logn: number[] = []
    for (let i = 0; i < n; i++) exp += sampleMs(r, { dist: 'exponential', meanS: 20 })
    logn = Array.from({ length: n }, () => sampleMs(r, { dist: 'lognormal', medianS: 240, sigma: 0.4 })).sort(
      (a, b) => a - b,
    )
    expect(exp / n).toBeGreaterThan(19_000)
    expect(exp / n).toBeLessThan(21_000)
    expect(logn[n / 2]).toBeGreaterThan(230_000)
    expect(logn[n / 2]).toBeLessThan(250_000)
    expect(sampleMs(r, { dist: 'fixed', s: 1.5 })).toBe(1500)
  })
})

describe('TimedHeap', () => {
  it('pops by time, ties in insertion order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
        const h = new TimedHeap<number>()
        for (const [i, t] of times.entries()) h.push(t, i)
        const out: [number, number][] = []
        for (let e = h.pop(); e !== undefined; e = h.pop()) out.push([e.at, e.value])
        const expected = times
          .map((t, i) => [t, i] as [number, number])
          .sort((a, b) => a[0] - b[0] || a[1] - b[1])
        expect(out).toEqual(expected)
      }),
    )
  })
  it('stays ordered when pushes and pops interleave (as in a running simulation)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constant(-1)), { maxLength: 300 }),
        (ops) => {
          const h = new TimedHeap<number>()
          const model: [number, number][] = []
          for (const [i, op] of ops.entries()) {
            if (op >= 0) {
              h.push(op, i)
              model.push([op, i])
              model.sort((a, b) => a[0] - b[0] || a[1] - b[1])
            } else {
              const e = h.pop()
              const m = model.shift()
              expect(e === undefined ? undefined : [e.at, e.value]).toEqual(m)
            }
            expect(h.size).toBe(model.length)
            expect(h.peek()?.value).toBe(model[0]?.[1])
          }
        },
      ),
    )
  })
})
