import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { crc32Portable } from '../../src/outbox/crc32.js'
import {
  crc32,
  decodeRecord,
  encodedRecordSize,
  encodeRecord,
  type OutboxRecord,
} from '../../src/outbox/index.js'
import { recordArbitrary, sameRecord } from './helpers.js'

describe('encodeRecord / decodeRecord', () => {
  it('round-trips any record (10,000 runs)', () => {
    fc.assert(
      fc.property(recordArbitrary, (record) => {
        const bytes = encodeRecord(record)
        expect(bytes.length).toBe(encodedRecordSize(record))
        const back = decodeRecord(bytes)
        // Field by field rather than toEqual, whose generic walk would take most of the run time.
        if (!sameRecord(back, record)) expect(back).toEqual(record)
        expect(sameRecord(back, record)).toBe(true)
      }),
      { numRuns: 10_000 },
    )
  })

  it('keeps a null key apart from an empty one and a "__proto__" header as a header', () => {
    const base: OutboxRecord = { topic: '', key: null, value: Buffer.alloc(0), headers: {}, timestamp: -0 }
    expect(decodeRecord(encodeRecord(base))).toEqual(base)
    expect(decodeRecord(encodeRecord({ ...base, key: '' })).key).toBe('')
    const headers: Record<string, string> = {}
    Object.defineProperty(headers, '__proto__', {
      value: 'x',
      enumerable: true,
      writable: true,
      configurable: true,
    })
    const back = decodeRecord(encodeRecord({ ...base, headers }))
    expect(Object.getPrototypeOf(back.headers)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(back.headers, '__proto__')?.value).toBe('x')
  })

  it('has the documented layout', () => {
    const bytes = encodeRecord({
      topic: 'ab',
      key: 'k',
      value: Buffer.from([9, 8]),
      headers: { h: 'v' },
      timestamp: 1,
    })
    expect(bytes.toString('hex')).toBe(
      [
        '01', // version
        '3ff0000000000000', // f64 1
        '0002',
        '6162', // topic
        '00000001',
        '6b', // key
        '0001',
        '0001',
        '68',
        '00000001',
        '76', // one header
        '00000002',
        '0908', // value
      ].join(''),
    )
  })

  it('rejects truncated or padded input with GW_OUTBOX_CORRUPT instead of reading past the end', () => {
    const bytes = encodeRecord({
      topic: 't',
      key: 'k',
      value: Buffer.from('value'),
      headers: { a: 'b' },
      timestamp: 5,
    })
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(() => decodeRecord(bytes.subarray(0, cut))).toThrow(
        expect.objectContaining({ code: 'GW_OUTBOX_CORRUPT' }),
      )
    }
    expect(() => decodeRecord(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(/trailing/)
  })

  it('refuses a topic longer than its u16 length field with GW_OUTBOX_INVALID', () => {
    const record: OutboxRecord = {
      topic: 'x'.repeat(70_000),
      key: null,
      value: Buffer.alloc(0),
      headers: {},
      timestamp: 0,
    }
    expect(() => encodeRecord(record)).toThrow(expect.objectContaining({ code: 'GW_OUTBOX_INVALID' }))
  })
})

describe('crc32', () => {
  it('gives the CRC-32/ISO-HDLC check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926)
    expect(crc32Portable(Buffer.from('123456789'))).toBe(0xcbf43926)
  })

  it('the portable table agrees with the native one', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(crc32Portable(bytes)).toBe(crc32(bytes))
      }),
      { numRuns: 2_000 },
    )
  })
})
