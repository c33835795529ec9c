import { isLegalTransition, type OrderStatus, validateEvent } from '@pedepronto/contracts'
import { describe, expect, it } from 'vitest'
import { defaultFaults, type Emission, FleetSimulation, fleetLayout, makeScenario } from '../src/index.js'

type EventEmission = Extract<Emission, { kind: 'event' }>
const events = (list: Emission[]) => list.filter((e): e is EventEmission => e.kind === 'event')

describe('fleetLayout', () => {
  it('gives every restaurant each kind once in its first eight slots, with ids that fit the contracts', () => {
    const layout = fleetLayout(2, 10)
    expect(layout.filter((d) => d.restaurantIndex === 0).map((d) => d.kind)).toEqual([
      'kitchen',
      'kiosk',
      'pager',
      'fridge',
      'fryer',
      'table',
      'app',
      'pager',
      'kiosk',
      'table',
    ])
    expect(new Set(layout.map((d) => d.deviceId)).size).toBe(20)
    expect(layout[13]!.deviceId).toBe('r0002-fridge-003')
  })
})

describe('FleetSimulation (pure, virtual time)', () => {
  const scenario = makeScenario({
    seed: 42,
    restaurants: 3,
    devicesPerRestaurant: 8,
    ratePerS: 2,
    durationMs: 20 * 60_000,
  })

  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = new FleetSimulation(scenario).all()
    const b = new FleetSimulation(scenario).all()
    const c = new FleetSimulation({ ...scenario, seed: 43 }).all()
    expect(a.length).toBeGreaterThan(1000)
    expect(JSON.stringify(b)).toBe(JSON.stringify(a))
    expect(events(c)[0]!.event.event_id).not.toBe(events(a)[0]!.event.event_id)
  })

  it('emits only valid events, in virtual-time order, with per-device seq 0,1,2,… and unique ids', () => {
    const list = events(new FleetSimulation(scenario).all())
    const seqs = new Map<string, number>()
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!
      const v = validateEvent(e.event)
      if (!v.ok) throw new Error(`${JSON.stringify(v.errors)} in ${JSON.stringify(e.event)}`)
      if (i > 0) expect(e.at).toBeGreaterThanOrEqual(list[i - 1]!.at)
      const expected = seqs.get(e.event.device_id) ?? 0
      expect(e.event.seq).toBe(expected)
      seqs.set(e.event.device_id, expected + 1)
    }
    expect(new Set(list.map((e) => e.event.event_id)).size).toBe(list.length)
  })

  it('moves every order through legal transitions, and completes most of them without a processor', () => {
    const sim = new FleetSimulation(scenario)
    const list = events(sim.all())
    const status = new Map<string, OrderStatus | null>()
    const placedBy = new Map<string, string>()
    for (const { event } of list) {
      if (event.type === 'order.placed') {
        status.set(event.payload.order_id, null)
        placedBy.set(event.payload.order_id, event.device_id)
        expect(event.payload.total_cents).toBeGreaterThan(0)
        expect(event.payload.currency).toBe('BRL')
      } else if (event.type === 'order.status_changed') {
        const { order_id, from, to } = event.payload
        expect(status.has(order_id)).toBe(true)
        // from null → received is the kitchen's first event, possibly after a fast cancel: allow both.
        if (from !== null) expect(status.get(order_id) ?? 'received').toBe(from)
        expect(isLegalTransition(from, to)).toBe(true)
        status.set(order_id, to)
        // Only the kitchen moves orders forward; customers only cancel.
        if (to === 'cancelled') expect(event.device_id).toBe(placedBy.get(order_id))
        else expect(event.device_id).toMatch(/-kitchen-/)
      } else if (event.type === 'order.rated') {
        expect(status.get(event.payload.order_id)).toBe('picked_up')
        expect(event.device_id).toBe(placedBy.get(event.payload.order_id))
      }
    }
    const c = sim.counters.orders
    expect(c.placed).toBeGreaterThan(1500)
    // Orders placed in the first half have had time to finish (prep median 4 min): ≥ 85 % picked up.
    const early = list.filter(
      (e) => e.event.type === 'order.placed' && e.at < scenario.startMs + scenario.durationMs / 2,
    )
    const done = early.filter(
      (e) => e.event.type === 'order.placed' && status.get(e.event.payload.order_id) === 'picked_up',
    )
    expect(done.length / early.length).toBeGreaterThan(0.85)
    expect(c.pickedUp).toBe([...status.values()].filter((s) => s === 'picked_up').length)
    expect(c.rated).toBeGreaterThan(0)
    expect(c.cancelled).toBeGreaterThan(0)
    expect(c.rejected).toBeGreaterThan(0)
  })

  it('gives each device kind its behaviour: sensors report temperatures, everyone sends heartbeats', () => {
    const list = events(new FleetSimulation(scenario).all())
    const byKind = (re: RegExp) => list.filter((e) => re.test(e.event.device_id)).map((e) => e.event)
    const fridge = byKind(/-fridge-/).filter((e) => e.type === 'device.telemetry')
    const fryer = byKind(/-fryer-/).filter((e) => e.type === 'device.telemetry')
    const temps = (xs: typeof fridge) =>
      xs.map((e) => (e.type === 'device.telemetry' ? e.payload.value : Number.NaN)).sort((a, b) => a - b)
    const f = temps(fridge)
    // 3 fridges, one reading every 10 s over 20 min, first reading at a random phase.
    expect(f.length).toBeGreaterThanOrEqual(3 * 119)
    expect(f.length).toBeLessThanOrEqual(3 * 121)
    expect(f[Math.floor(f.length / 2)]).toBeGreaterThan(2)
    expect(f[Math.floor(f.length / 2)]).toBeLessThan(6)
    const y = temps(fryer)
    expect(y[Math.floor(y.length / 2)]).toBeGreaterThan(165)
    expect(y[Math.floor(y.length / 2)]).toBeLessThan(185)
    expect(new Set(byKind(/-pager-/).map((e) => e.type))).toEqual(new Set(['device.heartbeat']))
    expect(new Set(byKind(/-fridge-/).map((e) => e.type))).toEqual(
      new Set(['device.heartbeat', 'device.telemetry']),
    )
    const heartbeats = list.filter((e) => e.event.type === 'device.heartbeat')
    expect(new Set(heartbeats.map((e) => e.event.device_id)).size).toBe(24)
    const kiosk = heartbeats.find((e) => /-kiosk-/.test(e.event.device_id))!.event
    expect(kiosk.type === 'device.heartbeat' && kiosk.payload.battery_pct).toBe(null)
  })

  it('keeps the clean events unchanged when faults are switched on', () => {
    const faulty = {
      ...scenario,
      faults: { ...defaultFaults(), duplicate: 0.1, reorder: 0.1, malformed: 0.05, foreign_topic: 0.05 },
    }
    const clean = events(new FleetSimulation(scenario).all())
    const withFaults = events(new FleetSimulation(faulty).all())
    const firstById = new Map<string, EventEmission>()
    for (const e of withFaults) if (!firstById.has(e.event.event_id)) firstById.set(e.event.event_id, e)
    expect(firstById.size).toBe(clean.length)
    for (const e of clean) expect(firstById.get(e.event.event_id)!.event).toEqual(e.event)
  })

  it('injects each fault at its configured rate (binomial, within 5 σ)', () => {
    const rates = {
      duplicate: 0.05,
      reorder: 0.03,
      clock_jump: 0.01,
      malformed: 0.02,
      oversized: 0.01,
      foreign_topic: 0.04,
    }
    const sim = new FleetSimulation({ ...scenario, faults: { ...defaultFaults(), ...rates } })
    const list = events(sim.all())
    const n = sim.counters.events
    expect(n).toBeGreaterThan(10_000)
    for (const [name, p] of Object.entries(rates) as [keyof typeof rates, number][]) {
      const seen = new Set(list.filter((e) => e.faults.includes(name)).map((e) => e.event.event_id)).size
      const sigma = Math.sqrt(n * p * (1 - p))
      // malformed is drawn first, oversized only when not malformed.
      const expected = name === 'oversized' ? n * p * (1 - rates.malformed) : n * p
      expect(Math.abs(seen - expected), `${name}: ${seen} of ${n}`).toBeLessThan(5 * sigma)
      expect(sim.counters.faults[name]).toBeGreaterThanOrEqual(seen)
    }
    for (const e of list) {
      if (e.faults.includes('malformed')) expect(() => JSON.parse(e.raw!)).toThrow()
      if (e.faults.includes('oversized')) expect(e.raw!.length).toBeGreaterThan(65_536)
      if (e.faults.includes('foreign_topic')) expect(e.topic).not.toContain(`/${e.event.device_id}/`)
      if (e.faults.length === 0) expect(validateEvent(e.event).ok).toBe(true)
    }
  })

  it('disconnect storms hit the configured share of devices', () => {
    const faults = { ...defaultFaults(), disconnect_storms_per_min: 2, disconnect_fraction: 0.25 }
    const sim = new FleetSimulation({ ...scenario, faults })
    const storms = sim.all().filter((e) => e.kind === 'disconnect')
    // 40 storms expected over 20 min; each hits 24 × 0.25 devices on average.
    const n = storms.length
    expect(n).toBeGreaterThan(80)
    expect(n).toBeLessThan(420)
  })

  it('in command mode, a pager starts the pickup only when an order.ready command arrives', () => {
    const cmdScenario = makeScenario({
      seed: 5,
      restaurants: 1,
      devicesPerRestaurant: 8,
      ratePerS: 0.2,
      durationMs: 30 * 60_000,
      // Customers who would wait all day for their page: no command, no pickup.
      behaviour: { pickupTrigger: 'command', pagePatienceS: 86_400 },
    })
    const idle = new FleetSimulation(cmdScenario)
    const all = events(idle.all())
    expect(idle.counters.orders.ready).toBeGreaterThan(0)
    expect(idle.counters.orders.pickedUp).toBe(0)
    const sim = new FleetSimulation(cmdScenario)
    const ready = all.find((e) => e.event.type === 'order.status_changed' && e.event.payload.to === 'ready')!
    const orderId = ready.event.type === 'order.status_changed' ? ready.event.payload.order_id : ''
    const placed = all.find(
      (e) => e.event.type === 'order.placed' && e.event.payload.order_id === orderId,
    )!.event
    const pagerId = placed.type === 'order.placed' ? placed.payload.notify_device_id : undefined
    const pager = sim.devices.find((d) => d.deviceId === pagerId)!
    const out: Emission[] = []
    for (let e = sim.next(); e !== undefined; e = sim.next()) {
      out.push(e)
      if (e === undefined || e.kind !== 'event' || e.event.event_id !== ready.event.event_id) continue
      const command = {
        v: 1 as const,
        command_id: '019caef4-ba2a-7a8c-9cb4-f0b8019878f2',
        type: 'order.ready' as const,
        device_id: pager.deviceId,
        restaurant_id: pager.restaurantId,
        issued_at: e.at,
        expires_at: e.at + 600_000,
        payload: { order_id: orderId, message: 'Pede pronto!' },
      }
      expect(sim.deliverCommand(pager.index, command, e.at)).toBe('acknowledged')
      expect(sim.deliverCommand(pager.index, { ...command, expires_at: e.at - 1_000_000 }, e.at)).toBe(
        'expired',
      )
    }
    const picked = events(out).filter(
      (e) => e.event.type === 'order.status_changed' && e.event.payload.to === 'picked_up',
    )
    expect(
      picked.map((e) => (e.event.type === 'order.status_changed' ? e.event.payload.order_id : '')),
    ).toEqual([orderId])
    expect(sim.counters.commands).toEqual({ received: 2, acknowledged: 1, expired: 1, ignored: 0 })
  })

  it('in command mode, a customer never paged walks up after pagePatienceS (and is counted)', () => {
    const sim = new FleetSimulation(
      makeScenario({
        seed: 5,
        restaurants: 1,
        devicesPerRestaurant: 8,
        ratePerS: 0.2,
        durationMs: 30 * 60_000,
        behaviour: { pickupTrigger: 'command', pagePatienceS: 120 },
      }),
    )
    const all = events(sim.all())
    const readyAt = new Map<string, number>()
    for (const e of all) {
      if (e.event.type !== 'order.status_changed') continue
      const p = e.event.payload
      if (p.to === 'ready') readyAt.set(p.order_id, e.at)
      if (p.to === 'picked_up') {
        // Walked up after the patience plus the pickup delay, never before it.
        expect(e.at - (readyAt.get(p.order_id) ?? e.at)).toBeGreaterThanOrEqual(120_000)
      }
    }
    expect(sim.counters.orders.pickedUp).toBeGreaterThan(0)
    // Every pickup was an unpaged walk-up; a few walk-ups are still on their way when the run ends.
    expect(sim.counters.orders.unpaged).toBeGreaterThanOrEqual(sim.counters.orders.pickedUp)
    expect(sim.counters.orders.unpaged).toBeLessThanOrEqual(sim.counters.orders.ready)
  })
})
