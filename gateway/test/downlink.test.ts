/**
 * The downlink's pure core: which offset may be committed while commands wait for their devices,
 * the bounded hold, the per-client queue that matches PUBACKs to commands (MQTT 3.1.1 §4.6), and
 * the QoS a command goes out with.
 */
import type { Command } from '@pedepronto/contracts'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  AwaitingAck,
  CommandHold,
  type CommandTicket,
  deliveryQos,
  OffsetTracker,
  type PendingCommand,
  type TopicPartition,
  topicMatches,
} from '../src/downlink.js'

const T = 'pp.commands.v1'
const p0: TopicPartition = { topic: T, partition: 0 }
const p1: TopicPartition = { topic: T, partition: 1 }

function command(device: string, n: number, expiresAt = 1_000_000): Command {
  return {
    v: 1,
    command_id: `0190a0b0-0000-7000-8000-${String(n).padStart(12, '0')}`,
    type: 'order.ready',
    device_id: device,
    restaurant_id: 'r001',
    issued_at: 0,
    expires_at: expiresAt,
    payload: { order_id: `o-${n}`, message: 'Pede pronto!' },
  }
}

function ticket(partition: number, offset: number): CommandTicket {
  return { topic: T, partition, offset: BigInt(offset) }
}

function pending(device: string, n: number, offset: number, expiresAt?: number): PendingCommand {
  return { command: command(device, n, expiresAt), tickets: [ticket(0, offset)], redelivery: false }
}

const ids = (list: readonly PendingCommand[]) => list.map((p) => p.command.payload)
/** The order ids of held order.ready commands, in order. */
const orders = (list: readonly PendingCommand[]) =>
  list.map((p) => (p.command.type === 'order.ready' ? p.command.payload.order_id : p.command.type))

describe('OffsetTracker', () => {
  it('commits up to the lowest unsettled offset, and past the highest once all are settled', () => {
    const t = new OffsetTracker()
    expect(t.committable(p0)).toBeUndefined()
    for (const o of [10, 11, 12, 13]) t.track(p0, BigInt(o))
    expect(t.committable(p0)).toBe(10n)
    expect(t.settle(p0, 12n)).toBe(true)
    expect(t.committable(p0)).toBe(10n)
    t.settle(p0, 10n)
    expect(t.committable(p0)).toBe(11n)
    t.settle(p0, 11n)
    // 12 was settled before: the commit jumps to the next unsettled one.
    expect(t.committable(p0)).toBe(13n)
    t.settle(p0, 13n)
    expect(t.committable(p0)).toBe(14n)
    expect(t.unsettled).toBe(0)
  })

  it('keeps partitions apart and counts what is unsettled over all of them', () => {
    const t = new OffsetTracker()
    t.track(p0, 5n)
    t.track(p1, 7n)
    t.track({ topic: 'other', partition: 0 }, 1n)
    t.settle(p1, 7n)
    expect(t.committable(p0)).toBe(5n)
    expect(t.committable(p1)).toBe(8n)
    expect(t.committable({ topic: 'other', partition: 0 })).toBe(1n)
    expect(t.unsettled).toBe(2)
    expect(t.partitions()).toEqual([p0, p1, { topic: 'other', partition: 0 }])
  })

  it('ignores settling an offset it does not know, or twice, and tracking one twice', () => {
    const t = new OffsetTracker()
    t.track(p0, 3n)
    t.track(p0, 3n)
    expect(t.unsettled).toBe(1)
    expect(t.settle(p0, 4n)).toBe(false)
    expect(t.settle(p1, 3n)).toBe(false)
    expect(t.settle(p0, 3n)).toBe(true)
    expect(t.settle(p0, 3n)).toBe(false)
    expect(t.unsettled).toBe(0)
    expect(t.committable(p0)).toBe(4n)
  })

  it('goes back for an offset consumed again below what it has seen', () => {
    const t = new OffsetTracker()
    for (const o of [0, 1, 2]) t.track(p0, BigInt(o))
    for (const o of [0, 1, 2]) t.settle(p0, BigInt(o))
    expect(t.committable(p0)).toBe(3n)
    t.track(p0, 1n)
    expect(t.committable(p0)).toBe(1n)
    t.settle(p0, 1n)
    expect(t.committable(p0)).toBe(3n)
  })

  it('forgets everything on reset', () => {
    const t = new OffsetTracker()
    t.track(p0, 9n)
    t.reset()
    expect(t.unsettled).toBe(0)
    expect(t.committable(p0)).toBeUndefined()
    expect(t.partitions()).toEqual([])
    expect(t.settle(p0, 9n)).toBe(false)
  })

  it('stays right past its internal compaction (many settled offsets ahead of one held)', () => {
    const t = new OffsetTracker()
    for (let o = 0; o < 5_000; o++) t.track(p0, BigInt(o))
    for (let o = 0; o < 5_000; o++) if (o !== 3_000) t.settle(p0, BigInt(o))
    expect(t.committable(p0)).toBe(3_000n)
    t.track(p0, 5_000n)
    expect(t.committable(p0)).toBe(3_000n)
    t.settle(p0, 3_000n)
    expect(t.committable(p0)).toBe(5_000n)
    t.settle(p0, 5_000n)
    expect(t.committable(p0)).toBe(5_001n)
  })

  type Op =
    | { kind: 'track'; partition: number; gap: number }
    | { kind: 'again'; partition: number; pick: number }
    | { kind: 'settle'; partition: number; pick: number }
    | { kind: 'stray'; partition: number; offset: number }
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('track' as const),
        partition: fc.nat(2),
        gap: fc.integer({ min: 1, max: 3 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('again' as const), partition: fc.nat(2), pick: fc.nat() }),
    },
    {
      weight: 4,
      arbitrary: fc.record({ kind: fc.constant('settle' as const), partition: fc.nat(2), pick: fc.nat() }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('stray' as const),
        partition: fc.nat(2),
        offset: fc.nat(200),
      }),
    },
  )

  it('never passes an unsettled offset, and reaches highest + 1 once all settle (any interleaving)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.array(fc.nat(), { minLength: 1 }), (ops, order) => {
        const t = new OffsetTracker()
        // The model: per partition, what was tracked, what is unsettled, the highest offset.
        const model = [0, 1, 2].map(() => ({
          tracked: [] as number[],
          unsettled: new Set<number>(),
          highest: -1,
        }))
        const check = () => {
          for (const [partition, m] of model.entries()) {
            const c = t.committable({ topic: T, partition })
            if (m.tracked.length === 0) {
              expect(c).toBeUndefined()
              continue
            }
            for (const u of m.unsettled) expect(c! <= BigInt(u)).toBe(true)
            const expected = m.unsettled.size > 0 ? Math.min(...m.unsettled) : m.highest + 1
            expect(c).toBe(BigInt(expected))
          }
          expect(t.unsettled).toBe(model.reduce((n, m) => n + m.unsettled.size, 0))
        }
        for (const o of ops) {
          const m = model[o.partition]!
          const tp = { topic: T, partition: o.partition }
          if (o.kind === 'track') {
            const offset = m.highest + o.gap
            t.track(tp, BigInt(offset))
            m.tracked.push(offset)
            m.unsettled.add(offset)
            m.highest = offset
          } else if (o.kind === 'again' && m.tracked.length > 0) {
            // A rebalance without reset, or a seek: an offset seen before is consumed again.
            const offset = m.tracked[o.pick % m.tracked.length]!
            t.track(tp, BigInt(offset))
            m.unsettled.add(offset)
          } else if (o.kind === 'settle' && m.unsettled.size > 0) {
            const offset = [...m.unsettled][o.pick % m.unsettled.size]!
            expect(t.settle(tp, BigInt(offset))).toBe(true)
            m.unsettled.delete(offset)
          } else if (o.kind === 'stray' && !m.unsettled.has(o.offset)) {
            expect(t.settle(tp, BigInt(o.offset))).toBe(false)
          }
          check()
        }
        // Settle the rest in an arbitrary order: every partition ends at its highest + 1.
        const rest = model.flatMap((m, partition) =>
          [...m.unsettled].map((offset) => ({ partition, offset })),
        )
        let i = 0
        while (rest.length > 0) {
          const [next] = rest.splice(order[i++ % order.length]! % rest.length, 1)
          t.settle({ topic: T, partition: next!.partition }, BigInt(next!.offset))
          model[next!.partition]!.unsettled.delete(next!.offset)
          check()
        }
        for (const [partition, m] of model.entries()) {
          if (m.tracked.length > 0) expect(t.committable({ topic: T, partition })).toBe(BigInt(m.highest + 1))
        }
        expect(t.unsettled).toBe(0)
      }),
      { numRuns: 500 },
    )
  })
})

describe('CommandHold', () => {
  it('gives a device its commands in order, and the expired ones apart', () => {
    let now = 0
    const hold = new CommandHold({ retentionMs: 1_000, now: () => now })
    hold.hold([pending('pager-1', 1, 0), pending('pager-2', 2, 1), pending('pager-1', 3, 2, 500)])
    now = 600
    const { commands, expired } = hold.take('pager-1')
    // Command 3 expired by its own expires_at (500), before the hold's retention (1000).
    expect(ids(commands)).toEqual([{ order_id: 'o-1', message: 'Pede pronto!' }])
    expect(ids(expired)).toEqual([{ order_id: 'o-3', message: 'Pede pronto!' }])
    expect(hold.take('pager-1')).toEqual({ commands: [], expired: [] })
    expect(hold.size).toBe(1)
    now = 1_000
    expect(hold.sweep().map((p) => p.command.device_id)).toEqual(['pager-2'])
    expect(hold.size).toBe(0)
  })

  it('drops the oldest beyond the per-device bound and hands them back', () => {
    const hold = new CommandHold({ retentionMs: 60_000, maxPerDevice: 2, now: () => 0 })
    expect(hold.hold([pending('pager-1', 1, 0), pending('pager-1', 2, 1)])).toEqual([])
    const dropped = hold.hold([pending('pager-1', 3, 2), pending('pager-2', 4, 3)])
    expect(dropped.map((p) => p.tickets)).toEqual([[ticket(0, 0)]])
    expect(orders(hold.take('pager-1').commands)).toEqual(['o-2', 'o-3'])
    expect(hold.size).toBe(1)
  })

  it('puts commands back in front of those held meanwhile', () => {
    const hold = new CommandHold({ retentionMs: 60_000, now: () => 0 })
    hold.hold([pending('pager-1', 3, 3)])
    hold.hold([pending('pager-1', 1, 1), pending('pager-1', 2, 2)], { front: true })
    expect(orders(hold.take('pager-1').commands)).toEqual(['o-1', 'o-2', 'o-3'])
  })

  it('holds a command consumed twice once, with both offsets waiting for it', () => {
    const hold = new CommandHold({ retentionMs: 60_000, now: () => 0 })
    hold.hold([pending('pager-1', 1, 4)])
    hold.hold([{ ...pending('pager-1', 1, 9), redelivery: true }])
    hold.hold([pending('pager-1', 1, 4)])
    const { commands } = hold.take('pager-1')
    expect(commands).toHaveLength(1)
    expect(commands[0]!.tickets).toEqual([ticket(0, 4), ticket(0, 9)])
    expect(commands[0]!.redelivery).toBe(true)
  })

  it('removes one command by id', () => {
    const hold = new CommandHold({ retentionMs: 60_000, now: () => 0 })
    hold.hold([pending('pager-1', 1, 0), pending('pager-1', 2, 1)])
    expect(hold.remove('pager-1', command('pager-1', 2).command_id)?.tickets).toEqual([ticket(0, 1)])
    expect(hold.remove('pager-1', command('pager-1', 2).command_id)).toBeUndefined()
    expect(hold.remove('pager-9', command('pager-1', 1).command_id)).toBeUndefined()
    expect(orders(hold.take('pager-1').commands)).toEqual(['o-1'])
  })
})

describe('AwaitingAck', () => {
  const a = { id: 'client-a' }
  const b = { id: 'client-b' }

  it('matches each PUBACK to the oldest unacknowledged command of that client (§4.6)', () => {
    const q = new AwaitingAck<object>()
    q.written(a, pending('pager-1', 1, 0), 100)
    q.written(b, pending('pager-2', 2, 1), 100)
    q.written(a, pending('pager-1', 3, 2), 100)
    expect(q.size).toBe(3)
    expect(q.acked(a)?.command.payload).toEqual({ order_id: 'o-1', message: 'Pede pronto!' })
    expect(q.acked(a)?.command.payload).toEqual({ order_id: 'o-3', message: 'Pede pronto!' })
    expect(q.acked(a)).toBeUndefined()
    expect(q.size).toBe(1)
    expect(q.disconnected(b).map((p) => p.tickets)).toEqual([[ticket(0, 1)]])
    expect(q.disconnected(b)).toEqual([])
    expect(q.size).toBe(0)
  })

  it('matches by command id for persistent sessions', () => {
    const q = new AwaitingAck<object>()
    q.written(a, pending('pager-1', 1, 0), 100)
    q.written(a, pending('pager-1', 2, 1), 100)
    expect(q.ackedById(a, command('pager-1', 2).command_id)?.tickets).toEqual([ticket(0, 1)])
    expect(q.ackedById(a, command('pager-1', 2).command_id)).toBeUndefined()
    expect(q.disconnected(a).map((p) => p.tickets)).toEqual([[ticket(0, 0)]])
  })

  it('gives up commands past their time but keeps their place for the PUBACKs that follow', () => {
    const q = new AwaitingAck<object>()
    q.written(a, pending('pager-1', 1, 0), 50)
    q.written(a, pending('pager-1', 2, 1), 500)
    expect(q.expire(49)).toEqual([])
    expect(q.expire(50).map((p) => p.tickets)).toEqual([[ticket(0, 0)]])
    expect(q.expire(60)).toEqual([])
    expect(q.size).toBe(1)
    // The first PUBACK is the given-up command's, late: it settles nothing.
    expect(q.acked(a)).toBeUndefined()
    expect(q.acked(a)?.tickets).toEqual([ticket(0, 1)])
    expect(q.size).toBe(0)
  })

  it('hands back on disconnect only what was not given up', () => {
    const q = new AwaitingAck<object>()
    q.written(a, pending('pager-1', 1, 0), 50)
    q.written(a, pending('pager-1', 2, 1), 500)
    q.expire(100)
    expect(q.disconnected(a).map((p) => p.tickets)).toEqual([[ticket(0, 1)]])
    expect(q.size).toBe(0)
  })
})

describe('topicMatches and deliveryQos', () => {
  const topic = 'pp/v1/r001/pager-1/cmd/order.ready'

  it('matches filters per MQTT 3.1.1 §4.7', () => {
    expect(topicMatches(topic, topic)).toBe(true)
    expect(topicMatches('pp/v1/r001/pager-1/cmd/+', topic)).toBe(true)
    expect(topicMatches('pp/v1/r001/pager-1/cmd/#', topic)).toBe(true)
    expect(topicMatches('pp/v1/r001/pager-1/#', topic)).toBe(true)
    expect(topicMatches('pp/v1/r001/pager-1/cmd/#', 'pp/v1/r001/pager-1/cmd')).toBe(true)
    expect(topicMatches('pp/v1/r001/pager-1/cmd/+', 'pp/v1/r001/pager-1/cmd')).toBe(false)
    expect(topicMatches('pp/v1/r001/pager-2/cmd/+', topic)).toBe(false)
    expect(topicMatches('pp/v1/r001/pager-1/cmd', topic)).toBe(false)
    expect(topicMatches('pp/v1/r001/pager-1/cmd/order.ready/x', topic)).toBe(false)
    expect(topicMatches('#', '$SYS/x')).toBe(false)
    expect(topicMatches('$SYS/#', '$SYS/x')).toBe(true)
  })

  it('delivers at the highest matching QoS, at most 1, or not at all', () => {
    expect(deliveryQos({}, topic)).toBeNull()
    expect(deliveryQos({ 'pp/v1/r001/pager-2/cmd/+': { qos: 1 } }, topic)).toBeNull()
    expect(deliveryQos({ 'pp/v1/r001/pager-1/cmd/+': { qos: 0 } }, topic)).toBe(0)
    expect(deliveryQos({ 'pp/v1/r001/pager-1/cmd/+': { qos: 2 } }, topic)).toBe(1)
    expect(deliveryQos({ 'pp/v1/r001/pager-1/cmd/#': { qos: 0 }, [topic]: { qos: 1 } }, topic)).toBe(1)
    expect(deliveryQos({ [topic]: undefined }, topic)).toBeNull()
  })
})
