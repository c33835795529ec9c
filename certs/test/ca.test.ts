import { createPrivateKey, X509Certificate } from 'node:crypto'
import { access, readFile, stat } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CertsError,
  certPaths,
  initCa,
  issueDevice,
  issueServer,
  listCertificates,
  openssl,
  revokeDevice,
} from '../src/index.js'
import { tempCertsDir } from './helpers.js'

const DAY_MS = 86_400_000
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1'

async function rejection(promise: Promise<unknown>): Promise<CertsError> {
  try {
    await promise
  } catch (error) {
    return error as CertsError
  }
  throw new Error('expected a rejection')
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777
}

async function x509(path: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(path))
}

function validityDays(cert: X509Certificate): number {
  return Math.round((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / DAY_MS)
}

let dir: string
let cleanup: () => Promise<void>

beforeAll(async () => {
  ;({ dir, cleanup } = await tempCertsDir('ca'))
})
afterAll(async () => {
  await cleanup()
})

describe('initCa', { timeout: 15_000 }, () => {
  it('creates a self-signed EC P-256 CA, its openssl database and an empty CRL', async () => {
    const r = await initCa(dir)
    const p = certPaths(dir)
    expect(r.action).toBe('created')
    for (const f of [p.caCert, p.caKey, p.index, p.serial, p.crlNumber, p.config, p.crl, p.devicesCa])
      await access(f)
    expect(await mode(p.caKey)).toBe(0o600)
    expect(await readFile(p.index, 'utf8')).toBe('')
    expect(await readFile(p.devicesCa, 'utf8')).toBe(await readFile(p.caCert, 'utf8'))
    const ca = await x509(p.caCert)
    expect(ca.ca).toBe(true)
    expect(ca.subject).toMatch(/^O=Pede Pronto\nCN=Pede Pronto Local CA [0-9a-f]{8}$/)
    expect(ca.issuer).toBe(ca.subject)
    expect(ca.verify(ca.publicKey)).toBe(true)
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    expect(validityDays(ca)).toBe(3650)
    const ext = await openssl(['x509', '-in', p.caCert, '-noout', '-ext', 'basicConstraints,keyUsage'])
    expect(ext).toMatch(/Basic Constraints: critical\s+CA:TRUE/)
    expect(ext).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/)
    const crl = await openssl(['crl', '-in', p.crl, '-noout', '-text'])
    expect(crl).toMatch(/No Revoked Certificates/)
  })

  it('is idempotent: a second init keeps the CA byte for byte', async () => {
    const p = certPaths(dir)
    const before = await readFile(p.caKey)
    const r = await initCa(dir)
    expect(r.action).toBe('kept')
    expect((await readFile(p.caKey)).equals(before)).toBe(true)
  })
})

describe('issueServer and issueDevice', { timeout: 15_000 }, () => {
  it('issues a server certificate that openssl verify accepts against ca.pem', async () => {
    const r = await issueServer(dir, 'gateway', ['DNS:localhost', 'IP:127.0.0.1', 'DNS:gw.local'])
    const p = certPaths(dir)
    expect(r.cert).toBe(p.server('gateway').cert)
    expect(await mode(r.key)).toBe(0o600)
    expect((await openssl(['verify', '-CAfile', p.caCert, r.cert])).trim()).toBe(`${r.cert}: OK`)
    const cert = await x509(r.cert)
    expect(cert.subject).toBe('O=Pede Pronto\nOU=Pede Pronto gateway\nCN=gateway')
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, DNS:gw.local')
    expect(cert.keyUsage).toEqual([SERVER_AUTH])
    expect(cert.ca).toBe(false)
    expect(validityDays(cert)).toBe(730)
  })

  it('issues a device certificate with exactly the specified subject, SAN, issuer and key', async () => {
    const r = await issueDevice(dir, 'kiosk-1', 'rest-1')
    const p = certPaths(dir)
    expect(r).toMatchObject({
      cert: p.device('kiosk-1').cert,
      key: p.device('kiosk-1').key,
      ca: p.devicesCa,
      serial: '1001',
      superseded: [],
    })
    expect(await mode(r.key)).toBe(0o600)
    expect((await openssl(['verify', '-CAfile', p.devicesCa, r.cert])).trim()).toBe(`${r.cert}: OK`)
    const cert = await x509(r.cert)
    const ca = await x509(p.caCert)
    expect(cert.subject).toBe('O=Pede Pronto\nOU=rest-1\nCN=kiosk-1')
    expect(cert.subjectAltName).toBe('URI:urn:pedepronto:device:rest-1:kiosk-1')
    expect(cert.issuer).toBe(ca.subject)
    expect(cert.checkIssued(ca)).toBe(true)
    expect(cert.verify(ca.publicKey)).toBe(true)
    expect(cert.publicKey.asymmetricKeyType).toBe('ec')
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    expect(cert.keyUsage).toEqual([CLIENT_AUTH])
    expect(cert.serialNumber).toBe('1001')
    expect(validityDays(cert)).toBe(365)
    // The key on disk is the private half of the certificate's key.
    const keyPem = await readFile(r.key, 'utf8')
    expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true)
  })

  it('rejects ids that are not contracts ids, with exit code 64, and writes nothing', async () => {
    const p = certPaths(dir)
    const index = await readFile(p.index, 'utf8')
    for (const [device, restaurant] of [
      ['Kiosk-1', 'rest-1'],
      ['kiosk 1', 'rest-1'],
      ['../../etc/x', 'rest-1'],
      ['kiosk-9', 'rest/1'],
      ['kiosk-9', ''],
      ['a'.repeat(65), 'rest-1'],
    ] as const) {
      const e = await rejection(issueDevice(dir, device, restaurant))
      expect(e.code).toBe('CERTS_BAD_ID')
      expect(e.exitCode).toBe(64)
    }
    expect((await rejection(issueServer(dir, 'Gateway One'))).code).toBe('CERTS_BAD_ID')
    const san = await rejection(issueServer(dir, 'gateway', ['DNS:x\nbasicConstraints=critical,CA:TRUE']))
    expect(san.code).toBe('CERTS_BAD_SAN')
    expect((await rejection(issueServer(dir, 'gateway', ['email:a@b.c']))).code).toBe('CERTS_BAD_SAN')
    expect(await readFile(p.index, 'utf8')).toBe(index)
  })

  it('re-issues an existing device only with force, revoking the old certificate', async () => {
    const e = await rejection(issueDevice(dir, 'kiosk-1', 'rest-1'))
    expect(e.code).toBe('CERTS_DEVICE_EXISTS')
    expect(e.exitCode).toBe(64)
    const r = await issueDevice(dir, 'kiosk-1', 'rest-1', { force: true })
    expect(r.serial).toBe('1002')
    expect(r.superseded).toEqual(['1001'])
    const kiosk = (await listCertificates(dir)).filter((c) => c.name === 'kiosk-1')
    expect(kiosk.map((c) => [c.serial, c.status, c.revocationReason])).toEqual([
      ['1001', 'revoked', 'superseded'],
      ['1002', 'valid', undefined],
    ])
  })

  it('refuses to issue before init, saying what to run', async () => {
    const empty = await tempCertsDir('empty')
    try {
      const e = await rejection(issueDevice(empty.dir, 'kiosk-1', 'rest-1'))
      expect(e.code).toBe('CERTS_NO_CA')
      expect(e.message).toContain('run `pedepronto certs init` first')
      expect((await rejection(listCertificates(empty.dir))).code).toBe('CERTS_NO_CA')
    } finally {
      await empty.cleanup()
    }
  })
})

describe('revokeDevice and listCertificates', { timeout: 15_000 }, () => {
  it('revokes the device, puts its serial in the CRL and makes openssl verify -crl_check fail', async () => {
    const p = certPaths(dir)
    const other = await issueDevice(dir, 'pager-7', 'rest-2')
    const r = await revokeDevice(dir, 'kiosk-1', 'keyCompromise')
    expect(r).toMatchObject({ deviceId: 'kiosk-1', revoked: ['1002'], alreadyRevoked: ['1001'], crl: p.crl })
    expect((r.crlNextUpdate?.getTime() ?? 0) - Date.now()).toBeGreaterThan(29 * DAY_MS)
    const crl = await openssl(['crl', '-in', p.crl, '-noout', '-text'])
    expect(crl).toMatch(
      /Serial Number: 1001\s+Revocation Date: .*\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+Superseded/,
    )
    expect(crl).toMatch(
      /Serial Number: 1002\s+Revocation Date: .*\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+Key Compromise/,
    )
    expect(crl).not.toMatch(new RegExp(`Serial Number: ${other.serial}`))
    const verify = (cert: string) =>
      openssl(['verify', '-crl_check', '-CAfile', p.caCert, '-CRLfile', p.crl, cert]).then(
        (out) => out.trim(),
        (error: CertsError) => error.message,
      )
    expect(await verify(p.device('kiosk-1').cert)).toMatch(/certificate revoked/)
    expect(await verify(other.cert)).toBe(`${other.cert}: OK`)
  })

  it('is idempotent for an already revoked device and refuses an unknown one', async () => {
    const again = await revokeDevice(dir, 'kiosk-1')
    expect(again.revoked).toEqual([])
    expect(again.alreadyRevoked).toEqual(['1001', '1002'])
    const e = await rejection(revokeDevice(dir, 'never-issued'))
    expect(e.code).toBe('CERTS_DEVICE_UNKNOWN')
  })

  it('lists every certificate with kind, serial, status and expiry from index.txt', async () => {
    const list = await listCertificates(dir)
    expect(list.map((c) => [c.kind, c.serial, c.status, c.name, c.restaurantId])).toEqual([
      ['server', '1000', 'valid', 'gateway', undefined],
      ['device', '1001', 'revoked', 'kiosk-1', 'rest-1'],
      ['device', '1002', 'revoked', 'kiosk-1', 'rest-1'],
      ['device', '1003', 'valid', 'pager-7', 'rest-2'],
    ])
    const pager = await x509(certPaths(dir).device('pager-7').cert)
    expect(list[3]?.expiresAt.getTime()).toBe(Date.parse(pager.validTo))
    // One day after the device certificate runs out, the same database reads as expired.
    const later = new Date(Date.parse(pager.validTo) + DAY_MS)
    expect((await listCertificates(dir, later))[3]?.status).toBe('expired')
  })

  it('init --force replaces the CA and deletes what the old one issued', async () => {
    const p = certPaths(dir)
    const oldCa = await readFile(p.caCert, 'utf8')
    const r = await initCa(dir, { force: true })
    expect(r.action).toBe('replaced')
    expect(await readFile(p.caCert, 'utf8')).not.toBe(oldCa)
    expect(await listCertificates(dir)).toEqual([])
    await expect(access(p.device('pager-7').cert)).rejects.toThrow()
    expect(await readFile(p.devicesCa, 'utf8')).toBe(await readFile(p.caCert, 'utf8'))
  })
})
