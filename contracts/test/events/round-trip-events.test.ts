import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeEvent, parseEvent, parseIngestedEvent } from '../../src/events/index.js'
import { arbDeviceEvent, arbIngestedEvent } from '../arbitraries.js'

const RUNS = { numRuns: 10_000 }

describe('round trips (encode → parse equals the input)', () => {
  it('device events', () => {
    fc.assert(
      fc.property(arbDeviceEvent, (event) => {
        expect(parseEvent(encodeEvent(event))).toEqual({ ok: true, value: event })
      }),
      RUNS,
    )
  })

  it('ingested events', () => {
    fc.assert(
      fc.property(arbIngestedEvent, (event) => {
        expect(parseIngestedEvent(encodeEvent(event))).toEqual({ ok: true, value: event })
      }),
      RUNS,
    )
  })
})
