/**
 * The gateway's pure core: one inbound message (MQTT publish or serial frame payload) becomes either
 * an ingested event bound for its Kafka topic, or a dead letter with the reason and the original
 * bytes. No sockets, clocks or files: the caller passes the receive time and identity.
 */
import {
  buildDeadLetter,
  type DeadLetterReason,
  type DeviceEvent,
  type DeviceIdentity,
  deadLetterKafkaKey,
  encodeDeadLetter,
  encodeIngestedText,
  eventMatchesTopic,
  type IngestMeta,
  KAFKA_TOPICS,
  kafkaHeadersFor,
  kafkaKeyFor,
  parseEventText,
  parseTopic,
  type Transport,
  topicForEvent,
  topicName,
} from '@pedepronto/contracts'
import type { GatewayRecord } from './record.js'

export interface IngestContext {
  gatewayId: string
  topicPrefix: string
  maxPayloadBytes: number
}

export interface InboundMessage {
  /** MQTT topic, or null for serial (the envelope alone names the device). */
  mqttTopic: string | null
  payload: Uint8Array
  transport: Transport
  receivedAt: number
  /** Who the transport says is talking (certificate, client id, attached port's device). */
  identity: DeviceIdentity | null
}

export type IngestResult =
  | { kind: 'event'; event: DeviceEvent; meta: IngestMeta; record: GatewayRecord }
  | { kind: 'dead-letter'; reason: DeadLetterReason; detail: string; record: GatewayRecord }

export function deadLetterRecord(
  ctx: IngestContext,
  msg: InboundMessage,
  reason: DeadLetterReason,
  detail: string,
  who: { deviceId?: string | null; restaurantId?: string | null } = {},
): IngestResult {
  const dl = buildDeadLetter({
    reason,
    detail,
    original: msg.payload,
    transport: msg.transport,
    gatewayId: ctx.gatewayId,
    receivedAt: msg.receivedAt,
    // The sender as the transport knows it first: a spoofing envelope must not hide who sent it.
    deviceId: msg.identity?.deviceId ?? who.deviceId ?? null,
    restaurantId: msg.identity?.restaurantId ?? who.restaurantId ?? null,
    mqttTopic: msg.mqttTopic,
  })
  return {
    kind: 'dead-letter',
    reason,
    detail,
    record: {
      topic: topicName(KAFKA_TOPICS.deadLetter.name, ctx.topicPrefix),
      key: deadLetterKafkaKey(dl),
      value: Buffer.from(encodeDeadLetter(dl)),
      headers: {
        'pp-dead-letter-reason': reason,
        'pp-transport': msg.transport,
        'pp-gateway-id': ctx.gatewayId,
      },
      timestamp: msg.receivedAt,
    },
  }
}

function summarize(errors: readonly { path: string; message: string }[]): string {
  return errors
    .slice(0, 5)
    .map((e) => `${e.path || '/'}: ${e.message}`)
    .join('; ')
}

export function ingest(ctx: IngestContext, msg: InboundMessage): IngestResult {
  if (msg.payload.length > ctx.maxPayloadBytes) {
    return deadLetterRecord(
      ctx,
      msg,
      'oversized',
      `payload is ${msg.payload.length} bytes; the limit is ${ctx.maxPayloadBytes}`,
    )
  }
  let topicParts: ReturnType<typeof parseTopic> | null = null
  if (msg.mqttTopic !== null) {
    topicParts = parseTopic(msg.mqttTopic)
    if (!topicParts.ok || topicParts.kind !== 'evt') {
      return deadLetterRecord(
        ctx,
        msg,
        'unknown_topic',
        topicParts.ok ? 'devices publish only on evt topics' : topicParts.reason,
      )
    }
  }
  const parsed = parseEventText(msg.payload)
  if (!parsed.ok) {
    return deadLetterRecord(ctx, msg, parsed.reason, summarize(parsed.errors))
  }
  const event: DeviceEvent = parsed.value
  if (topicParts?.ok && !eventMatchesTopic(topicParts, event)) {
    return deadLetterRecord(
      ctx,
      msg,
      'topic_mismatch',
      `topic says ${topicParts.restaurantId}/${topicParts.deviceId}/${topicParts.type}, envelope says ${event.restaurant_id}/${event.device_id}/${event.type}`,
      { deviceId: event.device_id, restaurantId: event.restaurant_id },
    )
  }
  // The identity the transport vouches for must be the device the envelope names (anti-spoofing for
  // serial, where there is no topic; for MQTT the ACL already bound topic to identity).
  if (
    msg.identity &&
    (msg.identity.deviceId !== event.device_id || msg.identity.restaurantId !== event.restaurant_id)
  ) {
    return deadLetterRecord(
      ctx,
      msg,
      'topic_mismatch',
      `connection is ${msg.identity.restaurantId}/${msg.identity.deviceId} but the envelope names ${event.restaurant_id}/${event.device_id}`,
      { deviceId: event.device_id, restaurantId: event.restaurant_id },
    )
  }
  // The ingested event is written, never built as an object: the device's own JSON plus the
  // gateway's fields parses to toIngested(event, meta) (contracts test), at a fraction of the cost.
  const meta: IngestMeta = { receivedAt: msg.receivedAt, gatewayId: ctx.gatewayId, transport: msg.transport }
  return {
    kind: 'event',
    event,
    meta,
    record: {
      topic: topicName(topicForEvent(event.type), ctx.topicPrefix),
      key: kafkaKeyFor(event),
      value: Buffer.from(encodeIngestedText(parsed.text, meta), 'utf8'),
      headers: kafkaHeadersFor({ transport: meta.transport, gateway_id: meta.gatewayId }),
      timestamp: event.event_time,
    },
  }
}
