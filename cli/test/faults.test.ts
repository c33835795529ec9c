/**
 * The fault suite, small (issue #8; `pedepronto bench faults` is the full one): the pipeline of the
 * pipeline test on a private Kafka broker, and during the load the broker, the gateway, the
 * processor and the sink are each SIGKILLed in turn and started again. Then the lake is counted:
 * nothing acknowledged is lost, nothing is duplicated past the processor's de-duplication (facts,
 * KPI windows, alerts, sink files), and every order still has exactly one correct fact.
 */
import { describe, expect, it } from 'vitest'
import { FAULT_PLAN, runFaultSuite } from '../src/benches/faults.js'
import { describeRun } from '../src/e2e/pipeline.js'

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
    const { summary, context } = describeRun(r, lines)
    console.error(`faults: ${summary}\n${lines.filter((l) => l.startsWith('pages:')).join('\n')}`)
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
    // Orders still open when phase 1 stopped (pages held back by the outages) owe no fact yet;
    // most orders must have ended and been checked.
    expect(r.lake.facts.rows, context).toBeGreaterThan(r.ordersPlaced / 2)
    expect(r.lake.facts.mismatches, context).toEqual([])
    expect(r.lake.kpis.mismatches, context).toEqual([])
    expect(r.lake.kpis.compared).toBeGreaterThan(5)
    // Pages: every ready order paged its pager, through every fault. The gateway's downlink commits
    // an offset only once the command at it is settled (acknowledged by the pager, expired, or
    // dropped by the hold's bound), so commands it had consumed but not yet handed over when it was
    // SIGKILLed are consumed again by the restarted gateway. A page that reached its pager after its
    // validity (an outage held it back) counts as delivered (`r.commands.expired`); one the gateway
    // dropped as expired would be missing — none should, the outages are shorter than the validity.
    expect(r.commands.missing, context).toEqual([])
    expect(r.commands.expected, context).toBeGreaterThan(r.ordersPlaced / 2)
    expect(r.commands.wrongDevice, context).toBe(0)
  }, 300_000)
})
