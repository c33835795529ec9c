import { describe, expect, it } from 'vitest'
import { deviceIdentityFromCertificate, parseSubjectAltName } from '../src/index.js'

const URI = 'URI:urn:pedepronto:device:rest-1:kiosk-1'
const KIOSK = { deviceId: 'kiosk-1', restaurantId: 'rest-1' }

describe('deviceIdentityFromCertificate', () => {
  it('reads the identity from the SAN URI when CN and OU agree', () => {
    expect(
      deviceIdentityFromCertificate({ subject: { CN: 'kiosk-1', OU: 'rest-1' }, subjectaltname: URI }),
    ).toEqual(KIOSK)
  })

  it('finds the device URI among other SAN entries and ignores foreign URIs', () => {
    const san = `DNS:kiosk.local, IP Address:10.0.0.7, URI:https://example.com/x, ${URI}`
    expect(
      deviceIdentityFromCertificate({ subject: { CN: 'kiosk-1', OU: 'rest-1' }, subjectaltname: san }),
    ).toEqual(KIOSK)
  })

  it('accepts a SAN-only certificate (no CN/OU) and falls back to CN/OU without a device URI', () => {
    expect(deviceIdentityFromCertificate({ subjectaltname: URI })).toEqual(KIOSK)
    expect(deviceIdentityFromCertificate({ subject: { CN: 'kiosk-1', OU: 'rest-1' } })).toEqual(KIOSK)
    expect(
      deviceIdentityFromCertificate({ subject: { CN: 'kiosk-1', OU: 'rest-1' }, subjectaltname: 'DNS:x' }),
    ).toEqual(KIOSK)
  })

  it('returns null when CN or OU disagree with the SAN', () => {
    expect(
      deviceIdentityFromCertificate({ subject: { CN: 'kiosk-2', OU: 'rest-1' }, subjectaltname: URI }),
    ).toBeNull()
    expect(
      deviceIdentityFromCertificate({ subject: { CN: 'kiosk-1', OU: 'rest-9' }, subjectaltname: URI }),
    ).toBeNull()
  })

  it('returns null for ambiguous or malformed names', () => {
    const cases = [
      // Two device URIs, two CNs: which device is it?
      { subjectaltname: `${URI}, URI:urn:pedepronto:device:rest-1:kiosk-2` },
      { subject: { CN: ['kiosk-1', 'kiosk-2'], OU: 'rest-1' }, subjectaltname: URI },
      // Not ids (uppercase, extra segment, empty).
      { subjectaltname: 'URI:urn:pedepronto:device:Rest-1:kiosk-1' },
      { subjectaltname: 'URI:urn:pedepronto:device:rest-1:kiosk-1:extra' },
      { subjectaltname: 'URI:urn:pedepronto:device::kiosk-1' },
      // The gateway's own server certificate is not a device.
      { subject: { CN: 'gateway', OU: 'Pede Pronto gateway' }, subjectaltname: 'DNS:localhost' },
      { subject: { CN: 'kiosk-1' } },
      {},
    ]
    for (const c of cases) expect(deviceIdentityFromCertificate(c)).toBeNull()
    expect(deviceIdentityFromCertificate(null)).toBeNull()
    expect(deviceIdentityFromCertificate(undefined)).toBeNull()
  })
})

describe('parseSubjectAltName', () => {
  it("splits Node's format and unquotes JSON-quoted values (CVE-2021-44532)", () => {
    expect(parseSubjectAltName('DNS:a.b, IP Address:127.0.0.1, URI:"urn:x,y", email:"q\\"r"')).toEqual([
      { type: 'DNS', value: 'a.b' },
      { type: 'IP Address', value: '127.0.0.1' },
      { type: 'URI', value: 'urn:x,y' },
      { type: 'email', value: 'q"r' },
    ])
    expect(parseSubjectAltName('')).toEqual([])
  })

  it('does not let a quoted comma forge a second device URI', () => {
    const forged = 'URI:"https://x/, URI:urn:pedepronto:device:rest-1:kiosk-1"'
    expect(parseSubjectAltName(forged)).toHaveLength(1)
    expect(
      deviceIdentityFromCertificate({ subject: { CN: 'kiosk-1', OU: 'rest-1' }, subjectaltname: forged }),
    ).toEqual(KIOSK)
  })
})
