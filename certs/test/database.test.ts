import { describe, expect, it } from 'vitest'
import { parseAsn1Time, parseIndex, parseSubject } from '../src/index.js'

const INDEX = [
  'V\t281202165410Z\t\t1000\tunknown\t/O=Pede Pronto/OU=Pede Pronto gateway/CN=gateway',
  'R\t271203165410Z\t261203165410Z,superseded\t1001\tunknown\t/O=Pede Pronto/OU=rest-1/CN=kiosk-1',
  'V\t20510101000000Z\t\t10ab\tunknown\t/O=Pede Pronto/OU=rest-2/CN=pager-7',
  'E\t200101000000Z\t\t1003\tunknown\t/O=Someone/CN=Else',
  '',
].join('\n')

describe('parseIndex', () => {
  it('reads status, dates, serial, kind and names of every line', () => {
    const now = new Date(Date.UTC(2027, 0, 1))
    expect(parseIndex(INDEX, now)).toEqual([
      {
        kind: 'server',
        serial: '1000',
        status: 'valid',
        expiresAt: new Date(Date.UTC(2028, 11, 2, 16, 54, 10)),
        subject: '/O=Pede Pronto/OU=Pede Pronto gateway/CN=gateway',
        name: 'gateway',
      },
      {
        kind: 'device',
        serial: '1001',
        status: 'revoked',
        expiresAt: new Date(Date.UTC(2027, 11, 3, 16, 54, 10)),
        revokedAt: new Date(Date.UTC(2026, 11, 3, 16, 54, 10)),
        revocationReason: 'superseded',
        subject: '/O=Pede Pronto/OU=rest-1/CN=kiosk-1',
        name: 'kiosk-1',
        restaurantId: 'rest-1',
      },
      {
        kind: 'device',
        serial: '10AB',
        status: 'valid',
        expiresAt: new Date(Date.UTC(2051, 0, 1)),
        subject: '/O=Pede Pronto/OU=rest-2/CN=pager-7',
        name: 'pager-7',
        restaurantId: 'rest-2',
      },
      {
        kind: 'other',
        serial: '1003',
        status: 'expired',
        expiresAt: new Date(Date.UTC(2020, 0, 1)),
        subject: '/O=Someone/CN=Else',
        name: 'Else',
      },
    ])
  })

  it('reports a still-"V" certificate past its expiry as expired', () => {
    const after = new Date(Date.UTC(2029, 0, 1))
    expect(parseIndex(INDEX, after).map((e) => e.status)).toEqual(['expired', 'revoked', 'valid', 'expired'])
  })

  it('refuses a line that is not an index.txt line, naming it', () => {
    expect(() => parseIndex('V\tnot-a-date\t\t1000\tunknown\t/CN=x\n')).toThrow(/line 1 of the CA database/)
    expect(() => parseIndex('X\t281202165410Z\t\t1000\tunknown\t/CN=x')).toThrow(
      expect.objectContaining({ code: 'CERTS_DATABASE_CORRUPT' }),
    )
    expect(parseIndex('')).toEqual([])
  })
})

describe('parseAsn1Time and parseSubject', () => {
  it('follows RFC 5280 for two-digit years', () => {
    expect(parseAsn1Time('491231235959Z')).toEqual(new Date(Date.UTC(2049, 11, 31, 23, 59, 59)))
    expect(parseAsn1Time('500101000000Z')).toEqual(new Date(Date.UTC(1950, 0, 1)))
    expect(parseAsn1Time('20500101000000Z')).toEqual(new Date(Date.UTC(2050, 0, 1)))
    expect(parseAsn1Time('2050')).toBeUndefined()
  })

  it('splits a one-line DN', () => {
    expect(parseSubject('/O=Pede Pronto/OU=rest-1/CN=kiosk-1')).toEqual({
      O: 'Pede Pronto',
      OU: 'rest-1',
      CN: 'kiosk-1',
    })
  })
})
