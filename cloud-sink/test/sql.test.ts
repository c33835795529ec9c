import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { lakeReport } from '../src/lake.js'
import { dataKey, hourOf } from '../src/layout.js'
import { encodeParquet } from '../src/parquet.js'
import { buildManifest, sqlBundle } from '../src/sql.js'
import { ORDER_EVENTS, type Row } from '../src/tables.js'
import { LocalTarget } from '../src/targets.js'
import { generateEvents } from './support/events.js'

const dir = mkdtempSync(join(tmpdir(), 'pp-sql-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const options = {
  database: 'pedepronto',
  bucket: 'lake-bucket',
  prefix: 'lake',
  iamRole: 'arn:aws:iam::1:role/x',
  region: 'us-east-1',
}

describe('SQL, manifest and report', () => {
  it('generates Athena DDL with projection, the Spectrum schema and a COPY with MANIFEST', () => {
    const b = sqlBundle(options)
    expect(b['athena.sql']).toContain('CREATE EXTERNAL TABLE IF NOT EXISTS `pedepronto`.`order_facts`')
    expect(b['athena.sql']).toContain("'projection.hr.digits' = '2'")
    expect(b['athena.sql']).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's projection placeholders
      "'storage.location.template' = 's3://lake-bucket/lake/order_events/dt=${dt}/hr=${hr}/'",
    )
    expect(b['athena.sql']).toContain('`event_time` timestamp')
    expect(b['redshift-spectrum.sql']).toContain("FROM DATA CATALOG DATABASE 'pedepronto'")
    expect(b['redshift-copy.sql']).toMatch(
      /COPY order_facts\nFROM 's3:\/\/lake-bucket\/lake\/_manifests\/order_facts\.manifest\.json'\nIAM_ROLE '.*'\nFORMAT AS PARQUET\nMANIFEST;/,
    )
    const m = buildManifest('lake-bucket', 'lake', 'order_facts', [
      { key: 'lake/order_facts/dt=2026-01-01/hr=00/t+0+00000000000000000000.parquet', size: 123 },
      { key: 'lake/order_events/dt=2026-01-01/hr=00/t+0+00000000000000000000.parquet', size: 9 },
    ])
    expect(m.entries).toEqual([
      {
        url: 's3://lake-bucket/lake/order_facts/dt=2026-01-01/hr=00/t+0+00000000000000000000.parquet',
        mandatory: true,
        meta: { content_length: 123 },
      },
    ])
  })

  it('reports orders per hour, preparation time and ratings from a local lake', async () => {
    const target = new LocalTarget(dir)
    const { orders } = generateEvents(200, { hours: 1 })
    const rows = orders.map((e) => (ORDER_EVENTS.toRow(Buffer.from(JSON.stringify(e))) as { row: Row }).row)
    await target.put(
      dataKey('lake', 'order_events', hourOf(orders[0]!.event_time), 't', 0, 0n),
      encodeParquet(ORDER_EVENTS.columns, rows),
    )
    const report = await lakeReport(dir)
    const placed = orders.filter((e) => e.type === 'order.placed')
    expect(report).toContain('Orders placed per hour')
    expect(report).toMatch(/Mean preparation time per restaurant[\s\S]*r1 +\d+ +\d+\.\d/)
    const counts = [...report.matchAll(/^2026-01-15 10:00 +(r\d) +(\d+)/gm)].reduce(
      (s, m) => s + Number(m[2]),
      0,
    )
    expect(counts).toBe(placed.length)
    expect(report).toContain('Ratings per restaurant')
  })
})
