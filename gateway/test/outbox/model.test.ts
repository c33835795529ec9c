/**
 * Model-based property: random sequences of concurrent appends, acks, peeks, reopens and garbage
 * tails against an in-memory model of what the outbox must hold. fsync is off here (it changes
 * durability under power loss, not behaviour); crash.test.ts covers fsync with real kills.
 */
import { appendFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { frameSize, Outbox, type OutboxEntry, type OutboxRecord } from '../../src/outbox/index.js'
import { expectSameRecord, sampleRecord, tempDir } from './helpers.js'

type Op =
  | { kind: 'append'; calls: number[][] }
  | { kind: 'ack'; percent: number }
  | { kind: 'peek'; maxRecords: number }
  | { kind: 'reopen' }
  | { kind: 'garbage'; bytes: number[] }

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      // Concurrent append calls, each of 1..3 records with value sizes 0..80.
      calls: fc.array(fc.array(fc.integer({ min: 0, max: 80 }), { minLength: 1, maxLength: 3 }), {
        minLength: 1,
        maxLength: 4,
      }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('ack' as const), percent: fc.integer({ min: 0, max: 100 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('peek' as const), maxRecords: fc.integer({ min: 1, max: 5 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('garbage' as const),
      bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 30 }),
    }),
  },
)

const MAX_BYTES = 900
const SEGMENT_BYTES = 200

function check(outbox: Outbox, model: OutboxEntry[]): void {
  // Plain comparisons first, expect() only for the diff: vitest's matchers cost more than the outbox.
  const actual = outbox.peek(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
  const ids = (entries: OutboxEntry[]): string => entries.map((e) => e.id).join(',')
  if (ids(actual) !== ids(model)) expect(ids(actual)).toBe(ids(model))
  for (const [i, entry] of actual.entries()) expectSameRecord(entry.record, model[i]!.record)
  const stats = outbox.stats()
  const bytes = model.reduce((sum, e) => sum + frameSize(e.record), 0)
  if (stats.depth !== model.length || stats.bytes !== bytes)
    expect({ depth: stats.depth, bytes: stats.bytes }).toEqual({ depth: model.length, bytes })
}

describe('Outbox against a model', () => {
  it('agrees on random append / ack / peek / reopen / torn-tail sequences (1,000 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { maxLength: 7 }), async (ops) => {
        const { dir, cleanup } = tempDir('outbox-model')
        const options = { dir, maxBytes: MAX_BYTES, segmentBytes: SEGMENT_BYTES, fsync: false }
        let outbox = await Outbox.open(options)
        let model: OutboxEntry[] = []
        let nextId = 0
        let serial = 0
        try {
          for (const op of ops) {
            if (op.kind === 'append') {
              let bytes = model.reduce((sum, e) => sum + frameSize(e.record), 0)
              const wanted: ({ firstId: number; records: OutboxRecord[] } | 'full')[] = []
              const calls = op.calls.map((sizes) => {
                const records = sizes.map((size) => sampleRecord(serial++, size))
                const need = records.reduce((sum, r) => sum + frameSize(r), 0)
                if (bytes + need > MAX_BYTES) wanted.push('full')
                else {
                  wanted.push({ firstId: nextId, records })
                  nextId += records.length
                  bytes += need
                }
                return outbox.append(records).then(
                  (result) => result,
                  (error: unknown) => error,
                )
              })
              const results = await Promise.all(calls)
              for (const [i, want] of wanted.entries()) {
                const result = results[i] as { code?: string; firstId?: number; lastId?: number }
                if (want === 'full') {
                  if (result.code !== 'GW_OUTBOX_FULL')
                    expect(result).toMatchObject({ code: 'GW_OUTBOX_FULL' })
                  continue
                }
                const lastId = want.firstId + want.records.length - 1
                if (result.firstId !== want.firstId || result.lastId !== lastId)
                  expect(result).toEqual({ firstId: want.firstId, lastId })
                for (const [k, record] of want.records.entries()) model.push({ id: want.firstId + k, record })
              }
            } else if (op.kind === 'ack') {
              if (model.length === 0) continue
              const count = Math.floor((op.percent / 100) * model.length)
              // count 0 re-acknowledges the entry before the head: a no-op, if there is one.
              const upto = model[0]!.id - 1 + count
              if (upto < 0) continue
              await outbox.ack(upto)
              model = model.slice(count)
            } else if (op.kind === 'peek') {
              const got = outbox.peek(op.maxRecords, Number.MAX_SAFE_INTEGER).map((e) => e.id)
              const want = model.slice(0, op.maxRecords).map((e) => e.id)
              if (got.join() !== want.join()) expect(got).toEqual(want)
            } else {
              await outbox.close()
              if (op.kind === 'garbage') {
                const segments = readdirSync(dir)
                  .filter((name) => name.endsWith('.seg'))
                  .sort()
                const last = segments.at(-1)
                if (last !== undefined) appendFileSync(join(dir, last), Buffer.from(op.bytes))
              }
              outbox = await Outbox.open(options)
              // Recovery finds exactly the unacknowledged entries; later appends check that ids continue.
              if (outbox.recovery!.entries !== model.length)
                expect(outbox.recovery!.entries).toBe(model.length)
            }
            check(outbox, model)
          }
          await outbox.close()
        } finally {
          await outbox.close()
          cleanup()
        }
      }),
      { numRuns: 1_000 },
    )
  }, 60_000)
})
