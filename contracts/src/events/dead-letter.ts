// Dead-letter records: what the gateway could not accept, with the reason and the original bytes, so
// that a rejected message can be inspected and replayed (DESIGN.md "Contracts", Kafka topics).
import { type Static, Type } from '@sinclair/typebox'
import {
  EpochMsSchema,
  IdSchema,
  literalUnion,
  MQTT_TOPIC_MAX_LENGTH,
  nullable,
  SchemaVersionSchema,
  type Transport,
  TransportSchema,
} from './common.js'

export const DEAD_LETTER_REASONS = [
  'malformed_json',
  'schema',
  'semantic',
  'oversized',
  'topic_mismatch',
  'unknown_topic',
  'rate_limited',
  'bad_frame',
] as const
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number]

/** The original bytes are kept up to this size; larger inputs are cut and flagged `truncated`. */
export const DEAD_LETTER_MAX_ORIGINAL_BYTES = 64 * 1024
export const DEAD_LETTER_DETAIL_MAX_LENGTH = 2000
/** Ids in a dead letter come from untrusted input, so they are free strings, only bounded. */
export const DEAD_LETTER_ID_MAX_LENGTH = 256

/** RFC 4648 §4 base64 with padding, no line breaks. */
export const BASE64_PATTERN = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$'

export const DeadLetterSchema = Type.Object(
  {
    v: SchemaVersionSchema,
    reason: literalUnion(DEAD_LETTER_REASONS, { description: 'Why the input was rejected' }),
    detail: Type.String({ maxLength: DEAD_LETTER_DETAIL_MAX_LENGTH }),
    device_id: nullable(Type.String({ maxLength: DEAD_LETTER_ID_MAX_LENGTH })),
    restaurant_id: nullable(Type.String({ maxLength: DEAD_LETTER_ID_MAX_LENGTH })),
    mqtt_topic: nullable(Type.String({ maxLength: MQTT_TOPIC_MAX_LENGTH })),
    transport: TransportSchema,
    gateway_id: IdSchema,
    received_at: EpochMsSchema,
    original_b64: Type.String({ pattern: BASE64_PATTERN }),
    // Semantic rule (validate.ts): ≥ the decoded length of original_b64, equal unless truncated.
    original_size: Type.Integer({ minimum: 0 }),
    truncated: Type.Boolean(),
  },
  { additionalProperties: false, title: 'DeadLetter' },
)
export type DeadLetterRecord = Static<typeof DeadLetterSchema>

export interface DeadLetterInput {
  reason: DeadLetterReason
  detail: string
  original: Uint8Array
  transport: Transport
  gatewayId: string
  receivedAt: number
  deviceId?: string | null
  restaurantId?: string | null
  mqttTopic?: string | null
  maxOriginalBytes?: number
}

function bounded(value: string | null | undefined, max: number): string | null {
  return value === undefined || value === null ? null : value.slice(0, max)
}

/**
 * Builds a record that satisfies DeadLetterSchema from whatever the gateway has at hand: bounds the
 * free-text fields and cuts the original bytes, keeping their real size, so one huge bad message cannot
 * make a huge Kafka record.
 */
export function buildDeadLetter(input: DeadLetterInput): DeadLetterRecord {
  const max = Math.max(
    0,
    Math.min(input.maxOriginalBytes ?? DEAD_LETTER_MAX_ORIGINAL_BYTES, input.original.length),
  )
  const kept = input.original.subarray(0, max)
  return {
    v: 1,
    reason: input.reason,
    detail: input.detail.slice(0, DEAD_LETTER_DETAIL_MAX_LENGTH),
    device_id: bounded(input.deviceId, DEAD_LETTER_ID_MAX_LENGTH),
    restaurant_id: bounded(input.restaurantId, DEAD_LETTER_ID_MAX_LENGTH),
    mqtt_topic: bounded(input.mqttTopic, MQTT_TOPIC_MAX_LENGTH),
    transport: input.transport,
    gateway_id: input.gatewayId,
    received_at: input.receivedAt,
    original_b64: Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength).toString('base64'),
    original_size: input.original.length,
    truncated: kept.length < input.original.length,
  }
}

/** The bytes a dead letter kept (possibly a prefix of the original, see `truncated`). */
export function deadLetterOriginal(record: DeadLetterRecord): Uint8Array {
  return new Uint8Array(Buffer.from(record.original_b64, 'base64'))
}

/** Decoded length of padded base64 without decoding it (RFC 4648 §4: 4 chars → 3 bytes). */
export function base64DecodedLength(b64: string): number {
  const padding = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0
  return (b64.length / 4) * 3 - padding
}
