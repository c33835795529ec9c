/**
 * The pipeline test (issue #8): simulator → `pedepronto gateway` → Kafka → `pedepronto process` →
 * `pedepronto sink` → Parquet lake, every stage a real process on the test run's Kafka. Then, read
 * from the lake with DuckDB: nothing acknowledged is missing; every order placed has exactly one
 * fact whose stage times and total equal its raw events; every closed KPI window equals a
 * recomputation from the raw order events; every order that became ready had its "order ready"
 * command delivered to its own pager (pagers wait for it: no command, no pickup).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { uniqueName } from '@pedepronto/infra'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { describeRun, runE2E } from '../src/e2e/pipeline.js'

describe('the pipeline, end to end', () => {
  const work = mkdtempSync(join(tmpdir(), 'pp-pipeline-'))
  afterAll(() => rmSync(work, { recursive: true, force: true }))

  it('puts every order in the lake exactly once, with stage times, KPIs and pager commands that add up', async () => {
    const lines: string[] = []
    const r = await runE2E({
      brokers: inject('kafkaBrokers'),
      prefix: uniqueName('pipe'),
      workDir: work,
      seed: 11,
      restaurants: 2,
      devicesPerRestaurant: 8,
      ordersPerS: 0.3,
      orderMinutes: 8,
      finishMinutes: 6,
      speed: 30,
      log: (line) => lines.push(line),
    })
    const { summary, context } = describeRun(r, lines)
    console.error(`pipeline: ${summary}`)
    expect(r.phase1.drained, context).toBe(true)
    expect(r.tail.drained, context).toBe(true)
    expect(r.phase1.stats.rejected).toBe(0)
    expect(r.ordersPlaced).toBeGreaterThan(60)
    expect(r.acked).toBeGreaterThan(1_000)
    // Nothing acknowledged is lost; the sink never wrote a record twice.
    expect(r.lake.lost, context).toEqual([])
    expect(r.lake.fileOverlaps).toEqual([])
    // Every order exactly once, stage times and totals from its raw events.
    expect(r.lake.facts.unfinished, context).toEqual([])
    expect(r.lake.facts.missing, context).toEqual([])
    expect(r.lake.facts.duplicated).toEqual([])
    expect(r.lake.facts.mismatches).toEqual([])
    expect(r.lake.facts.rows).toBeGreaterThanOrEqual(r.ordersPlaced)
    // KPIs equal the recomputation; a rating and a preparation time landed in many windows.
    expect(r.lake.kpis.mismatches).toEqual([])
    expect(r.lake.kpis.duplicated).toBe(0)
    expect(r.lake.kpis.compared).toBeGreaterThan(10)
    expect(r.lake.alerts.duplicated).toBe(0)
    // The loop that names the product: every ready order paged the customer's own device.
    expect(r.commands.expected).toBeGreaterThan(50)
    expect(r.commands.missing).toEqual([])
    expect(r.commands.wrongDevice).toBe(0)
    expect(r.latencyMs.samples).toBeGreaterThan(10)
    // Nothing crashed on its own.
    for (const stage of Object.values(r.stages)) expect(stage.unexpectedExits).toEqual([])
  }, 240_000)
})
