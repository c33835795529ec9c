import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeJson,
  MAX_VALIDATION_ERRORS,
  parseCommand,
  parseDeadLetter,
  parseEvent,
  parseIngestedEvent,
  validateCommand,
  validateDeadLetter,
  validateEvent,
  validateIngestedEvent,
} from '../../src/events/index.js'
import { arbDeviceEvent } from '../arbitraries.js'

const RUNS = { numRuns: 10_000 }

const validators = [validateEvent, validateIngestedEvent, validateCommand, validateDeadLetter]
const parsers = [parseEvent, parseIngestedEvent, parseCommand, parseDeadLetter]

// Hot-loop checks return booleans instead of calling expect: 10,000 runs × several expect calls
// would cost seconds of matcher overhead without checking anything more.
function isWellFormed(result: ReturnType<typeof validateEvent>): boolean {
  if (result.ok) return true
  return (
    result.errors.length > 0 &&
    result.errors.length <= MAX_VALIDATION_ERRORS &&
    result.errors.every((e) => (e.path === '' || e.path.startsWith('/')) && e.message.length > 0)
  )
}

describe('validation never throws', () => {
  it('on arbitrary JSON values, and rejects them with well-formed errors', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) =>
        validators.every((validate) => {
          const result = validate(value) as ReturnType<typeof validateEvent>
          return !result.ok && isWellFormed(result)
        }),
      ),
      RUNS,
    )
  })

  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) =>
        parsers.every((parse) => {
          const result = parse(bytes)
          return !result.ok && result.errors.length > 0
        }),
      ),
      RUNS,
    )
  })

  it('on valid events with one field replaced by an arbitrary JSON value', () => {
    fc.assert(
      fc.property(
        arbDeviceEvent,
        fc.nat(),
        fc.jsonValue(),
        fc.boolean(),
        (event, pick, replacement, inPayload) => {
          const target: Record<string, unknown> = inPayload ? { ...event.payload } : { ...event }
          const keys = Object.keys(target)
          const key = keys[pick % keys.length]!
          target[key] = replacement
          const mutated = inPayload ? { ...event, payload: target } : target
          const result = validateEvent(mutated)
          // A replacement is accepted only if it is itself a valid value, and then the value is returned as is.
          return isWellFormed(result) && (!result.ok || result.value === mutated)
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('decodeJson agrees with JSON.parse on strings', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        let expected: unknown
        try {
          expected = { ok: true, value: JSON.parse(text) }
        } catch {
          expected = { ok: false, reason: 'malformed_json' }
        }
        expect(decodeJson(text)).toMatchObject(expected as object)
      }),
      { numRuns: 1000 },
    )
  })
})
