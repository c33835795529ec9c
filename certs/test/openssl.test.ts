import { describe, expect, it } from 'vitest'
import { caConfigText, deviceUri, leafExtensionsText, parseSans } from '../src/index.js'

describe('parseSans', () => {
  it('normalises the kind and accepts comma-separated and repeated entries', () => {
    expect(
      parseSans(['dns:localhost,IP:127.0.0.1', 'IP:::1', 'URI:spiffe://pp/gw', 'DNS:*.gw.local']),
    ).toEqual(['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', 'URI:spiffe://pp/gw', 'DNS:*.gw.local'])
  })

  it('refuses anything that could change the extension file or is not a name', () => {
    for (const bad of [
      'DNS:a\nbasicConstraints=CA:TRUE',
      'DNS:$ENV::HOME',
      'DNS:-bad',
      'IP:999.1.1.1',
      'URI:no scheme',
      'email:a@b.c',
      'localhost',
    ]) {
      expect(() => parseSans([bad]), bad).toThrow(
        expect.objectContaining({ code: 'CERTS_BAD_SAN', exitCode: 64 }),
      )
    }
    expect(() => parseSans([' , '])).toThrow(/at least one subjectAltName/)
  })
})

describe('config and extension text', () => {
  it('writes the device extensions the gateway relies on', () => {
    expect(leafExtensionsText('clientAuth', [`URI:${deviceUri('rest-1', 'kiosk-1')}`])).toBe(
      [
        'basicConstraints = critical,CA:FALSE',
        'keyUsage = critical,digitalSignature',
        'extendedKeyUsage = clientAuth',
        'subjectKeyIdentifier = hash',
        'authorityKeyIdentifier = keyid,issuer',
        'subjectAltName = URI:urn:pedepronto:device:rest-1:kiosk-1',
        '',
      ].join('\n'),
    )
  })

  it('never copies extensions from a request and allows re-issue under the same subject', () => {
    const cnf = caConfigText()
    expect(cnf).toMatch(/^copy_extensions\s+= none$/m)
    expect(cnf).toMatch(/^unique_subject\s+= no$/m)
    expect(cnf).toMatch(/^default_crl_days = 30$/m)
    expect(cnf).toMatch(/^basicConstraints\s+= critical,CA:TRUE$/m)
  })
})
