import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GetPartitionsCommand, GetTablesCommand, GlueClient } from '@aws-sdk/client-glue'
import { GetThingShadowCommand, IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane'
import { createRegistry, loadConfig } from '@pedepronto/common'
import { type IngestedEvent, KAFKA_TOPICS } from '@pedepronto/contracts'
import {
  createTestBucket,
  EMULATOR_CREDENTIALS,
  type TestBucket,
  type TestTopics,
  uniqueName,
} from '@pedepronto/infra'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { SinkConfigSchema } from '../src/config.js'
import { provisionIot, restaurantThingName } from '../src/iot.js'
import { materializeLake, queryLake } from '../src/lake.js'
import { parseFileKey } from '../src/layout.js'
import { CloudSink } from '../src/sink.js'
import { S3Target } from '../src/targets.js'
import { generateEvents, idChecksum } from './support/events.js'
import { produce, sinkTopics, waitFor } from './support/kafka.js'

const brokers = inject('kafkaBrokers')
const endpoint = inject('awsEndpoint')
const prefix = uniqueName('sinkt')
const topic = (id: keyof typeof KAFKA_TOPICS) => `${prefix}.${KAFKA_TOPICS[id].name}`
let topics: TestTopics
let bucket: TestBucket
const certDir = mkdtempSync(join(tmpdir(), 'pp-certs-'))
const { orders, telemetry } = generateEvents(900, { hours: 3 })
const restaurants = ['r1', 'r2', 'r3'].map((r) => `${prefix}-${r}`)
const BAD = 3

beforeAll(async () => {
  topics = await sinkTopics(brokers, prefix, { orders: 3, telemetry: 2, kpis: 1, alerts: 1, orderFacts: 1 })
  bucket = await createTestBucket(endpoint, 'pp-sink')
})

afterAll(async () => {
  await topics?.cleanup()
  await bucket?.cleanup()
  rmSync(certDir, { recursive: true, force: true })
})

const enc = (v: unknown) => Buffer.from(JSON.stringify(v))

describe('cloud sink on Kafka + moto', () => {
  it('provisions AWS IoT idempotently: same things, certificates and policy on a second run', async () => {
    const inventory = {
      restaurants: restaurants.map((id, i) => ({ id, devices: [`${id}-kiosk`, `${id}-pager-${i}`] })),
    }
    const options = {
      inventory,
      outDir: certDir,
      ruleRoleArn: 'arn:aws:iam::123456789012:role/r',
      region: 'us-east-1',
      endpoint,
      credentials: EMULATOR_CREDENTIALS,
    }
    const first = await provisionIot(options)
    const second = await provisionIot(options)
    expect(first.things.every((t) => t.created && !t.certificateReused)).toBe(true)
    expect(second.things.map((t) => [t.thing, t.certificateId])).toEqual(
      first.things.map((t) => [t.thing, t.certificateId]),
    )
    expect(second.things.every((t) => !t.created && t.certificateReused)).toBe(true)
    expect(second.policy.action).toBe('unchanged')
    expect(second.restaurantThings).toEqual(restaurants.map(restaurantThingName))
  })

  it('writes exactly the Kafka events as deterministically named Parquet, rejects bad input, registers Glue, pushes IoT', async () => {
    const bad = [
      { key: 'bad-1', value: Buffer.from('{not json') },
      { key: 'bad-2', value: enc({ ...orders[0], event_id: 'not-a-uuid' }) },
      { key: 'bad-3', value: enc(telemetry[0]) }, // telemetry on the orders topic
    ]
    const orderMessages = orders.map((e) => ({
      key: (e.payload as { order_id: string }).order_id,
      value: enc(e),
    }))
    orderMessages.splice(100, 0, ...bad)
    await produce(brokers, topic('orders'), orderMessages)
    await produce(
      brokers,
      topic('telemetry'),
      telemetry.map((e) => ({ key: e.device_id, value: enc(e) })),
    )
    const window = Date.UTC(2026, 0, 15, 10)
    const kpis = restaurants.flatMap((r, i) =>
      [0, 1].map((w) => ({
        restaurant_id: r,
        window_start: window + w * 300_000,
        window_end: window + (w + 1) * 300_000,
        orders_placed: 10 * (i + 1) + w,
        revenue_cents: 5180,
        cancellations: 0,
        prep_mean_ms: 300000.5,
        prep_p95_ms: 360000,
        rating_mean: 4.2,
        open_orders: w,
      })),
    )
    await produce(
      brokers,
      topic('kpis'),
      kpis.map((k) => ({ key: k.restaurant_id, value: enc(k) })),
    )
    const alerts = restaurants.map((r, i) => ({
      alert_id: `a-${i}`,
      kind: 'fridge_temp_high',
      restaurant_id: r,
      device_id: `${r}-kiosk`,
      event_time: window + i,
      detail: { value: 9.5 },
    }))
    await produce(
      brokers,
      topic('alerts'),
      alerts.map((a) => ({ key: a.restaurant_id, value: enc(a) })),
    )

    const config = loadConfig('sink', SinkConfigSchema, {
      env: {},
      flags: {
        'sink.target': 's3',
        'sink.bucket': bucket.name,
        'sink.prefix': 'lake',
        'sink.groupId': `${prefix}-g`,
        'sink.rotateRecords': 100,
        'sink.flushIntervalMs': 500,
        'sink.glue': true,
        'sink.glueDatabase': prefix.replace(/-/g, '_'),
        'sink.iotPush': true,
        'sink.statusIntervalMs': 0,
        'kafka.brokers': brokers,
        'kafka.topicPrefix': prefix,
        'aws.endpoint': endpoint,
      },
    })
    const sink = new CloudSink(config, { registry: createRegistry('sink-test') })
    await sink.start()
    const total = orders.length + telemetry.length + kpis.length + alerts.length
    try {
      await waitFor(
        () => sink.summary.rows + sink.summary.rejected >= total + BAD,
        45_000,
        'all records in the lake',
      )
    } finally {
      await sink.stop()
    }
    expect(sink.summary.rejected).toBe(BAD)

    const target = new S3Target({
      bucket: bucket.name,
      region: 'us-east-1',
      endpoint,
      credentials: EMULATOR_CREDENTIALS,
    })
    const objects = await target.list('lake/')
    const parquet = objects.filter((o) => o.key.endsWith('.parquet'))
    for (const o of parquet)
      expect(o.key).toMatch(
        /^lake\/(order_events|telemetry|order_facts|restaurant_kpis|alerts)\/dt=\d{4}-\d\d-\d\d\/hr=\d\d\/[a-z0-9.-]+\+\d+\+\d{20}\.parquet$/,
      )
    expect(
      new Set(
        parquet.map(
          (o) =>
            `${parseFileKey(o.key)?.topic}+${parseFileKey(o.key)?.partition}+${parseFileKey(o.key)?.firstOffset}`,
        ),
      ).size,
    ).toBe(parquet.length)

    const copy = await materializeLake(target, 'lake')
    try {
      const check = async (table: string, events: IngestedEvent[]) => {
        const r = await queryLake(copy.dir, `SELECT event_id FROM ${table}`)
        expect(r.rows.length).toBe(events.length)
        expect(idChecksum(r.rows.map((x) => String(x[0])))).toBe(idChecksum(events.map((e) => e.event_id)))
      }
      await check('order_events', orders)
      await check('telemetry', telemetry)
      // Each file's rows lie in the hour its path names (event-time partitioning).
      const hours = await queryLake(
        copy.dir,
        "SELECT count(*) FROM order_events WHERE strftime(event_time, '%Y-%m-%d') <> CAST(dt AS VARCHAR) OR CAST(strftime(event_time, '%H') AS INT) <> CAST(hr AS INT)",
      )
      expect(Number(hours.rows[0]?.[0])).toBe(0)
      const types = await queryLake(
        copy.dir,
        'SELECT typeof(total_cents), typeof(event_time), typeof(seq), sum(total_cents) FROM order_events GROUP BY ALL',
      )
      expect(types.rows[0]?.slice(0, 3)).toEqual(['BIGINT', 'TIMESTAMP WITH TIME ZONE', 'BIGINT'])
      const k = await queryLake(copy.dir, 'SELECT count(*) FROM restaurant_kpis')
      expect(Number(k.rows[0]?.[0])).toBe(kpis.length)
    } finally {
      copy.cleanup()
    }

    const rejected = objects.filter((o) => o.key.startsWith('lake/_rejected/order_events/'))
    const lines = (
      await Promise.all(rejected.map(async (o) => new TextDecoder().decode(await target.get(o.key))))
    )
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.map((l) => l.key).sort()).toEqual(['bad-1', 'bad-2', 'bad-3'])
    expect(lines.find((l) => l.key === 'bad-1').reason).toMatch(/^malformed_json/)
    expect(lines.find((l) => l.key === 'bad-2').reason).toMatch(/\/event_id/)
    expect(lines.find((l) => l.key === 'bad-3').reason).toMatch(/does not belong to table order_events/)

    const manifest = JSON.parse(
      new TextDecoder().decode(await target.get('lake/_manifests/order_facts.manifest.json')),
    )
    expect(manifest.entries).toEqual([])

    const glue = new GlueClient({ region: 'us-east-1', endpoint, credentials: EMULATOR_CREDENTIALS })
    const database = prefix.replace(/-/g, '_')
    const tables = await glue.send(new GetTablesCommand({ DatabaseName: database }))
    const oe = tables.TableList?.find((t) => t.Name === 'order_events')
    expect(tables.TableList?.map((t) => t.Name).sort()).toEqual([
      'alerts',
      'order_events',
      'order_facts',
      'restaurant_kpis',
      'telemetry',
    ])
    expect(oe?.StorageDescriptor?.SerdeInfo?.SerializationLibrary).toBe(
      'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    )
    expect(oe?.PartitionKeys?.map((p) => p.Name)).toEqual(['dt', 'hr'])
    expect(oe?.StorageDescriptor?.Columns?.find((c) => c.Name === 'event_time')?.Type).toBe('timestamp')
    expect(oe?.StorageDescriptor?.Columns?.find((c) => c.Name === 'total_cents')?.Type).toBe('bigint')
    expect(oe?.Parameters?.['projection.enabled']).toBe('true')
    const parts = await glue.send(
      new GetPartitionsCommand({ DatabaseName: database, TableName: 'order_events' }),
    )
    const fileHours = new Set(
      parquet
        .filter((o) => o.key.startsWith('lake/order_events/'))
        .map((o) => /dt=([^/]+)\/hr=(\d\d)/.exec(o.key)?.slice(1).join('/')),
    )
    expect(new Set(parts.Partitions?.map((p) => p.Values?.join('/')))).toEqual(fileHours)
    glue.destroy()

    const data = new IoTDataPlaneClient({ region: 'us-east-1', endpoint, credentials: EMULATOR_CREDENTIALS })
    for (const [i, r] of restaurants.entries()) {
      const shadow = await data.send(new GetThingShadowCommand({ thingName: restaurantThingName(r) }))
      const state = JSON.parse(new TextDecoder().decode(shadow.payload)).state.reported
      expect(state.orders_placed).toBe(10 * (i + 1) + 1)
      expect(state.window_end).toBe(window + 600_000)
    }
    data.destroy()
    const published = (await sink.metrics.iot.get()).values.find(
      (v) => v.labels.action === 'publish' && v.labels.outcome === 'ok',
    )
    expect(published?.value).toBe(alerts.length)
    await target.close()
  })
})
