import { type IngestedEvent, validateCommand } from '@pedepronto/contracts'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  AlertSchema,
  type Contribution,
  DEFAULT_CORE_CONFIG,
  DedupStore,
  KpiTask,
  OrderFactSchema,
  OrdersTask,
  type Output,
  RestaurantKpiSchema,
  TelemetryTask,
} from '../../src/index.js'
import { isOrderEvent, recordStream, shuffled } from '../stream.js'

const factCheck = TypeCompiler.Compile(OrderFactSchema)
const kpiCheck = TypeCompiler.Compile(RestaurantKpiSchema)
const alertCheck = TypeCompiler.Compile(AlertSchema)

function run(events: readonly IngestedEvent[], config = DEFAULT_CORE_CONFIG): Output[] {
  const task = new OrdersTask({ config, partition: 0, partitions: 1 })
  return events.flatMap((e) => task.process(e))
}

/** A placed event far in the future, to push the watermark past every timer. */
function flushEvent(after: number): IngestedEvent {
  return {
    v: 1,
    event_id: '01900000-0000-7000-8000-000000000001',
    type: 'order.placed',
    device_id: 'flush',
    restaurant_id: 'flush',
    event_time: after,
    seq: 0,
    payload: {
      order_id: 'flush-order',
      customer_id: 'c',
      channel: 'app',
      items: [{ sku: 'x', name: 'x', quantity: 1, unit_price_cents: 1 }],
      total_cents: 1,
      currency: 'BRL',
    },
    received_at: after,
    gateway_id: 'gw',
    transport: 'mqtt',
  }
}

const byId = <T>(outs: Output[], kind: Output['kind'], id: (v: T) => string) =>
  new Map(outs.filter((o) => o.kind === kind).map((o) => [id(o.value as T), o.value as T]))

describe('OrdersTask (state machine, facts, commands)', () => {
  const events = recordStream({ seed: 7, durationMs: 15 * 60_000 }).filter(isOrderEvent)
  const maxT = Math.max(...events.map((e) => e.event_time))
  const relaxed = {
    ...DEFAULT_CORE_CONFIG,
    allowedLatenessMs: 10 * 3_600_000,
    dedupHorizonMs: 48 * 3_600_000,
  }
  const flush = flushEvent(maxT + 20 * 3_600_000)

  it('writes one valid fact per ended order and valid order.ready commands', () => {
    const outs = run([...events, flush], relaxed)
    const facts = outs.filter((o) => o.kind === 'fact').map((o) => o.value)
    expect(facts.length).toBeGreaterThan(50)
    for (const f of facts) expect(factCheck.Check(f), JSON.stringify([...factCheck.Errors(f)])).toBe(true)
    expect(new Set(facts.map((f) => (f as { order_id: string }).order_id)).size).toBe(facts.length)
    const ended = new Set(
      events
        .filter(
          (e) =>
            e.type === 'order.status_changed' &&
            ['picked_up', 'cancelled', 'rejected'].includes(e.payload.to),
        )
        .map((e) => (e.payload as { order_id: string }).order_id),
    )
    expect(facts.length).toBe(ended.size)
    const commands = outs.filter((o) => o.kind === 'command')
    expect(commands.length).toBeGreaterThan(0)
    for (const c of commands) expect(validateCommand(c.value).ok).toBe(true)
    const alerts = outs.filter((o) => o.kind === 'alert')
    for (const a of alerts) expect(alertCheck.Check(a.value)).toBe(true)
    expect(alerts.filter((a) => (a.value as { kind: string }).kind !== 'order_stuck')).toEqual([])
  })

  it('shuffled inputs give the same facts, commands and contributions', () => {
    const base = run([...events, flush], relaxed)
    const facts = byId<{ order_id: string }>(base, 'fact', (f) => f.order_id)
    const cmds = byId<{ command_id: string }>(base, 'command', (c) => c.command_id)
    // The watermark a contribution was judged against depends on arrival order; only late ones keep it.
    const noWm = (m: Map<string, Contribution>) =>
      new Map([...m].map(([k, { watermark: _w, ...c }]) => [k, c]))
    const contribs = noWm(byId<Contribution>(base, 'contribution', (c) => c.event_id))
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        const outs = run([...shuffled(events, seed), flush], relaxed)
        expect(byId(outs, 'fact', (f: { order_id: string }) => f.order_id)).toEqual(facts)
        expect(byId(outs, 'command', (c: { command_id: string }) => c.command_id)).toEqual(cmds)
        expect(noWm(byId(outs, 'contribution', (c: Contribution) => c.event_id))).toEqual(contribs)
      }),
      { numRuns: 8 },
    )
  })

  it('alerts illegal transitions and unknown orders instead of throwing', () => {
    const placed = events.find((e) => e.type === 'order.placed')!
    const t = placed.event_time
    const illegal = {
      ...placed,
      event_id: '01900000-0000-7000-8000-0000000000a1',
      type: 'order.status_changed',
      payload: { order_id: (placed.payload as { order_id: string }).order_id, from: 'ready', to: 'accepted' },
    } as IngestedEvent
    const orphan = {
      ...placed,
      event_id: '01900000-0000-7000-8000-0000000000a2',
      type: 'order.status_changed',
      payload: { order_id: 'ghost-1', from: 'received', to: 'accepted' },
    } as IngestedEvent
    const outs = run([placed, illegal, orphan, flushEvent(t + 3_600_000)])
    const kinds = outs
      .filter((o) => o.kind === 'alert')
      .map((o) => o.value as { kind: string; order_id: string })
    expect(kinds).toContainEqual(expect.objectContaining({ kind: 'illegal_transition' }))
    expect(kinds).toContainEqual(expect.objectContaining({ kind: 'unknown_order', order_id: 'ghost-1' }))
  })

  it('a rating joins its fact only within the rating timeout', () => {
    const stream = [...events, flush]
    const outs = run(stream, relaxed)
    for (const o of outs) {
      if (o.kind !== 'fact' || o.value.rating === null) continue
      expect(o.value.rated_at! - o.value.ended_at).toBeLessThanOrEqual(relaxed.ratingTimeoutMs)
    }
    expect(outs.some((o) => o.kind === 'fact' && o.value.rating !== null)).toBe(true)
  })
})

describe('DedupStore', () => {
  it('passes each id once within the horizon (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 1000 })), {
          maxLength: 200,
        }),
        (offers) => {
          const d = new DedupStore(10_000)
          const firstTime = new Map<number, number>()
          let passed = 0
          for (const [id, t] of offers) {
            if (d.firstSeen(String(id), t)) passed++
            if (!firstTime.has(id)) firstTime.set(id, t)
          }
          expect(passed).toBe(firstTime.size)
          expect(d.size).toBe(firstTime.size)
          // Nothing is forgotten before the watermark passed it by the horizon...
          const oldest = Math.min(...firstTime.values())
          d.evict(oldest + 10_000)
          expect(d.size).toBe(firstTime.size)
          // ...and everything once it passed by the horizon plus one bucket.
          expect(d.tooOld(1000, 1000 + 10_001)).toBe(true)
          d.evict(1000 + 10_000 + DedupStore.BUCKET_MS)
          expect(d.size).toBe(0)
        },
      ),
    )
  })

  it('OrdersTask drops duplicates by event id', () => {
    const events = recordStream({ seed: 3, durationMs: 5 * 60_000 }).filter(isOrderEvent)
    const task = new OrdersTask({ config: DEFAULT_CORE_CONFIG, partition: 0, partitions: 1 })
    const a = events.flatMap((e) => task.process(e))
    const b = events.flatMap((e) => task.process(e))
    expect(a.length).toBeGreaterThan(0)
    expect(b).toEqual([])
    expect(task.counters.duplicates).toBe(events.length)
  })
})

function contribution(over: Partial<Contribution>): Contribution {
  return {
    t: 'c',
    kind: 'placed',
    event_id: 'e',
    restaurant_id: 'r1',
    order_id: 'o',
    event_time: 0,
    late: false,
    watermark: 0,
    placed: 0,
    revenue_cents: 0,
    cancelled: 0,
    prep_ms: null,
    rating: null,
    open_delta: 0,
    ...over,
  }
}

describe('KpiTask (windows, watermark, lateness)', () => {
  const W = 60_000
  it('closes a window only when every source partition passed it; late records go to late-events', () => {
    const k = new KpiTask(W)
    const outs: Output[] = []
    const t0 = 1_772_000_000_000 - (1_772_000_000_000 % W)
    outs.push(...k.process(contribution({ event_id: 'a', event_time: t0 + 1, placed: 1, open_delta: 1 })))
    outs.push(...k.process(contribution({ event_id: 'b', event_time: t0 + 2, prep_ms: 100 })))
    outs.push(...k.process(contribution({ event_id: 'c', event_time: t0 + 3, prep_ms: 300, rating: 4 })))
    outs.push(
      ...k.process(contribution({ event_id: 'd', event_time: t0 + 4, revenue_cents: 500, open_delta: -1 })),
    )
    outs.push(...k.process({ t: 'w', source: 0, sources: 2, wm: t0 + W }))
    expect(outs).toEqual([])
    outs.push(...k.process({ t: 'w', source: 1, sources: 2, wm: t0 + W - 1 }))
    expect(outs).toEqual([])
    outs.push(...k.process({ t: 'w', source: 1, sources: 2, wm: t0 + W }))
    const kpis = outs.filter((o) => o.kind === 'kpi').map((o) => o.value)
    expect(kpis).toEqual([
      {
        v: 1,
        restaurant_id: 'r1',
        window_start: t0,
        window_end: t0 + W,
        orders_placed: 1,
        revenue_cents: 500,
        cancellations: 0,
        prep_count: 2,
        prep_mean_ms: 200,
        prep_p95_ms: 300,
        rating_count: 1,
        rating_mean: 4,
        open_orders: 0,
      },
    ])
    expect(kpiCheck.Check(kpis[0])).toBe(true)
    const late = k.process(contribution({ event_id: 'x', event_time: t0 + 5, late: true, watermark: t0 + W }))
    expect(late.map((o) => o.kind)).toEqual(['late'])
    const unexpected = k.process(contribution({ event_id: 'y', event_time: t0 + 6 }))
    expect(unexpected.map((o) => o.kind)).toEqual(['late'])
    expect(k.counters.unexpectedLate).toBe(1)
  })

  it('stage 1 judges lateness against the watermark before the event', () => {
    const config = { ...DEFAULT_CORE_CONFIG, allowedLatenessMs: 0 }
    const events = recordStream({ seed: 11, durationMs: 10 * 60_000 }).filter(
      (e) => e.type === 'order.placed',
    )
    const last = events.at(-1)!
    const stale = {
      ...events[0]!,
      event_id: '01900000-0000-7000-8000-0000000000b1',
      payload: { ...events[0]!.payload, order_id: 'stale-1' },
    } as IngestedEvent
    const outs = run([...events, stale], config)
    const c = outs.filter((o) => o.kind === 'contribution').map((o) => o.value as Contribution)
    expect(c.find((x) => x.order_id === 'stale-1')).toMatchObject({ late: true, watermark: last.event_time })
    expect(
      c.filter((x) => x.late && x.order_id !== 'stale-1').every((x) => x.event_time < last.event_time),
    ).toBe(true)
  })
})

describe('TelemetryTask', () => {
  it('alerts a sensor entering its range violation once, and a silent device by watermark', () => {
    const events = recordStream({ seed: 5, durationMs: 30 * 60_000, ratePerS: 0 })
    const silent = events.find((e) => e.type === 'device.heartbeat')!.device_id
    const cut = events[Math.floor(events.length / 2)]!.event_time
    const kept = events.filter((e) => !(e.device_id === silent && e.event_time > cut))
    const task = new TelemetryTask(DEFAULT_CORE_CONFIG)
    const outs = kept.flatMap((e) => task.process(e))
    const alerts = outs.map((o) => o.value as { kind: string; device_id: string })
    for (const a of alerts) expect(alertCheck.Check(a)).toBe(true)
    expect(alerts.filter((a) => a.kind === 'device_offline').map((a) => a.device_id)).toEqual([silent])
    expect(alerts.some((a) => a.kind === 'sensor_out_of_range')).toBe(true)
  })
})
