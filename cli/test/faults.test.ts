/**
 * The fault suite, small (issue #8; `pedepronto bench faults` is the full one): the pipeline of the
 * pipeline test on a private Kafka broker, and during the load the broker, the gateway, the
 * processor and the sink are each SIGKILLed in turn and started again. Then the lake is counted:
 * nothing acknowledged is lost, nothing is duplicated past the processor's de-duplication (facts,
 * KPI windows, alerts, sink files), and every order still has exactly one correct fact.
 */
import { describe, expect, it } from 'vitest'
import { FAULT_PLAN, runFaultSuite } from '../src/benches/faults.js'

describe('SIGKILL Kafka, gateway, processor and sink in turn under load', () => {
  it('loses nothing acknowledged and duplicates nothing past de-duplication', async () => {
    const lines: string[] = []
    const r = await runFaultSuite({
      seed: 5,
      restaurants: 2,
      devicesPerRestaurant: 8,
      ordersPerS: 0.3,
      orderMinutes: 6,
      finishMinutes: 5,
      speed: 10,
      log: (line) => lines.push(line),
    })
    const summary = {
      acked: r.acked,
      orders: r.ordersPlaced,
      rows: r.lake.rows,
      edgeDuplicates: r.lake.edgeDuplicates,
      faults: r.faults,
      stages: r.stages,
      unpaged: r.phase1.sim.orders.unpaged,
      settleMs: r.settleMs,
      wallMs: r.wallMs,
    }
    console.error(`faults: ${JSON.stringify(summary)}`)
    const context = `${lines.filter((l) => !l.startsWith('phase 1:')).join('\n')}\n${JSON.stringify(summary)}`
    // Every fault happened while devices were still sending.
    expect(
      r.faults.map((f) => f.target),
      context,
    ).toEqual(FAULT_PLAN.map((f) => f.target))
    for (const f of r.faults) expect(f.ackedBefore, context).toBeLessThan(r.phase1.stats.acked)
    expect(r.phase1.drained, context).toBe(true)
    expect(r.acked).toBeGreaterThan(1_000)
    // The counts the issue asks for.
    expect(r.lake.lost, context).toEqual([])
    expect(r.lake.facts.duplicated, context).toEqual([])
    expect(r.lake.kpis.duplicated, context).toBe(0)
    expect(r.lake.alerts.duplicated, context).toBe(0)
    expect(r.lake.fileOverlaps, context).toEqual([])
    // And the product still tells the truth: one correct fact per order, KPIs that add up.
    expect(r.lake.facts.missing, context).toEqual([])
    expect(r.lake.facts.mismatches, context).toEqual([])
    expect(r.lake.kpis.mismatches, context).toEqual([])
    expect(r.lake.kpis.compared).toBeGreaterThan(5)
  }, 300_000)
})
