import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { queryLake } from '../src/lake.js'
import { encodeParquet, parquetMetadata } from '../src/parquet.js'
import { checkEvolution, ORDER_EVENTS, ORDER_FACTS, type Row, TELEMETRY } from '../src/tables.js'
import { generateEvents } from './support/events.js'

const dir = mkdtempSync(join(tmpdir(), 'pp-parquet-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function rows(table: typeof ORDER_EVENTS, events: unknown[]): Row[] {
  return events.map((e) => {
    const r = table.toRow(Buffer.from(JSON.stringify(e)))
    if (!r.ok) throw new Error(r.reason)
    return r.row
  })
}

describe('Parquet files', () => {
  it('round-trip with INT64, TIMESTAMP(MILLIS, UTC) and the offset metadata', async () => {
    const { orders, telemetry } = generateEvents(60)
    const folder = join(dir, 'a', 'order_events', 'dt=2026-01-15', 'hr=10')
    mkdirSync(folder, { recursive: true })
    const bytes = encodeParquet(
      ORDER_EVENTS.columns,
      rows(ORDER_EVENTS, orders),
      'zstd',
      new Map([['pedepronto.kafka.last_offset', '41']]),
    )
    writeFileSync(join(folder, 'f.parquet'), bytes)
    mkdirSync(join(dir, 'a', 'telemetry', 'dt=2026-01-15', 'hr=10'), { recursive: true })
    writeFileSync(
      join(dir, 'a', 'telemetry', 'dt=2026-01-15', 'hr=10', 'f.parquet'),
      encodeParquet(TELEMETRY.columns, rows(TELEMETRY, telemetry), 'snappy'),
    )
    expect(parquetMetadata(bytes).get('pedepronto.kafka.last_offset')).toBe('41')
    const types = await queryLake(
      join(dir, 'a'),
      "SELECT name, type, logical_type FROM parquet_schema('" +
        join(folder, 'f.parquet') +
        "') WHERE name IN ('seq','event_time','total_cents','rating')",
    )
    const byName = Object.fromEntries(types.rows.map((r) => [r[0], `${r[1]} ${r[2]}`]))
    expect(byName.seq).toMatch(/^INT64/)
    expect(byName.total_cents).toMatch(/^INT64/)
    expect(byName.event_time).toMatch(/^INT64 TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS/)
    const back = await queryLake(
      join(dir, 'a'),
      'SELECT event_id, epoch_ms(event_time), total_cents, typeof(total_cents) FROM order_events ORDER BY event_id',
    )
    const expected = [...orders].sort((x, y) => (x.event_id < y.event_id ? -1 : 1))
    expect(back.rows.map((r) => r[0])).toEqual(expected.map((e) => e.event_id))
    expect(back.rows.map((r) => Number(r[1]))).toEqual(expected.map((e) => e.event_time))
    expect(back.rows[0]?.[3]).toBe('BIGINT')
    const tel = await queryLake(
      join(dir, 'a'),
      'SELECT count(*), count(value), count(uptime_s) FROM telemetry',
    )
    expect(tel.rows[0]?.map(Number)).toEqual([
      telemetry.length,
      telemetry.filter((e) => e.type === 'device.telemetry').length,
      telemetry.filter((e) => e.type === 'device.heartbeat').length,
    ])
  })

  it('evolves only by adding nullable columns, and an old file still reads', async () => {
    const next = [
      ...ORDER_FACTS.columns,
      { name: 'tip_cents', type: 'int64' as const, nullable: true, description: 'tip' },
    ]
    expect(checkEvolution(ORDER_FACTS.columns, next)).toEqual([])
    expect(checkEvolution(ORDER_FACTS.columns, ORDER_FACTS.columns.slice(1))[0]).toMatch(/removed/)
    expect(
      checkEvolution(ORDER_FACTS.columns, [...ORDER_FACTS.columns, { ...next.at(-1)!, nullable: false }])[0],
    ).toMatch(/nullable/)
    const fact = { order_id: 'o1', restaurant_id: 'r1', placed_at: Date.UTC(2026, 0, 1), total_cents: 100 }
    const folder = join(dir, 'b', 'order_facts', 'dt=2026-01-01', 'hr=00')
    mkdirSync(folder, { recursive: true })
    writeFileSync(
      join(folder, 'old.parquet'),
      encodeParquet(ORDER_FACTS.columns, [
        { ...Object.fromEntries(ORDER_FACTS.columns.map((c) => [c.name, null])), ...fact },
      ]),
    )
    writeFileSync(
      join(folder, 'new.parquet'),
      encodeParquet(next, [
        { ...Object.fromEntries(next.map((c) => [c.name, null])), ...fact, order_id: 'o2', tip_cents: 50 },
      ]),
    )
    const r = await queryLake(
      join(dir, 'b'),
      'SELECT order_id, total_cents, tip_cents FROM order_facts ORDER BY order_id',
    )
    expect(r.rows).toEqual(
      [
        ['o1', 100, null],
        ['o2', 100, 50],
      ].map((x) => x.map((v) => (typeof v === 'number' ? String(v) : v))),
    )
  })
})
