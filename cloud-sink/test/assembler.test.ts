import { describe, expect, it } from 'vitest'
import { FileAssembler, type KafkaRecordLike, type PendingFile } from '../src/assembler.js'
import { ORDER_EVENTS } from '../src/tables.js'
import { generateEvents } from './support/events.js'

const policy = { records: 10, bytes: 10_000_000, spanMs: 3_600_000 }

function records(): KafkaRecordLike[] {
  const { orders } = generateEvents(80, { hours: 2 })
  const out: KafkaRecordLike[] = orders.map((e, i) => ({
    offset: String(i),
    key: null,
    value: Buffer.from(JSON.stringify(e)),
  }))
  out.splice(5, 0, { offset: 'x', key: Buffer.from('k'), value: Buffer.from('{"not":"an event"}') })
  return out.map((r, i) => ({ ...r, offset: String(i) }))
}

function run(
  recs: KafkaRecordLike[],
  assembler: FileAssembler,
  flushAt: Set<number> = new Set(),
): PendingFile[] {
  const files: PendingFile[] = []
  for (const r of recs) {
    files.push(...assembler.add(r))
    if (flushAt.has(Number(r.offset))) {
      const f = assembler.flush()
      if (f) files.push(f)
    }
  }
  const last = assembler.flush()
  if (last) files.push(last)
  return files
}

const ranges = (files: PendingFile[]) => files.map((f) => `${f.firstOffset}-${f.lastOffset}`)

describe('FileAssembler', () => {
  it('cuts files by count and by event hour, the same way on every run', () => {
    const recs = records()
    const a = run(recs, new FileAssembler(ORDER_EVENTS, 't', 0, policy))
    const b = run(recs, new FileAssembler(ORDER_EVENTS, 't', 0, policy))
    expect(ranges(a)).toEqual(ranges(b))
    for (const f of a) {
      expect(f.records).toBeLessThanOrEqual(10)
      const hours = new Set(
        f.data.toRows().map((r) => new Date(r.event_time as number).toISOString().slice(0, 13)),
      )
      expect(hours.size).toBeLessThanOrEqual(1)
    }
    // Every record is in exactly one file, in order.
    expect(a.reduce((s, f) => s + f.records, 0)).toBe(recs.length)
    expect(a[0]?.rejected[0]?.offset).toBe('5')
    expect(a[0]?.rejected[0]?.reason).toMatch(/^schema: /)
  })

  it('reproduces a previous run’s idle cut from the recovered ranges', () => {
    const recs = records()
    // First run: an idle flush at offset 3 and 13 (wall-clock cuts).
    const first = run(recs, new FileAssembler(ORDER_EVENTS, 't', 0, policy), new Set([3, 13]))
    // The crash left files 2.. uncommitted; replay from the first one's start with their ranges.
    const lost = first.slice(1, 4)
    const from = Number(lost[0]?.firstOffset)
    const replay = run(
      recs.slice(from),
      new FileAssembler(
        ORDER_EVENTS,
        't',
        0,
        policy,
        lost.map((f) => ({ first: f.firstOffset, last: f.lastOffset })),
      ),
      new Set([from + 1]), // a different idle cut now: must be suppressed inside the recovered ranges
    )
    expect(ranges(replay).slice(0, 3)).toEqual(ranges(lost))
    expect(replay.slice(0, 3).map((f) => f.data.toRows().map((r) => r.event_id))).toEqual(
      lost.map((f) => f.data.toRows().map((r) => r.event_id)),
    )
  })

  it('cuts at a recovered boundary even when that offset is never delivered (transaction marker)', () => {
    const recs = records().filter((r) => r.offset !== '7')
    const files = run(recs, new FileAssembler(ORDER_EVENTS, 't', 0, policy, [{ first: 0n, last: 6n }]))
    expect(files[0]?.lastOffset).toBe(6n)
    expect(files[1]?.firstOffset).toBe(8n)
  })
})
