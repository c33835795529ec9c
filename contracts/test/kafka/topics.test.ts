import { describe, expect, it } from 'vitest'
import {
  buildDeadLetter,
  type Command,
  type DeviceEvent,
  EVENT_TYPES,
  toIngested,
} from '../../src/events/index.js'
import {
  ALL_TOPICS,
  commandKafkaKey,
  deadLetterKafkaKey,
  KAFKA_HEADERS,
  KAFKA_TOPICS,
  kafkaHeadersFor,
  topicForEvent,
  topicName,
} from '../../src/kafka/index.js'

const DAY_MS = 86_400_000

describe('Kafka topic catalogue', () => {
  it('has the agreed names, keys and partition counts', () => {
    expect(ALL_TOPICS.map((t) => [t.name, t.keyField, t.partitions])).toEqual([
      ['pp.orders.v1', 'order_id', 6],
      ['pp.telemetry.v1', 'device_id', 6],
      ['pp.commands.v1', 'device_id', 3],
      ['pp.deadletter.v1', 'device_id', 3],
      ['pp.order-facts.v1', 'order_id', 6],
      ['pp.kpis.v1', 'restaurant_id', 3],
      ['pp.alerts.v1', 'restaurant_id', 3],
      ['pp.late-events.v1', 'restaurant_id', 3],
    ])
  })

  it('names are unique, versioned .v1 and legal Kafka names; counts and retention are positive', () => {
    expect(new Set(ALL_TOPICS.map((t) => t.name)).size).toBe(ALL_TOPICS.length)
    for (const topic of ALL_TOPICS) {
      expect(topic.name).toMatch(/^pp\.[a-z-]+\.v1$/)
      expect(Number.isInteger(topic.partitions) && topic.partitions > 0).toBe(true)
      expect(topic.retentionMs).toBeGreaterThan(0)
      expect(topic.producers.length).toBeGreaterThan(0)
      expect(topic.consumers.length).toBeGreaterThan(0)
      expect(topic.cleanupPolicy).toBe('delete')
    }
  })

  it('keeps dead letters for 7 days', () => {
    expect(KAFKA_TOPICS.deadLetter.retentionMs).toBe(7 * DAY_MS)
  })

  it('maps every event type to a catalogue topic: orders by order, device data by device', () => {
    expect(EVENT_TYPES.map((t) => [t, topicForEvent(t)])).toEqual([
      ['order.placed', 'pp.orders.v1'],
      ['order.status_changed', 'pp.orders.v1'],
      ['order.rated', 'pp.orders.v1'],
      ['device.telemetry', 'pp.telemetry.v1'],
      ['device.heartbeat', 'pp.telemetry.v1'],
    ])
    const names = ALL_TOPICS.map((t) => t.name)
    for (const type of EVENT_TYPES) expect(names).toContain(topicForEvent(type))
  })
})

describe('topicName', () => {
  it('prefixes for isolation and leaves the base alone without a prefix', () => {
    expect(topicName('pp.orders.v1')).toBe('pp.orders.v1')
    expect(topicName('pp.orders.v1', '')).toBe('pp.orders.v1')
    expect(topicName('pp.orders.v1', 't-3f9a')).toBe('t-3f9a.pp.orders.v1')
  })

  it.each(['a/b', 't 1', 'ç', 'x'.repeat(240)])('rejects the prefix %j', (prefix) => {
    expect(() => topicName('pp.orders.v1', prefix)).toThrow(RangeError)
  })
})

describe('keys and headers', () => {
  const T0 = Date.UTC(2025, 0, 1)
  const heartbeat = {
    v: 1,
    event_id: '0190b6a2-7c1e-7abc-8def-0123456789ab',
    type: 'device.heartbeat',
    device_id: 'pager-07',
    restaurant_id: 'r001',
    event_time: T0,
    seq: 1,
    payload: { uptime_s: 1, firmware: '1.0', battery_pct: 80, rssi_dbm: null },
  } satisfies DeviceEvent

  it('has the header names', () => {
    expect(KAFKA_HEADERS).toEqual({
      transport: 'pp-transport',
      gatewayId: 'pp-gateway-id',
    })
  })

  it('builds headers from an ingested event', () => {
    const ingested = toIngested(heartbeat, { receivedAt: T0, gatewayId: 'gw-1', transport: 'serial' })
    expect(kafkaHeadersFor(ingested)).toEqual({
      'pp-transport': 'serial',
      'pp-gateway-id': 'gw-1',
    })
  })

  it("keys dead letters by device id or 'unknown', commands by device id", () => {
    const base = {
      reason: 'unknown_topic',
      detail: 'x',
      original: new Uint8Array([1]),
      transport: 'mqtt',
      gatewayId: 'gw-1',
      receivedAt: T0,
    } as const
    expect(deadLetterKafkaKey(buildDeadLetter({ ...base, deviceId: 'kiosk-01' }))).toBe('kiosk-01')
    expect(deadLetterKafkaKey(buildDeadLetter(base))).toBe('unknown')
    expect(deadLetterKafkaKey(buildDeadLetter({ ...base, deviceId: '' }))).toBe('unknown')
    const command: Command = {
      v: 1,
      command_id: '0190b6a2-7c1e-7abc-8def-0123456789ab',
      type: 'reboot',
      device_id: 'pager-07',
      restaurant_id: 'r001',
      issued_at: T0,
      expires_at: T0 + 1,
      payload: {},
    }
    expect(commandKafkaKey(command)).toBe('pager-07')
  })
})
