import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  encodeEvent,
  encodeIngestedText,
  parseEvent,
  parseEventText,
  parseIngestedEvent,
  toIngested,
} from '../../src/events/index.js'
import { arbDeviceEvent, arbEpochMs, arbId, arbIngestedEvent, arbTransport } from '../arbitraries.js'

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

describe('encodeIngestedText (the gateway writes the device JSON plus its own fields)', () => {
  it('parses to toIngested(event, meta), whatever whitespace the device used', () => {
    const arbJsonText = fc
      .tuple(
        arbDeviceEvent,
        fc.constantFrom(undefined, 1, 2, '\t'),
        fc.constantFrom('', ' ', '\n', ' \r\n\t'),
      )
      .map(([event, indent, tail]) => ({ event, text: JSON.stringify(event, null, indent) + tail }))
    const arbMeta = fc.record({ receivedAt: arbEpochMs, gatewayId: arbId, transport: arbTransport })
    fc.assert(
      fc.property(arbJsonText, arbMeta, ({ event, text }, meta) => {
        const parsed = parseEventText(new TextEncoder().encode(text))
        expect(parsed.ok).toBe(true)
        if (!parsed.ok) return
        const out = encodeIngestedText(parsed.text, meta)
        expect(parseIngestedEvent(out)).toEqual({ ok: true, value: toIngested(event, meta) })
        // Same members in the same order as serialising the ingested object.
        expect(JSON.stringify(JSON.parse(out))).toBe(JSON.stringify(toIngested(event, meta)))
      }),
      RUNS,
    )
  })

  it('parseEventText rejects what parseEvent rejects, with the same errors', () => {
    const inputs = [
      new Uint8Array([0xff, 0xfe, 0x7b]),
      new TextEncoder().encode('{"v":1'),
      new TextEncoder().encode('{"v":1}'),
      new TextEncoder().encode('[]'),
    ]
    for (const input of inputs) {
      const a = parseEventText(input)
      expect(a.ok).toBe(false)
      expect(a).toEqual(parseEvent(input))
    }
  })
})
