import { seededRandom } from '@pedepronto/common'
import { encodeEvent, parseDeadLetter, parseIngestedEvent } from '@pedepronto/contracts'
import { describe, expect, it } from 'vitest'
import { type InboundMessage, type IngestContext, ingest } from '../../src/ingest/ingest.js'
import { ratedEvent, telemetryEvent } from '../support-events.js'

const ctx: IngestContext = { gatewayId: 'gw-test', topicPrefix: 't1', maxPayloadBytes: 2048 }
const identity = { deviceId: 'kiosk-1', restaurantId: 'r001' }

function msg(
  payload: Uint8Array | string,
  mqttTopic: string | null = 'pp/v1/r001/kiosk-1/evt/order.rated',
): InboundMessage {
  return {
    mqttTopic,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    transport: 'mqtt',
    receivedAt: Date.UTC(2026, 11, 3, 12, 0, 1),
    identity,
  }
}

function deadLetter(result: ReturnType<typeof ingest>) {
  expect(result.kind).toBe('dead-letter')
  expect(result.record.topic).toBe('t1.pp.deadletter.v1')
  const parsed = parseDeadLetter(result.record.value)
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors))
  return parsed.value
}

describe('ingest', () => {
  it('turns a valid order event into an ingested record keyed by order id with the contract headers', () => {
    const event = ratedEvent({ order: 'o-77' })
    const result = ingest(ctx, msg(encodeEvent(event)))
    expect(result.kind).toBe('event')
    expect(result.record.topic).toBe('t1.pp.orders.v1')
    expect(result.record.key).toBe('o-77')
    expect(result.record.timestamp).toBe(event.event_time)
    expect(result.record.headers).toEqual({
      'pp-transport': 'mqtt',
      'pp-gateway-id': 'gw-test',
    })
    const back = parseIngestedEvent(result.record.value)
    expect(back.ok && back.value).toEqual({
      ...event,
      received_at: Date.UTC(2026, 11, 3, 12, 0, 1),
      gateway_id: 'gw-test',
      transport: 'mqtt',
    })
  })

  it('keys telemetry by device on the telemetry topic', () => {
    const event = telemetryEvent('kiosk-1', 'r001', 3, seededRandom(3))
    const result = ingest(ctx, msg(encodeEvent(event), 'pp/v1/r001/kiosk-1/evt/device.telemetry'))
    expect(result.record.topic).toBe('t1.pp.telemetry.v1')
    expect(result.record.key).toBe('kiosk-1')
  })

  it('dead-letters malformed JSON with the original bytes', () => {
    const dl = deadLetter(ingest(ctx, msg('{"v":1,')))
    expect(dl.reason).toBe('malformed_json')
    expect(Buffer.from(dl.original_b64, 'base64').toString()).toBe('{"v":1,')
    expect(dl.device_id).toBe('kiosk-1')
    expect(dl.mqtt_topic).toBe('pp/v1/r001/kiosk-1/evt/order.rated')
  })

  it('dead-letters a schema violation with the path of the problem', () => {
    const bad = { ...ratedEvent(), payload: { order_id: 'o-1', rating: 6 } }
    const dl = deadLetter(ingest(ctx, msg(JSON.stringify(bad))))
    expect(dl.reason).toBe('schema')
    expect(dl.detail).toContain('/payload/rating')
  })

  it('dead-letters an oversized payload, truncating nothing below the cap', () => {
    const dl = deadLetter(ingest(ctx, msg('x'.repeat(4096))))
    expect(dl.reason).toBe('oversized')
    expect(dl.original_size).toBe(4096)
    expect(dl.detail).toBe('payload is 4096 bytes; the limit is 2048')
  })

  it('dead-letters an envelope that names another device than its topic', () => {
    const event = ratedEvent({ device: 'kiosk-2' })
    const dl = deadLetter(ingest(ctx, msg(encodeEvent(event))))
    expect(dl.reason).toBe('topic_mismatch')
    expect(dl.detail).toBe('topic says r001/kiosk-1/order.rated, envelope says r001/kiosk-2/order.rated')
  })

  it('dead-letters a serial event whose envelope names another device than the line is bound to', () => {
    const event = ratedEvent({ device: 'kiosk-9' })
    const dl = deadLetter(ingest(ctx, { ...msg(encodeEvent(event), null), transport: 'serial' }))
    expect(dl.reason).toBe('topic_mismatch')
    expect(dl.transport).toBe('serial')
  })

  it('dead-letters a publish on a command topic as unknown_topic', () => {
    const dl = deadLetter(ingest(ctx, msg(encodeEvent(ratedEvent()), 'pp/v1/r001/kiosk-1/cmd/reboot')))
    expect(dl.reason).toBe('unknown_topic')
  })
})
