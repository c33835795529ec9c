/**
 * The CA's output against a real Node TLS server configured the way the gateway's production profile
 * is: client certificates required, verified against ca.pem, with the CRL.
 */
import { readFile, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { connect, createServer, type PeerCertificate, type Server, type TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  certPaths,
  deviceIdentityFromCertificate,
  initCa,
  issueDevice,
  issueServer,
  leafExtensionsText,
  openssl,
  revokeDevice,
} from '../src/index.js'
import { tempCertsDir } from './helpers.js'

type Outcome =
  | { accepted: true; authorized: boolean; peer: PeerCertificate }
  | { accepted: false; error: Error; authorizationError: string | undefined }

interface ClientCreds {
  key: string
  cert: string
}

let dir: string
let foreignDir: string
let cleanups: Array<() => Promise<void>> = []
let server: Server
let port: number
let caPem: string
const pending: Array<(o: Outcome) => void> = []

async function creds(keyPath: string, certPath: string): Promise<ClientCreds> {
  return { key: await readFile(keyPath, 'utf8'), cert: await readFile(certPath, 'utf8') }
}

/** One client connection; resolves with what the server decided about it. */
function attempt(client: ClientCreds | undefined): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no server-side outcome within 5 s')), 5_000)
    pending.push((o) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(o)
    })
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: caPem, ...client })
    // The client learns about a refused certificate from an alert (or a reset); only the server's
    // view is asserted, so the client's error is expected and ignored.
    socket.on('error', () => {})
  })
}

beforeAll(async () => {
  const a = await tempCertsDir('tls')
  const b = await tempCertsDir('tls-foreign')
  dir = a.dir
  foreignDir = b.dir
  cleanups = [a.cleanup, b.cleanup]
  await initCa(dir)
  await initCa(foreignDir)
  const srv = await issueServer(dir, 'gateway', ['DNS:localhost', 'IP:127.0.0.1'])
  await issueDevice(dir, 'kiosk-1', 'rest-1')
  await issueDevice(dir, 'pager-2', 'rest-1')
  await revokeDevice(dir, 'pager-2', 'keyCompromise')
  await issueDevice(foreignDir, 'kiosk-1', 'rest-1')
  const p = certPaths(dir)
  caPem = await readFile(p.caCert, 'utf8')
  server = createServer({
    key: await readFile(srv.key),
    cert: await readFile(srv.cert),
    ca: caPem,
    crl: await readFile(p.crl),
    requestCert: true,
    rejectUnauthorized: true,
  })
  server.on('secureConnection', (socket: TLSSocket) => {
    const peer = socket.getPeerCertificate()
    pending.shift()?.({ accepted: true, authorized: socket.authorized, peer })
    socket.end()
  })
  // Node verifies the chain after the handshake and destroys the socket when rejectUnauthorized
  // (lib/_tls_wrap.js, onServerSocketSecure); the verify result is left in authorizationError.
  server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
    const reason = socket.authorizationError as unknown as string | undefined
    pending.shift()?.({ accepted: false, error, authorizationError: reason })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
}, 20_000)

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  for (const c of cleanups) await c()
})

describe('a TLS server with requestCert, rejectUnauthorized and the CRL', () => {
  it('accepts a valid device certificate and reads its identity from the peer certificate', async () => {
    const p = certPaths(dir).device('kiosk-1')
    const o = await attempt(await creds(p.key, p.cert))
    if (!o.accepted) throw o.error
    expect(o.authorized).toBe(true)
    expect(o.peer.subject.CN).toBe('kiosk-1')
    expect(deviceIdentityFromCertificate(o.peer)).toEqual({ deviceId: 'kiosk-1', restaurantId: 'rest-1' })
    // Same real certificate, subject tampered: the names disagree, so it identifies nobody.
    expect(
      deviceIdentityFromCertificate({ ...o.peer, subject: { ...o.peer.subject, CN: 'kiosk-2' } }),
    ).toBeNull()
  })

  it('rejects the revoked device certificate', async () => {
    const p = certPaths(dir).device('pager-2')
    const o = await attempt(await creds(p.key, p.cert))
    expect(o.accepted).toBe(false)
    if (!o.accepted) expect(o.authorizationError).toBe('CERT_REVOKED')
  })

  it('rejects a certificate from a second, foreign CA', async () => {
    const p = certPaths(foreignDir).device('kiosk-1')
    const o = await attempt(await creds(p.key, p.cert))
    expect(o.accepted).toBe(false)
    // OpenSSL reports "no issuer for a one-certificate chain" as UNABLE_TO_VERIFY_LEAF_SIGNATURE
    // (crypto/x509/x509_vfy.c, check_chain): the client sent its leaf alone.
    if (!o.accepted) expect(o.authorizationError).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  })

  it('rejects a client with no certificate', async () => {
    const o = await attempt(undefined)
    expect(o.accepted).toBe(false)
    // Refused inside the handshake (SSL_VERIFY_FAIL_IF_NO_PEER_CERT), before any chain check.
    if (!o.accepted) expect(o.error.message).toMatch(/peer did not return a certificate/i)
  })

  it('accepts a CA-signed certificate whose CN and SAN disagree, but gives it no identity', async () => {
    // Signed by the real CA outside `openssl ca`: the TLS layer has no reason to refuse it, so the
    // identity check is the only guard.
    const p = certPaths(dir)
    const key = join(dir, 'mismatch.key')
    const csr = join(dir, 'mismatch.csr')
    const ext = join(dir, 'mismatch.ext')
    const cert = join(dir, 'mismatch.pem')
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key])
    await openssl([
      'req',
      '-new',
      '-config',
      p.config,
      '-key',
      key,
      '-subj',
      '/O=Pede Pronto/OU=rest-1/CN=kiosk-9',
      '-out',
      csr,
    ])
    await writeFile(ext, leafExtensionsText('clientAuth', ['URI:urn:pedepronto:device:rest-1:kiosk-1']))
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        p.caCert,
        '-CAkey',
        p.caKey,
        '-set_serial',
        '0x7777',
        '-days',
        '1',
      ].concat(['-extfile', ext, '-out', cert]),
    )
    const o = await attempt(await creds(key, cert))
    if (!o.accepted) throw o.error
    expect(o.authorized).toBe(true)
    expect(o.peer.subjectaltname).toBe('URI:urn:pedepronto:device:rest-1:kiosk-1')
    expect(deviceIdentityFromCertificate(o.peer)).toBeNull()
  })
})
