// A recorded event stream from the seeded fleet simulation, as the gateway would have written it to
// Kafka (ingested events), with the simulator's own faults (duplicates, reordering, clock jumps).
import { type IngestedEvent, toIngested } from '@pedepronto/contracts'
import { defaultFaults, FleetSimulation, makeScenario } from '@pedepronto/device-sim'

export interface StreamOptions {
  seed: number
  restaurants?: number
  durationMs?: number
  ratePerS?: number
  duplicate?: number
  reorder?: number
  clockJump?: number
}

export function recordStream(o: StreamOptions): IngestedEvent[] {
  const faults = {
    ...defaultFaults(),
    duplicate: o.duplicate ?? 0,
    reorder: o.reorder ?? 0,
    clock_jump: o.clockJump ?? 0,
  }
  const sim = new FleetSimulation(
    makeScenario({
      seed: o.seed,
      restaurants: o.restaurants ?? 3,
      devicesPerRestaurant: 8,
      ratePerS: o.ratePerS ?? 0.5,
      durationMs: o.durationMs ?? 20 * 60_000,
      faults,
    }),
  )
  const out: IngestedEvent[] = []
  for (let e = sim.next(); e !== undefined; e = sim.next()) {
    if (e.kind !== 'event' || e.raw !== undefined) continue
    out.push(toIngested(e.event, { receivedAt: e.at, gatewayId: 'gw-test', transport: 'mqtt' }))
  }
  return out
}

export function isOrderEvent(e: IngestedEvent): boolean {
  return e.type === 'order.placed' || e.type === 'order.status_changed' || e.type === 'order.rated'
}

/** Seeded Fisher–Yates. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0 || 1
  const rnd = () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s / 4294967296
  }
  const a = [...items]
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a
}
