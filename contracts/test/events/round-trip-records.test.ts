import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeCommand, encodeDeadLetter, parseCommand, parseDeadLetter } from '../../src/events/index.js'
import { arbCommand, arbDeadLetter } from '../arbitraries.js'

const RUNS = { numRuns: 10_000 }

describe('round trips (encode → parse equals the input)', () => {
  it('commands', () => {
    fc.assert(
      fc.property(arbCommand, (command) => {
        expect(parseCommand(encodeCommand(command))).toEqual({ ok: true, value: command })
      }),
      RUNS,
    )
  })

  it('dead letters', () => {
    fc.assert(
      fc.property(arbDeadLetter, (record) => {
        expect(parseDeadLetter(encodeDeadLetter(record))).toEqual({ ok: true, value: record })
      }),
      RUNS,
    )
  })
})
