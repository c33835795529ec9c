// fast-check arbitraries that produce only valid contract records (ids match the pattern, totals add
// up, units match sensors, commands expire after they are issued, …). Shared by later test suites.
import fc from 'fast-check'
import {
  buildDeadLetter,
  COMMAND_TYPES,
  type Command,
  type CommandOf,
  type CommandType,
  type ConfigCommandPayload,
  DEAD_LETTER_REASONS,
  type DeadLetterRecord,
  type DeviceEvent,
  type DeviceHeartbeatPayload,
  type DeviceTelemetryPayload,
  EPOCH_MS_MAX,
  EPOCH_MS_MIN,
  EVENT_TYPES,
  type EventOf,
  type EventType,
  type IngestedEvent,
  ORDER_CHANNELS,
  ORDER_STATUSES,
  type OrderItem,
  type OrderPlacedPayload,
  type OrderRatedPayload,
  type OrderReadyCommandPayload,
  type OrderStatusChangedPayload,
  type PayloadOf,
  type RebootCommandPayload,
  SENSOR_UNITS,
  SENSORS,
  SEQ_MAX,
  STATUSES_REQUIRING_REASON,
  TRANSPORTS,
  toIngested,
  uuidv7,
} from '../src/events/index.js'

const ID_FIRST = [...'abcdefghijklmnopqrstuvwxyz0123456789']
const ID_REST = [...ID_FIRST, '_', '-']

/** Ids matching ^[a-z0-9][a-z0-9_-]{0,63}$. */
export const arbId: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...ID_FIRST), fc.string({ unit: fc.constantFrom(...ID_REST), maxLength: 63 }))
  .map(([first, rest]) => first + rest)

/** fc.integer is limited to 32-bit signed values; bigInt covers epoch ms and uint32 and biases to bounds. */
function arbSafeInteger(min: number, max: number): fc.Arbitrary<number> {
  return fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number)
}

export const arbEpochMs = arbSafeInteger(EPOCH_MS_MIN, EPOCH_MS_MAX)
export const arbSeq = arbSafeInteger(0, SEQ_MAX)

/** UUIDv7 from our generator (any 48-bit time, random bytes) or from fast-check's own v7 generator. */
export const arbUuidv7: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(arbSafeInteger(0, 2 ** 48 - 1), fc.uint8Array({ minLength: 10, maxLength: 10 }))
    .map(([ms, bytes]) => {
      let i = 0
      return uuidv7(ms, () => bytes[i++]! / 256)
    }),
  fc.uuid({ version: 7 }),
)

/**
 * Strings whose UTF-16 length (what the schema's maxLength counts) is within bounds: ASCII, or any
 * Unicode code points cut to length (a cut may leave a lone surrogate, which JSON still carries).
 */
export function arbText(minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'grapheme-ascii', minLength, maxLength }),
    fc
      .string({ unit: 'binary', minLength, maxLength })
      .map((s) => s.slice(0, maxLength))
      .filter((s) => s.length >= minLength),
  )
}

/** Finite doubles without -0: JSON has no negative zero, so -0 would not survive a round trip. */
export const arbFiniteNumber: fc.Arbitrary<number> = fc
  .oneof(fc.double({ min: -60, max: 250, noNaN: true }), fc.double({ noNaN: true, noDefaultInfinity: true }))
  .map((v) => (Object.is(v, -0) ? 0 : v))

function optional<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(arb, { nil: undefined })
}

export const arbOrderItem: fc.Arbitrary<OrderItem> = fc.record({
  sku: arbId,
  name: arbText(1, 80),
  quantity: fc.integer({ min: 1, max: 99 }),
  unit_price_cents: fc.oneof(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 5000 })),
})

export const arbOrderPlacedPayload: fc.Arbitrary<OrderPlacedPayload> = fc
  .record({
    order_id: arbId,
    customer_id: arbId,
    channel: fc.constantFrom(...ORDER_CHANNELS),
    items: fc.array(arbOrderItem, { minLength: 1, maxLength: 50 }),
    notify_device_id: optional(arbId),
    table: optional(arbText(1, 16)),
  })
  .map(({ notify_device_id, table, ...p }) => ({
    order_id: p.order_id,
    customer_id: p.customer_id,
    channel: p.channel,
    items: p.items,
    total_cents: p.items.reduce((sum, item) => sum + item.quantity * item.unit_price_cents, 0),
    currency: 'BRL' as const,
    ...(notify_device_id === undefined ? {} : { notify_device_id }),
    ...(table === undefined ? {} : { table }),
  }))

export const arbOrderStatus = fc.constantFrom(...ORDER_STATUSES)

export const arbOrderStatusChangedPayload: fc.Arbitrary<OrderStatusChangedPayload> = fc
  .record({
    order_id: arbId,
    from: fc.option(arbOrderStatus, { nil: null }),
    to: arbOrderStatus,
    reason: optional(arbText(1, 200)),
  })
  .map(({ reason, ...p }) => {
    // A cancel or reject must say why; other statuses may or may not carry a reason.
    const needed = STATUSES_REQUIRING_REASON.includes(p.to) && reason === undefined
    const r = needed ? 'kitchen closed' : reason
    return r === undefined ? p : { ...p, reason: r }
  })

export const arbOrderRatedPayload: fc.Arbitrary<OrderRatedPayload> = fc
  .record({ order_id: arbId, rating: fc.integer({ min: 1, max: 5 }), comment: optional(arbText(0, 500)) })
  .map(({ comment, ...p }) => (comment === undefined ? p : { ...p, comment }))

export const arbTelemetryPayload: fc.Arbitrary<DeviceTelemetryPayload> = fc
  .record({ sensor: fc.constantFrom(...SENSORS), value: arbFiniteNumber })
  .map(({ sensor, value }) => ({ sensor, value, unit: SENSOR_UNITS[sensor] }))

export const arbHeartbeatPayload: fc.Arbitrary<DeviceHeartbeatPayload> = fc.record({
  uptime_s: fc.oneof(fc.nat(), arbSafeInteger(0, Number.MAX_SAFE_INTEGER)),
  firmware: arbText(1, 32),
  battery_pct: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
  rssi_dbm: fc.option(fc.integer({ min: -130, max: 0 }), { nil: null }),
})

const PAYLOADS: { [K in EventType]: fc.Arbitrary<PayloadOf<K>> } = {
  'order.placed': arbOrderPlacedPayload,
  'order.status_changed': arbOrderStatusChangedPayload,
  'order.rated': arbOrderRatedPayload,
  'device.telemetry': arbTelemetryPayload,
  'device.heartbeat': arbHeartbeatPayload,
}

/** Valid events of one type, fields in schema order. */
export function arbEventOf<T extends EventType>(type: T): fc.Arbitrary<EventOf<T>> {
  return fc
    .record({
      event_id: arbUuidv7,
      device_id: arbId,
      restaurant_id: arbId,
      event_time: arbEpochMs,
      seq: arbSeq,
      payload: PAYLOADS[type] as fc.Arbitrary<PayloadOf<T>>,
    })
    .map(
      (e) =>
        ({
          v: 1,
          event_id: e.event_id,
          type,
          device_id: e.device_id,
          restaurant_id: e.restaurant_id,
          event_time: e.event_time,
          seq: e.seq,
          payload: e.payload,
        }) as EventOf<T>,
    )
}

export const arbDeviceEvent: fc.Arbitrary<DeviceEvent> = fc.oneof(...EVENT_TYPES.map((t) => arbEventOf(t)))

export const arbTransport = fc.constantFrom(...TRANSPORTS)

export const arbIngestedEvent: fc.Arbitrary<IngestedEvent> = fc
  .tuple(arbDeviceEvent, arbEpochMs, arbId, arbTransport)
  .map(([event, receivedAt, gatewayId, transport]) => toIngested(event, { receivedAt, gatewayId, transport }))

export const arbOrderReadyPayload: fc.Arbitrary<OrderReadyCommandPayload> = fc
  .record({ order_id: arbId, pickup_code: optional(arbText(1, 8)), message: arbText(1, 120) })
  .map(({ pickup_code, ...p }) => (pickup_code === undefined ? p : { ...p, pickup_code }))

/** Setting names: ids plus a few that use the uppercase letters and dots the key pattern also allows. */
const arbSettingKey = fc.oneof(
  arbId,
  fc.constantFrom('Volume', 'display.brightness', 'TZ', 'report_interval_s'),
)

export const arbConfigPayload: fc.Arbitrary<ConfigCommandPayload> = fc.record({
  settings: fc.dictionary(arbSettingKey, fc.oneof(arbText(0, 256), arbFiniteNumber, fc.boolean()), {
    maxKeys: 32,
    noNullPrototype: true,
  }),
})

export const arbRebootPayload: fc.Arbitrary<RebootCommandPayload> = optional(arbText(0, 120)).map((reason) =>
  reason === undefined ? {} : { reason },
)

const COMMAND_PAYLOADS: { [K in CommandType]: fc.Arbitrary<CommandOf<K>['payload']> } = {
  'order.ready': arbOrderReadyPayload,
  config: arbConfigPayload,
  reboot: arbRebootPayload,
}

/** Valid commands of one type: expires_at strictly after issued_at. */
export function arbCommandOf<T extends CommandType>(type: T): fc.Arbitrary<CommandOf<T>> {
  return fc
    .record({
      command_id: arbUuidv7,
      device_id: arbId,
      restaurant_id: arbId,
      times: fc.tuple(arbEpochMs, arbEpochMs).filter(([a, b]) => a !== b),
      payload: COMMAND_PAYLOADS[type] as fc.Arbitrary<CommandOf<T>['payload']>,
    })
    .map(
      (c) =>
        ({
          v: 1,
          command_id: c.command_id,
          type,
          device_id: c.device_id,
          restaurant_id: c.restaurant_id,
          issued_at: Math.min(...c.times),
          expires_at: Math.max(...c.times),
          payload: c.payload,
        }) as CommandOf<T>,
    )
}

export const arbCommand: fc.Arbitrary<Command> = fc.oneof(...COMMAND_TYPES.map((t) => arbCommandOf(t)))

/** Dead letters built the way the gateway builds them, including truncated originals. */
export const arbDeadLetter: fc.Arbitrary<DeadLetterRecord> = fc
  .record({
    reason: fc.constantFrom(...DEAD_LETTER_REASONS),
    detail: arbText(0, 300),
    original: fc.uint8Array({ maxLength: 300 }),
    transport: arbTransport,
    gatewayId: arbId,
    receivedAt: arbEpochMs,
    deviceId: fc.option(fc.oneof(arbId, fc.string()), { nil: null }),
    restaurantId: fc.option(fc.oneof(arbId, fc.string()), { nil: null }),
    mqttTopic: fc.option(fc.string(), { nil: null }),
    maxOriginalBytes: optional(fc.integer({ min: 0, max: 300 })),
  })
  .map(({ maxOriginalBytes, ...input }) =>
    buildDeadLetter(maxOriginalBytes === undefined ? input : { ...input, maxOriginalBytes }),
  )
