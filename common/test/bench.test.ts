import { describe, expect, it } from 'vitest'
import { benchTable, median, percentile, runBench, silentLogger } from '../src/index.js'

describe('bench frame', () => {
  it('writes the shape DESIGN.md names, with baseline and ratio when given', async () => {
    const report = await runBench(
      {
        name: 'demo',
        description: 'a bench',
        run: async ({ quick }) => ({
          figures: [{ name: 'events_per_s', value: quick ? 10 : 20, unit: 'events/s' }],
          baseline: { tool: 'kcat', events_per_s: 5 },
          ratio: 2,
        }),
      },
      { quick: true, log: silentLogger() },
    )
    expect(report).toMatchObject({
      bench: 'demo',
      figures: [{ name: 'events_per_s', value: 10, unit: 'events/s' }],
      baseline: { tool: 'kcat', events_per_s: 5 },
      ratio: 2,
      meta: { quick: true },
    })
    expect(benchTable([report])).toBe(
      '| bench | figure | value | unit |\n|---|---|---|---|\n| demo | events_per_s | 10 | events/s |\n| demo | ratio to baseline | 2 | × |',
    )
  })

  it('refuses a figure that is not a finite number', async () => {
    await expect(
      runBench(
        {
          name: 'bad',
          description: '',
          run: async () => ({ figures: [{ name: 'x', value: Number.NaN, unit: 's' }] }),
        },
        { quick: true, log: silentLogger() },
      ),
    ).rejects.toThrow('figure x is not a finite number')
  })

  it('computes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(percentile(xs, 50)).toBe(50)
    expect(percentile(xs, 99)).toBe(99)
    expect(percentile(xs, 100)).toBe(100)
    expect(median([3, 1, 2])).toBe(2)
    expect(Number.isNaN(percentile([], 50))).toBe(true)
  })
})
