// Building blocks shared by every wire record: ids, UUIDv7, timestamps, closed string lists.
// Each schema is a TypeBox definition, so one declaration gives the static type (Static<>), the
// runtime validator (TypeCompiler) and a plain JSON Schema for the Parquet/Glue/JSON Schema exports.
import { type SchemaOptions, type TLiteral, type TSchema, type TUnion, Type } from '@sinclair/typebox'

/** Version of the envelope and payload schemas; every record carries it as `v`. */
export const EVENT_SCHEMA_VERSION = 1

/**
 * Ids (device, restaurant, customer, order, gateway, sku). Lowercase ASCII so that they are safe as
 * MQTT topic levels (no '/', '+', '#', '$', MQTT 3.1.1 §4.7) and S3 key segments, and compare
 * case-insensitively without surprises.
 */
export const ID_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$'
export const ID_REGEX = new RegExp(ID_PATTERN)
export const ID_MAX_LENGTH = 64

/**
 * RFC 9562 §5.7 UUIDv7 in canonical lowercase form: version nibble 7, variant bits 10 (8, 9, a, b).
 * Lowercase only, so that the same id never appears twice in two spellings (dedup is by string).
 */
export const UUIDV7_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
export const UUIDV7_REGEX = new RegExp(UUIDV7_PATTERN)

/** Plausible device clocks: anything outside is a device with an unset RTC, not an event time. */
export const EPOCH_MS_MIN = Date.UTC(2020, 0, 1)
export const EPOCH_MS_MAX = Date.UTC(2100, 0, 1)

/** MQTT 3.1.1 §1.5.3: a UTF-8 string is at most 65535 bytes, hence a topic name too. */
export const MQTT_TOPIC_MAX_LENGTH = 65_535

/** Per-device sequence numbers are uint32 so that the C firmware and the serial frames can carry them. */
export const SEQ_MAX = 0xffff_ffff

export const IdSchema = Type.String({
  pattern: ID_PATTERN,
  maxLength: ID_MAX_LENGTH,
  description: 'Lowercase id: [a-z0-9] then up to 63 of [a-z0-9_-]',
})

export const Uuidv7Schema = Type.String({
  pattern: UUIDV7_PATTERN,
  description: 'UUIDv7 (RFC 9562), lowercase canonical 36 characters',
})

export const EpochMsSchema = Type.Integer({
  minimum: EPOCH_MS_MIN,
  maximum: EPOCH_MS_MAX,
  description: 'Unix epoch milliseconds between 2020-01-01 and 2100-01-01 (inclusive)',
})

export const SeqSchema = Type.Integer({
  minimum: 0,
  maximum: SEQ_MAX,
  description: 'Per-device sequence number, uint32',
})

export const SchemaVersionSchema = Type.Literal(EVENT_SCHEMA_VERSION)

type LiteralTuple<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K] & string> }

/**
 * A union of string literals built from an `as const` list, so that the list (for iteration and
 * arbitraries) and the schema cannot drift apart. TypeBox cannot infer the mapped tuple, hence the cast.
 */
export function literalUnion<const T extends readonly string[]>(
  values: T,
  options?: SchemaOptions,
): TUnion<LiteralTuple<T>> {
  return Type.Union(
    values.map((value) => Type.Literal(value)),
    options,
  ) as unknown as TUnion<LiteralTuple<T>>
}

/** `T | null`, used for optional-by-design wire fields that must still be present (no missing keys). */
export function nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()])
}

/** How a record reached the gateway; `mqtts` is MQTT over TLS with client certificates. */
export const TRANSPORTS = ['mqtt', 'mqtts', 'ws', 'serial'] as const
export type Transport = (typeof TRANSPORTS)[number]
export const TransportSchema = literalUnion(TRANSPORTS, {
  description: 'Transport the gateway received it on',
})
