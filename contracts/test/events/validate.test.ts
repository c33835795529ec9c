import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  buildDeadLetter,
  COMMAND_TYPES,
  type Command,
  type CommandType,
  type DeadLetterReason,
  type DeadLetterRecord,
  type DeviceEvent,
  deadLetterOriginal,
  decodeJson,
  EVENT_TYPES,
  type EventOf,
  type EventType,
  encodeCommand,
  encodeDeadLetter,
  encodeEvent,
  fromIngested,
  type IngestedEvent,
  kafkaKeyFor,
  MAX_VALIDATION_ERRORS,
  type OrderStatus,
  parseCommand,
  parseDeadLetter,
  parseEvent,
  parseIngestedEvent,
  toIngested,
  validateCommand,
  validateDeadLetter,
  validateEvent,
  validateIngestedEvent,
} from '../../src/events/index.js'

const EVENT_ID = '0190b6a2-7c1e-7abc-8def-0123456789ab'
const T0 = Date.UTC(2025, 5, 1, 12, 0, 0)

const envelope = {
  v: 1,
  event_id: EVENT_ID,
  device_id: 'kiosk-01',
  restaurant_id: 'r001',
  event_time: T0,
  seq: 7,
}

// Fresh objects per call, so a test can mutate its copy.
const valid = {
  placed: () => ({
    ...envelope,
    type: 'order.placed',
    payload: {
      order_id: 'o-1001',
      customer_id: 'c-42',
      channel: 'kiosk',
      items: [
        { sku: 'burger-classic', name: 'X-Burger', quantity: 2, unit_price_cents: 2590 },
        { sku: 'guarana-350', name: 'Guaraná 350 ml', quantity: 1, unit_price_cents: 690 },
      ],
      total_cents: 5870,
      currency: 'BRL',
      notify_device_id: 'pager-07',
      table: '12',
    },
  }),
  statusChanged: () => ({
    ...envelope,
    type: 'order.status_changed',
    payload: { order_id: 'o-1001', from: 'received', to: 'accepted' },
  }),
  rated: () => ({
    ...envelope,
    type: 'order.rated',
    payload: { order_id: 'o-1001', rating: 5, comment: 'Ótimo' },
  }),
  telemetry: () => ({
    ...envelope,
    type: 'device.telemetry',
    payload: { sensor: 'fridge_temp', value: 3.5, unit: 'celsius' },
  }),
  heartbeat: () => ({
    ...envelope,
    type: 'device.heartbeat',
    payload: { uptime_s: 3600, firmware: '1.4.2', battery_pct: null, rssi_dbm: -61 },
  }),
}

const command = {
  ready: () => ({
    v: 1,
    command_id: '0190b6a2-7c1e-7abc-9def-0123456789ab',
    type: 'order.ready',
    device_id: 'pager-07',
    restaurant_id: 'r001',
    issued_at: T0,
    expires_at: T0 + 600_000,
    payload: { order_id: 'o-1001', pickup_code: 'A17', message: 'Pede pronto! Retire no balcão.' },
  }),
}

function expectSchemaErrors(value: unknown, errors: { path: string; message: string }[]) {
  expect(validateEvent(value)).toEqual({ ok: false, reason: 'schema', errors })
}

describe('validateEvent accepts', () => {
  for (const [name, make] of Object.entries(valid)) {
    it(`a valid ${name} event and returns it unchanged`, () => {
      const event = make()
      expect(validateEvent(event)).toEqual({ ok: true, value: event })
    })
  }

  it('boundary values: seq 0 and 2^32-1, event_time at both bounds, 50 items, 500-char comment', () => {
    expect(validateEvent({ ...valid.heartbeat(), seq: 0, event_time: Date.UTC(2020, 0, 1) }).ok).toBe(true)
    expect(
      validateEvent({ ...valid.heartbeat(), seq: 2 ** 32 - 1, event_time: Date.UTC(2100, 0, 1) }).ok,
    ).toBe(true)
    const item = { sku: 's', name: 'n', quantity: 99, unit_price_cents: 10_000_000 }
    const placed = valid.placed()
    placed.payload.items = Array.from({ length: 50 }, () => item)
    placed.payload.total_cents = 50 * 99 * 10_000_000
    expect(validateEvent(placed).ok).toBe(true)
    const rated = valid.rated()
    rated.payload.comment = 'x'.repeat(500)
    expect(validateEvent(rated).ok).toBe(true)
  })
})

describe('validateEvent rejects with reason and JSON pointer', () => {
  it('an unknown event type', () => {
    expectSchemaErrors({ ...valid.rated(), type: 'order.shipped' }, [
      {
        path: '/type',
        message:
          'Expected one of "order.placed", "order.status_changed", "order.rated", "device.telemetry", "device.heartbeat"',
      },
    ])
  })

  it('a missing type, also reporting envelope errors', () => {
    const { type: _type, ...event } = valid.rated()
    expectSchemaErrors({ ...event, seq: -1 }, [
      { path: '/type', message: 'Expected required property' },
      { path: '/seq', message: 'Expected integer to be greater or equal to 0' },
    ])
  })

  it('a missing payload field', () => {
    const event = valid.placed()
    const { customer_id: _c, ...payload } = event.payload
    expectSchemaErrors({ ...event, payload }, [
      { path: '/payload/customer_id', message: 'Expected required property' },
    ])
  })

  it('extra fields in the envelope and in the payload', () => {
    const event = valid.telemetry()
    expectSchemaErrors({ ...event, extra: 1, payload: { ...event.payload, celsius: true } }, [
      { path: '/extra', message: 'Unexpected property' },
      { path: '/payload/celsius', message: 'Unexpected property' },
    ])
  })

  it.each([
    ['uppercase', '0190B6A2-7C1E-7ABC-8DEF-0123456789AB'],
    ['version 4', '0190b6a2-7c1e-4abc-8def-0123456789ab'],
    ['variant c', '0190b6a2-7c1e-7abc-cdef-0123456789ab'],
    ['no dashes', '0190b6a27c1e7abc8def0123456789ab'],
    ['braces', '{0190b6a2-7c1e-7abc-8def-0123456789ab}'],
  ])('a bad event_id (%s)', (_name, id) => {
    expectSchemaErrors({ ...valid.heartbeat(), event_id: id }, [
      {
        path: '/event_id',
        message:
          "Expected string to match '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'",
      },
    ])
  })

  it('float cents', () => {
    const event = valid.placed()
    event.payload.items[1]!.unit_price_cents = 6.9
    expectSchemaErrors(event, [{ path: '/payload/items/1/unit_price_cents', message: 'Expected integer' }])
  })

  it('a total that is not the sum of quantity × unit price', () => {
    const event = valid.placed()
    event.payload.total_cents = 5880
    expect(validateEvent(event)).toEqual({
      ok: false,
      reason: 'semantic',
      errors: [
        {
          path: '/payload/total_cents',
          message: 'Expected total_cents to equal the sum of quantity × unit_price_cents (5870), got 5880',
        },
      ],
    })
  })

  it.each(['cancelled', 'rejected'])('a change to %s without a reason', (to) => {
    const event = { ...valid.statusChanged(), payload: { order_id: 'o-1001', from: 'received', to } }
    expect(validateEvent(event)).toEqual({
      ok: false,
      reason: 'semantic',
      errors: [{ path: '/payload/reason', message: `Expected a reason when the order becomes ${to}` }],
    })
    expect(validateEvent({ ...event, payload: { ...event.payload, reason: 'out of buns' } }).ok).toBe(true)
  })

  it('a unit that does not match the sensor', () => {
    const event = valid.telemetry()
    event.payload.unit = 'percent'
    expect(validateEvent(event)).toEqual({
      ok: false,
      reason: 'semantic',
      errors: [
        { path: '/payload/unit', message: 'Expected unit "celsius" for sensor "fridge_temp", got "percent"' },
      ],
    })
  })

  it('rating 6 and rating 0', () => {
    const event = valid.rated()
    event.payload.rating = 6
    expectSchemaErrors(event, [
      { path: '/payload/rating', message: 'Expected integer to be less or equal to 5' },
    ])
    event.payload.rating = 0
    expectSchemaErrors(event, [
      { path: '/payload/rating', message: 'Expected integer to be greater or equal to 1' },
    ])
  })

  it('a comment of 501 characters', () => {
    const event = valid.rated()
    event.payload.comment = 'x'.repeat(501)
    expectSchemaErrors(event, [
      { path: '/payload/comment', message: 'Expected string length less or equal to 500' },
    ])
  })

  it('NaN and Infinity telemetry values', () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expectSchemaErrors({ ...valid.telemetry(), payload: { ...valid.telemetry().payload, value } }, [
        { path: '/payload/value', message: 'Expected number' },
      ])
    }
  })

  it('a nullable field out of range, naming both alternatives', () => {
    const event = valid.heartbeat()
    expectSchemaErrors({ ...event, payload: { ...event.payload, battery_pct: 101 } }, [
      { path: '/payload/battery_pct', message: 'Expected integer to be less or equal to 100, or null' },
    ])
  })

  it('ids that are not lowercase, clocks before 2020, seq beyond uint32, schema version 2', () => {
    expectSchemaErrors({ ...valid.heartbeat(), v: 2, device_id: 'Kiosk/01', event_time: 0, seq: 2 ** 32 }, [
      { path: '/v', message: 'Expected 1' },
      { path: '/device_id', message: "Expected string to match '^[a-z0-9][a-z0-9_-]{0,63}$'" },
      { path: '/event_time', message: `Expected integer to be greater or equal to ${Date.UTC(2020, 0, 1)}` },
      { path: '/seq', message: `Expected integer to be less or equal to ${2 ** 32 - 1}` },
    ])
  })

  it('a value that is not an object', () => {
    for (const value of [null, 42, 'x', [valid.rated()]]) {
      expectSchemaErrors(value, [{ path: '', message: 'Expected object' }])
    }
  })

  it('every error, capped at MAX_VALIDATION_ERRORS', () => {
    const event = valid.placed()
    event.payload.items = Array.from({ length: 30 }, () => ({
      sku: 'S',
      name: '',
      quantity: 0,
      unit_price_cents: 1,
    }))
    const result = validateEvent(event)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.errors).toHaveLength(MAX_VALIDATION_ERRORS)
    expect(result.errors.slice(0, 4)).toEqual([
      { path: '/payload/items/0/sku', message: "Expected string to match '^[a-z0-9][a-z0-9_-]{0,63}$'" },
      { path: '/payload/items/0/name', message: 'Expected string length greater or equal to 1' },
      { path: '/payload/items/0/quantity', message: 'Expected integer to be greater or equal to 1' },
      { path: '/payload/items/1/sku', message: "Expected string to match '^[a-z0-9][a-z0-9_-]{0,63}$'" },
    ])
  })
})

describe('parseEvent', () => {
  it('decodes UTF-8 JSON bytes and strings alike', () => {
    const event = valid.placed()
    const bytes = encodeEvent(event as DeviceEvent)
    expect(parseEvent(bytes)).toEqual({ ok: true, value: event })
    expect(parseEvent(new TextDecoder().decode(bytes))).toEqual({ ok: true, value: event })
  })

  it('skips a UTF-8 byte order mark', () => {
    const body = encodeEvent(valid.rated() as DeviceEvent)
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...body])
    expect(parseEvent(withBom)).toEqual({ ok: true, value: valid.rated() })
  })

  it('reports invalid UTF-8 and invalid JSON as malformed_json', () => {
    expect(parseEvent(new Uint8Array([0x7b, 0xff, 0x7d]))).toEqual({
      ok: false,
      reason: 'malformed_json',
      errors: [{ path: '', message: expect.stringMatching(/^Invalid UTF-8: /) }],
    })
    for (const text of ['', '{', '{"v":1,}', 'NaN']) {
      expect(parseEvent(text)).toEqual({
        ok: false,
        reason: 'malformed_json',
        errors: [{ path: '', message: expect.stringMatching(/^Invalid JSON: /) }],
      })
    }
    expect(decodeJson('[1]')).toEqual({ ok: true, value: [1] })
  })

  it('passes schema failures through', () => {
    expect(parseEvent('{"v":1}')).toMatchObject({ ok: false, reason: 'schema' })
  })

  it('treats a JSON "__proto__" key as an unexpected own property, not as a prototype', () => {
    const text = JSON.stringify(valid.rated()).replace('{"v":1', '{"__proto__":{"admin":true},"v":1')
    expect(parseEvent(text)).toEqual({
      ok: false,
      reason: 'schema',
      errors: [{ path: '/__proto__', message: 'Unexpected property' }],
    })
  })
})

describe('ingested events', () => {
  const meta = { receivedAt: T0 + 25, gatewayId: 'gw-1', transport: 'mqtts' } as const

  it('toIngested adds receive time, gateway and transport; fromIngested removes them', () => {
    const event = valid.placed() as DeviceEvent
    const ingested = toIngested(event, meta)
    expect(ingested).toEqual({ ...event, received_at: T0 + 25, gateway_id: 'gw-1', transport: 'mqtts' })
    expect(validateIngestedEvent(ingested)).toEqual({ ok: true, value: ingested })
    expect(fromIngested(ingested)).toEqual(event)
    expect(parseIngestedEvent(encodeEvent(ingested))).toEqual({ ok: true, value: ingested })
  })

  it('rejects a missing gateway_id, an unknown transport, and a device event', () => {
    const { gateway_id: _g, ...ingested } = toIngested(valid.heartbeat() as DeviceEvent, meta)
    expect(validateIngestedEvent({ ...ingested, transport: 'http' })).toEqual({
      ok: false,
      reason: 'schema',
      errors: [
        { path: '/gateway_id', message: 'Expected required property' },
        { path: '/transport', message: 'Expected one of "mqtt", "mqtts", "ws", "serial"' },
      ],
    })
    expect(validateIngestedEvent(valid.heartbeat())).toMatchObject({ ok: false, reason: 'schema' })
  })

  it('applies the semantic rules too', () => {
    const event = valid.telemetry()
    event.payload.unit = 'percent'
    expect(
      validateIngestedEvent({ ...event, received_at: T0, gateway_id: 'gw-1', transport: 'ws' }),
    ).toMatchObject({
      ok: false,
      reason: 'semantic',
      errors: [{ path: '/payload/unit' }],
    })
  })
})

describe('commands', () => {
  it('accepts each command type', () => {
    const base = command.ready()
    const all = [
      base,
      {
        ...base,
        type: 'config',
        payload: { settings: { report_interval_s: 30, beep: true, mode: 'quiet' } },
      },
      { ...base, type: 'reboot', payload: {} },
      { ...base, type: 'reboot', payload: { reason: 'firmware 1.5.0' } },
    ]
    for (const c of all) {
      expect(validateCommand(c)).toEqual({ ok: true, value: c })
      expect(parseCommand(encodeCommand(c as Command))).toEqual({ ok: true, value: c })
    }
  })

  it('rejects a command that expires before or when it is issued', () => {
    expect(validateCommand({ ...command.ready(), expires_at: T0 })).toEqual({
      ok: false,
      reason: 'semantic',
      errors: [
        { path: '/expires_at', message: `Expected expires_at (${T0}) to be later than issued_at (${T0})` },
      ],
    })
  })

  it('rejects more than 32 settings, bad setting names and nested values', () => {
    const settings = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i]))
    const base = { ...command.ready(), type: 'config' }
    expect(validateCommand({ ...base, payload: { settings } })).toEqual({
      ok: false,
      reason: 'schema',
      errors: [{ path: '/payload/settings', message: 'Expected object to have no more than 32 properties' }],
    })
    expect(validateCommand({ ...base, payload: { settings: { 'a b': 1, ok: { nested: 1 } } } })).toEqual({
      ok: false,
      reason: 'schema',
      errors: [
        { path: '/payload/settings/ok', message: 'Expected string, or number, or boolean' },
        { path: '/payload/settings/a b', message: 'Unexpected property' },
      ],
    })
  })

  it('rejects an unknown command type and an order.ready without message', () => {
    expect(validateCommand({ ...command.ready(), type: 'selfdestruct' })).toEqual({
      ok: false,
      reason: 'schema',
      errors: [{ path: '/type', message: 'Expected one of "order.ready", "config", "reboot"' }],
    })
    const c = command.ready()
    expect(validateCommand({ ...c, payload: { order_id: 'o-1' } })).toEqual({
      ok: false,
      reason: 'schema',
      errors: [{ path: '/payload/message', message: 'Expected required property' }],
    })
  })
})

describe('dead letters', () => {
  const input = {
    reason: 'malformed_json',
    detail: 'Invalid JSON: Unexpected end of JSON input',
    original: new TextEncoder().encode('{"v":1,'),
    transport: 'mqtt',
    gatewayId: 'gw-1',
    receivedAt: T0,
    deviceId: 'kiosk-01',
    restaurantId: 'r001',
    mqttTopic: 'pp/v1/r001/kiosk-01/evt/order.placed',
  } as const

  it('buildDeadLetter keeps the original bytes and their size', () => {
    const record = buildDeadLetter(input)
    expect(record).toEqual({
      v: 1,
      reason: 'malformed_json',
      detail: 'Invalid JSON: Unexpected end of JSON input',
      device_id: 'kiosk-01',
      restaurant_id: 'r001',
      mqtt_topic: 'pp/v1/r001/kiosk-01/evt/order.placed',
      transport: 'mqtt',
      gateway_id: 'gw-1',
      received_at: T0,
      original_b64: 'eyJ2IjoxLA==',
      original_size: 7,
      truncated: false,
    })
    expect(validateDeadLetter(record)).toEqual({ ok: true, value: record })
    expect(parseDeadLetter(encodeDeadLetter(record))).toEqual({ ok: true, value: record })
    expect(deadLetterOriginal(record)).toEqual(input.original)
  })

  it('buildDeadLetter truncates large originals and flags it', () => {
    const record = buildDeadLetter({ ...input, original: new Uint8Array(100).fill(65), maxOriginalBytes: 10 })
    expect(record).toMatchObject({ original_b64: 'QUFBQUFBQUFBQQ==', original_size: 100, truncated: true })
    expect(validateDeadLetter(record).ok).toBe(true)
  })

  it('rejects an inconsistent truncated flag, a too small size and bad base64', () => {
    const record = buildDeadLetter(input)
    expect(validateDeadLetter({ ...record, truncated: true })).toEqual({
      ok: false,
      reason: 'semantic',
      errors: [{ path: '/truncated', message: 'Expected truncated to be false: kept 7 of 7 bytes' }],
    })
    expect(validateDeadLetter({ ...record, original_size: 6 })).toEqual({
      ok: false,
      reason: 'semantic',
      errors: [
        {
          path: '/original_size',
          message: 'Expected original_size (6) to be at least the 7 bytes kept in original_b64',
        },
      ],
    })
    expect(validateDeadLetter({ ...record, original_b64: 'eyJ2Ijox=', reason: 'nope' })).toMatchObject({
      ok: false,
      reason: 'schema',
      errors: [{ path: '/reason' }, { path: '/original_b64' }],
    })
  })
})

describe('kafkaKeyFor', () => {
  it('keys order events by order id and device events by device id', () => {
    expect(kafkaKeyFor(valid.placed() as DeviceEvent)).toBe('o-1001')
    expect(kafkaKeyFor(valid.statusChanged() as DeviceEvent)).toBe('o-1001')
    expect(kafkaKeyFor(valid.rated() as DeviceEvent)).toBe('o-1001')
    expect(kafkaKeyFor(valid.telemetry() as DeviceEvent)).toBe('kiosk-01')
    expect(kafkaKeyFor(valid.heartbeat() as DeviceEvent)).toBe('kiosk-01')
    const ingested = toIngested(valid.rated() as DeviceEvent, {
      receivedAt: T0,
      gatewayId: 'g',
      transport: 'ws',
    })
    expect(kafkaKeyFor(ingested)).toBe('o-1001')
  })
})

describe('static types derived from the schemas', () => {
  it('are a discriminated union with optional and nullable fields as on the wire', () => {
    expectTypeOf<EventOf<'order.placed'>['payload']['notify_device_id']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<EventOf<'order.status_changed'>['payload']['from']>().toEqualTypeOf<OrderStatus | null>()
    expectTypeOf<EventOf<'device.heartbeat'>['payload']['battery_pct']>().toEqualTypeOf<number | null>()
    expectTypeOf<DeviceEvent['type']>().toEqualTypeOf<EventType>()
    expectTypeOf<IngestedEvent['transport']>().toEqualTypeOf<'mqtt' | 'mqtts' | 'ws' | 'serial'>()
    expectTypeOf<Command['type']>().toEqualTypeOf<CommandType>()
    expectTypeOf<DeadLetterRecord['reason']>().toEqualTypeOf<DeadLetterReason>()
    expect(EVENT_TYPES).toEqual([
      'order.placed',
      'order.status_changed',
      'order.rated',
      'device.telemetry',
      'device.heartbeat',
    ])
    expect(COMMAND_TYPES).toEqual(['order.ready', 'config', 'reboot'])
  })
})
