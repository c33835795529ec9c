/**
 * Issue #3, "injected fault rates match the configuration within statistical bounds", measured by
 * the receiver rather than from the simulator's own labels: a live run against the services'
 * mosquitto with every per-event fault on, and a subscriber that classifies what the broker
 * delivered. Disconnect storms are checked on the pure stream against their compound-Poisson law.
 */
import { parseEvent } from '@pedepronto/contracts'
import { describe, expect, inject, it } from 'vitest'
import { defaultFaults, FleetSimulation, makeScenario } from '../src/index.js'
import {
  type Receiver,
  receiver,
  restaurantBase,
  restaurantIdOf,
  runOverMqtt,
  settle,
  topicDevice,
} from './receiver.js'

const url = inject('mosquittoUrl')

/** |observed − n·p| ≤ k·σ of Binomial(n, p); returns the numbers for the failure message. */
function binomial(name: string, observed: number, n: number, p: number, k = 5) {
  const mean = n * p
  const sigma = Math.sqrt(n * p * (1 - p))
  return {
    name,
    observed,
    expected: Math.round(mean * 10) / 10,
    bound: Math.round(k * sigma * 10) / 10,
    ok: Math.abs(observed - mean) <= k * sigma,
  }
}

describe('per-event faults as the receiver sees them (mosquitto)', () => {
  const first = restaurantBase(3000, 2000)
  const rates = { duplicate: 0.05, reorder: 0.05, malformed: 0.03, oversized: 0.02, foreign_topic: 0.04 }
  const oversizedBytes = 2048
  const scenario = makeScenario({
    seed: 777,
    restaurants: 2,
    devicesPerRestaurant: 8,
    firstRestaurant: first,
    ratePerS: 3,
    durationMs: 20 * 60_000,
    faults: { ...defaultFaults(), ...rates, oversized_bytes: oversizedBytes },
  })

  it('observes duplicates, malformed, oversized, foreign-topic and reordered events at their configured rates', async () => {
    const restaurants = [restaurantIdOf(first), restaurantIdOf(first + 1)]
    let rec: Receiver | undefined
    try {
      rec = await receiver(
        url,
        restaurants.map((r) => `pp/v1/${r}/+/evt/#`),
        `sim-faults-${first}`,
      )
      let handedOver = 0
      const summary = await runOverMqtt(url, scenario, (e) => {
        if (e.kind === 'event') handedOver++
      })
      expect(summary.drained).toBe(true)
      // Transport retransmits would add duplicates the fault did not inject: there must be none.
      expect(summary.stats.retransmits).toBe(0)
      // A connected device must not drop anything: speed 0 waits for acks instead.
      expect(summary.stats.offlineDropped).toBe(0)
      expect(summary.stats.acked).toBe(handedOver)
      const r = rec
      await settle(() => r.messages.length >= handedOver, 30_000, 'every message at the subscriber')
      expect(r.messages.length).toBe(handedOver)

      // Classify what arrived. Every payload carries its event id: a cut payload keeps its first
      // half, which starts {"v":1,"event_id":"…".
      interface Seen {
        count: number
        topic: string
        bytes: number
        parsed: boolean
        json: { device_id: string; seq: number } | undefined
      }
      const byId = new Map<string, Seen>()
      const deliveredOrder: { device: string; seq: number }[] = []
      for (const m of r.messages) {
        const text = m.payload.toString('utf8')
        let json: { event_id: string; device_id: string; seq: number } | undefined
        try {
          json = JSON.parse(text)
        } catch {
          json = undefined
        }
        const id = json?.event_id ?? /^\{"v":1,"event_id":"([0-9a-f-]{36})"/.exec(text)?.[1]
        if (id === undefined) throw new Error(`a payload without an event id: ${text.slice(0, 80)}`)
        const seen = byId.get(id)
        if (seen !== undefined) {
          seen.count++
          expect(m.payload.length).toBe(seen.bytes)
        } else {
          byId.set(id, {
            count: 1,
            topic: m.topic,
            bytes: m.payload.length,
            parsed: parseEvent(m.payload).ok,
            json,
          })
        }
        if (json !== undefined) deliveredOrder.push({ device: json.device_id, seq: json.seq })
      }
      const n = byId.size
      const all = [...byId.values()]
      // Nothing was lost: the receiver saw as many distinct events as the simulator made.
      expect(n).toBe(summary.sim.events)
      expect(n).toBeGreaterThan(20_000)

      const duplicates = all.filter((s) => s.count > 1).length
      expect(all.every((s) => s.count <= 2)).toBe(true)
      const oversized = all.filter((s) => s.bytes > oversizedBytes).length
      const malformed = all.filter((s) => s.bytes <= oversizedBytes && !s.parsed).length
      // Every other payload is a valid event by the contracts.
      expect(all.filter((s) => s.bytes <= oversizedBytes && s.parsed).length).toBe(n - oversized - malformed)
      const jsonEvents = all.filter((s) => s.json !== undefined)
      expect(jsonEvents.length).toBe(n - malformed)
      const foreign = jsonEvents.filter((s) => topicDevice(s.topic) !== s.json!.device_id).length
      // Per device, in delivery order: a seq lower than the one delivered just before it.
      const last = new Map<string, number>()
      let inversions = 0
      const drops = new Set<number>()
      for (const { device, seq } of deliveredOrder) {
        const prev = last.get(device)
        if (prev !== undefined && seq < prev) {
          inversions++
          drops.add(prev - seq)
        }
        last.set(device, seq)
      }
      // A held event goes out right after its successor: always one step back, never more.
      expect([...drops]).toEqual([1])

      const pm = rates.malformed
      // The reorder fault holds an event only when none is held, so in steady state a share
      // h = p/(1+p) of events is held (h = p·(1−h)); the receiver sees the inversion only when the
      // held event and its successor both carry a seq, i.e. neither was cut (malformed).
      const h = rates.reorder / (1 + rates.reorder)
      const checks = [
        binomial('duplicate', duplicates, n, rates.duplicate),
        binomial('malformed', malformed, n, pm),
        // Drawn only for events not cut (faults.ts: malformed first, else oversized).
        binomial('oversized', oversized, n, rates.oversized * (1 - pm)),
        // Drawn independently of malformed, so the JSON events are a fair sample for it.
        binomial('foreign_topic', foreign, jsonEvents.length, rates.foreign_topic),
        binomial('reorder (seq inversions)', inversions, n, h * (1 - pm) ** 2),
      ]
      console.log(`receiver-side fault counts over ${n} events:`, JSON.stringify(checks))
      for (const c of checks) expect(c, c.name).toMatchObject({ ok: true })
      // And the measurement is not vacuous: each fault was seen a fair number of times.
      for (const c of checks) expect(c.observed, c.name).toBeGreaterThan(100)
    } finally {
      await rec?.close()
    }
  })
})

describe('disconnect storms (pure stream)', () => {
  it('storm count is Poisson(λT) and, given the storms, hits are Binomial(N, f) per storm', () => {
    const perMin = 10
    const fraction = 0.25
    const minutes = 60
    const scenario = makeScenario({
      seed: 99,
      restaurants: 3,
      devicesPerRestaurant: 8,
      // Orders keep events flowing between storms, so each storm is one run of disconnects.
      ratePerS: 5,
      durationMs: minutes * 60_000,
      faults: { ...defaultFaults(), disconnect_storms_per_min: perMin, disconnect_fraction: fraction },
    })
    const sim = new FleetSimulation(scenario)
    const N = sim.devices.length
    // A storm pushes all its disconnects at once, visiting the devices in index order (fleet.ts
    // #scheduleStorms), so in the stream one storm is a run of consecutive disconnect emissions with
    // rising device indices. Two storms with no event between them make one run; the index going
    // down (or repeating) is where the second begins.
    const storms: number[][] = []
    let inRun = false
    for (let e = sim.next(); e !== undefined; e = sim.next()) {
      if (e.kind !== 'disconnect') {
        inRun = false
        continue
      }
      expect(e.durationMs).toBe(scenario.faults.disconnect_ms)
      const current = storms.at(-1)
      if (!inRun || current === undefined || e.device <= current.at(-1)!) storms.push([e.device])
      else current.push(e.device)
      inRun = true
    }
    const S = storms.length
    const D = storms.reduce((n, s) => n + s.length, 0)
    expect(D).toBe(sim.counters.faults.disconnect)
    // A storm that hits no device leaves no trace: the visible storms are the Poisson process
    // thinned by 1 − q0, and each visible storm's size is Binomial(N, f) conditioned on > 0.
    const q0 = (1 - fraction) ** N
    const lambdaT = perMin * minutes * (1 - q0)
    const mu = (N * fraction) / (1 - q0)
    const second = (N * fraction * (1 - fraction) + (N * fraction) ** 2) / (1 - q0)
    const varianceGivenS = S * (second - mu ** 2)
    const stormCount = { S, expected: lambdaT, bound: 5 * Math.sqrt(lambdaT) }
    const hits = { D, expected: S * mu, bound: 5 * Math.sqrt(varianceGivenS) }
    console.log('disconnect storms:', JSON.stringify({ N, stormCount, hits }))
    expect(Math.abs(S - lambdaT)).toBeLessThanOrEqual(stormCount.bound)
    expect(Math.abs(D - S * mu)).toBeLessThanOrEqual(hits.bound)
  })
})
