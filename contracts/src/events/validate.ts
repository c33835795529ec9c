// Validation of untrusted input: schema first (TypeBox, every error with its JSON pointer), then the
// semantic rules a JSON Schema cannot express. Never throws: the gateway turns a failure into a
// dead letter whose reason is the `reason` here.
import { KindGuard, type TSchema } from '@sinclair/typebox'
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler'
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors'
import { COMMAND_SCHEMAS, type Command, CommandEnvelopeSchema } from './commands.js'
import { base64DecodedLength, type DeadLetterRecord, DeadLetterSchema } from './dead-letter.js'
import { STATUSES_REQUIRING_REASON } from './order-status.js'
import {
  type DeviceEvent,
  EVENT_SCHEMAS,
  EventEnvelopeSchema,
  INGESTED_EVENT_SCHEMAS,
  IngestedEnvelopeSchema,
  type IngestedEvent,
  type IngestMeta,
  SENSOR_UNITS,
} from './schemas.js'

export interface ValidationError {
  /** JSON pointer (RFC 6901) into the input; '' is the whole value. */
  path: string
  message: string
}

export type ValidationResult<T> =
  | { ok: true; value: T }
  | { ok: false; reason: 'schema' | 'semantic'; errors: ValidationError[] }

export type ParseResult<T> =
  | ValidationResult<T>
  | { ok: false; reason: 'malformed_json'; errors: ValidationError[] }

/** Enough to fix a message; bounded so that a hostile 1 MB array cannot make a 1 MB error list. */
export const MAX_VALIDATION_ERRORS = 20

type Checkers = Readonly<Record<string, TypeCheck<TSchema>>>

function compileAll<S extends Readonly<Record<string, TSchema>>>(schemas: S): Checkers {
  const out: Record<string, TypeCheck<TSchema>> = {}
  for (const [key, schema] of Object.entries(schemas)) out[key] = TypeCompiler.Compile(schema)
  return out
}

// Compiled once at module load: TypeCompiler generates a checking function per schema.
const eventCheckers = compileAll(EVENT_SCHEMAS)
const eventEnvelopeChecker = TypeCompiler.Compile(EventEnvelopeSchema)
const ingestedCheckers = compileAll(INGESTED_EVENT_SCHEMAS)
const ingestedEnvelopeChecker = TypeCompiler.Compile(IngestedEnvelopeSchema)
const commandCheckers = compileAll(COMMAND_SCHEMAS)
const commandEnvelopeChecker = TypeCompiler.Compile(CommandEnvelopeSchema)
const deadLetterChecker = TypeCompiler.Compile(DeadLetterSchema)

function stripExpected(message: string): string {
  return message.startsWith('Expected ') ? message.slice('Expected '.length) : message
}

/** TypeBox reports a failed union as "Expected union value"; say which alternatives were expected. */
function describe(error: ValueError): string {
  if (error.type !== ValueErrorType.Union || !KindGuard.IsUnion(error.schema)) return error.message
  const variants = error.schema.anyOf
  if (variants.every((v) => KindGuard.IsLiteral(v))) {
    return `Expected one of ${variants.map((v) => JSON.stringify(v.const)).join(', ')}`
  }
  const parts = error.errors.map((it) => {
    const first = it.First()
    return first === undefined ? 'a value' : stripExpected(describe(first))
  })
  return `Expected ${parts.join(', or ')}`
}

function schemaErrors(checker: TypeCheck<TSchema>, value: unknown): ValidationError[] {
  const errors: ValidationError[] = []
  const missing = new Set<string>()
  for (const error of checker.Errors(value)) {
    // TypeBox follows "Expected required property" with the property's own type error; one is enough.
    if (missing.has(error.path)) continue
    if (error.type === ValueErrorType.ObjectRequiredProperty) missing.add(error.path)
    errors.push({ path: error.path, message: describe(error) })
    if (errors.length >= MAX_VALIDATION_ERRORS) break
  }
  return errors
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Picks the schema by `type` so that errors point into the right payload (a plain union would only
 * say "Expected union value" at the root), then applies the semantic rules of that type.
 */
function validateDiscriminated<T>(
  value: unknown,
  checkers: Checkers,
  fallback: TypeCheck<TSchema>,
  semantic: (value: T) => ValidationError[],
): ValidationResult<T> {
  const type = isRecord(value) ? value.type : undefined
  const checker = typeof type === 'string' && Object.hasOwn(checkers, type) ? checkers[type]! : fallback
  if (checker === fallback || !checker.Check(value)) {
    // The fallback checks the envelope only; it is used when `type` is missing or unknown, which its
    // own `type` schema reports. The extra error is a guard against an empty list, never expected.
    const errors = schemaErrors(checker, value)
    return { ok: false, reason: 'schema', errors: errors.length > 0 ? errors : [unknownTypeError(checkers)] }
  }
  return withSemantic(value as T, semantic)
}

function unknownTypeError(checkers: Checkers): ValidationError {
  return {
    path: '/type',
    message: `Expected one of ${Object.keys(checkers)
      .map((k) => `"${k}"`)
      .join(', ')}`,
  }
}

function withSemantic<T>(value: T, semantic: (value: T) => ValidationError[]): ValidationResult<T> {
  const errors = semantic(value).slice(0, MAX_VALIDATION_ERRORS)
  return errors.length > 0 ? { ok: false, reason: 'semantic', errors } : { ok: true, value }
}

function eventSemanticErrors(event: DeviceEvent | IngestedEvent): ValidationError[] {
  switch (event.type) {
    case 'order.placed': {
      const { items, total_cents } = event.payload
      // Integer cents throughout; the largest possible sum (50 × 99 × 10^7) is far below 2^53.
      const sum = items.reduce((acc, item) => acc + item.quantity * item.unit_price_cents, 0)
      return sum === total_cents
        ? []
        : [
            {
              path: '/payload/total_cents',
              message: `Expected total_cents to equal the sum of quantity × unit_price_cents (${sum}), got ${total_cents}`,
            },
          ]
    }
    case 'order.status_changed': {
      const { to, reason } = event.payload
      return STATUSES_REQUIRING_REASON.includes(to) && reason === undefined
        ? [{ path: '/payload/reason', message: `Expected a reason when the order becomes ${to}` }]
        : []
    }
    case 'device.telemetry': {
      const { sensor, unit } = event.payload
      const expected = SENSOR_UNITS[sensor]
      return unit === expected
        ? []
        : [
            {
              path: '/payload/unit',
              message: `Expected unit "${expected}" for sensor "${sensor}", got "${unit}"`,
            },
          ]
    }
    case 'order.rated':
    case 'device.heartbeat':
      return []
  }
}

function commandSemanticErrors(command: Command): ValidationError[] {
  return command.expires_at > command.issued_at
    ? []
    : [
        {
          path: '/expires_at',
          message: `Expected expires_at (${command.expires_at}) to be later than issued_at (${command.issued_at})`,
        },
      ]
}

function deadLetterSemanticErrors(record: DeadLetterRecord): ValidationError[] {
  const kept = base64DecodedLength(record.original_b64)
  if (kept > record.original_size) {
    return [
      {
        path: '/original_size',
        message: `Expected original_size (${record.original_size}) to be at least the ${kept} bytes kept in original_b64`,
      },
    ]
  }
  if (record.truncated !== kept < record.original_size) {
    return [
      {
        path: '/truncated',
        message: `Expected truncated to be ${kept < record.original_size}: kept ${kept} of ${record.original_size} bytes`,
      },
    ]
  }
  return []
}

export function validateEvent(value: unknown): ValidationResult<DeviceEvent> {
  return validateDiscriminated<DeviceEvent>(value, eventCheckers, eventEnvelopeChecker, eventSemanticErrors)
}

export function validateIngestedEvent(value: unknown): ValidationResult<IngestedEvent> {
  return validateDiscriminated<IngestedEvent>(
    value,
    ingestedCheckers,
    ingestedEnvelopeChecker,
    eventSemanticErrors,
  )
}

export function validateCommand(value: unknown): ValidationResult<Command> {
  return validateDiscriminated<Command>(value, commandCheckers, commandEnvelopeChecker, commandSemanticErrors)
}

export function validateDeadLetter(value: unknown): ValidationResult<DeadLetterRecord> {
  if (!deadLetterChecker.Check(value)) {
    return { ok: false, reason: 'schema', errors: schemaErrors(deadLetterChecker, value) }
  }
  return withSemantic(value as DeadLetterRecord, deadLetterSemanticErrors)
}

// fatal: invalid UTF-8 is malformed input, not something to repair with U+FFFD and then accept.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })
const utf8Encoder = new TextEncoder()

type JsonResult =
  | { ok: true; value: unknown }
  | { ok: false; reason: 'malformed_json'; errors: ValidationError[] }

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** UTF-8 decode + JSON.parse without throwing. A leading BOM is skipped by TextDecoder. */
export function decodeJson(input: Uint8Array | string): JsonResult {
  let text: string
  if (typeof input === 'string') {
    text = input
  } else {
    try {
      text = utf8Decoder.decode(input)
    } catch (error) {
      return {
        ok: false,
        reason: 'malformed_json',
        errors: [{ path: '', message: `Invalid UTF-8: ${errorMessage(error)}` }],
      }
    }
  }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    return {
      ok: false,
      reason: 'malformed_json',
      errors: [{ path: '', message: `Invalid JSON: ${errorMessage(error)}` }],
    }
  }
}

function parseWith<T>(
  input: Uint8Array | string,
  validate: (value: unknown) => ValidationResult<T>,
): ParseResult<T> {
  const json = decodeJson(input)
  return json.ok ? validate(json.value) : json
}

export function parseEvent(input: Uint8Array | string): ParseResult<DeviceEvent> {
  return parseWith(input, validateEvent)
}

/**
 * {@link parseEvent} that also hands back the decoded JSON text of a valid event, so the gateway can
 * write the ingested form with {@link encodeIngestedText} instead of re-serialising the object.
 */
export function parseEventText(
  input: Uint8Array,
): { ok: true; value: DeviceEvent; text: string } | Extract<ParseResult<DeviceEvent>, { ok: false }> {
  let text: string
  try {
    text = utf8Decoder.decode(input)
  } catch {
    // Invalid UTF-8: decodeJson words the error the same way parseEvent does.
    return decodeJson(input) as Extract<ParseResult<DeviceEvent>, { ok: false }>
  }
  const result = parseWith(text, validateEvent)
  return result.ok ? { ok: true, value: result.value, text } : result
}

export function parseIngestedEvent(input: Uint8Array | string): ParseResult<IngestedEvent> {
  return parseWith(input, validateIngestedEvent)
}

export function parseCommand(input: Uint8Array | string): ParseResult<Command> {
  return parseWith(input, validateCommand)
}

export function parseDeadLetter(input: Uint8Array | string): ParseResult<DeadLetterRecord> {
  return parseWith(input, validateDeadLetter)
}

/** JSON, UTF-8. Field order is the object's, which for records built from the schemas is the schema's. */
export function encodeJson(value: DeviceEvent | IngestedEvent | Command | DeadLetterRecord): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(value))
}

export function encodeEvent(event: DeviceEvent | IngestedEvent): Uint8Array {
  return encodeJson(event)
}

/**
 * The ingested event's JSON from the device event's own JSON text: the device's bytes, then the
 * gateway's three fields before the closing brace. `deviceJson` must be the text of an event that
 * {@link validateEvent} accepted — an object that cannot hold received_at, gateway_id or transport
 * (additionalProperties: false), so no key is duplicated. It parses to exactly
 * `toIngested(event, meta)`; the gateway uses it because JSON.stringify of the object, plus the
 * object copy, was a tenth of its time per event (bench gateway, CPU profile).
 */
export function encodeIngestedText(deviceJson: string, meta: IngestMeta): string {
  const close = deviceJson.lastIndexOf('}')
  if (close < 0) throw new TypeError('encodeIngestedText: not the JSON text of an object')
  // What precedes the closing brace is the last member and optional whitespace (a valid event has
  // required members, so never a bare "{").
  const head = deviceJson.slice(0, close).trimEnd()
  return `${head},"received_at":${meta.receivedAt},"gateway_id":${JSON.stringify(meta.gatewayId)},"transport":${JSON.stringify(meta.transport)}}`
}

export function encodeCommand(command: Command): Uint8Array {
  return encodeJson(command)
}

export function encodeDeadLetter(record: DeadLetterRecord): Uint8Array {
  return encodeJson(record)
}
