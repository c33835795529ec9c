/**
 * Who a TLS client is, read from its (already verified) client certificate. Pure, so the gateway
 * can call it on `tls.TLSSocket.getPeerCertificate()` and tests can call it on plain objects.
 *
 * The identity is the subjectAltName URI `urn:pedepronto:device:<restaurant_id>:<device_id>`; the
 * subject's CN (device) and OU (restaurant) must say the same, so a certificate whose two names
 * disagree — a mistake or a forgery attempt by whoever holds a CA key — identifies nobody.
 */
import { ID_REGEX } from '@pedepronto/contracts'

export interface DeviceIdentity {
  deviceId: string
  restaurantId: string
}

/**
 * The part of Node's PeerCertificate we read. Node gives an array when an attribute repeats (two
 * CNs); that is ambiguous and refused.
 */
export interface CertificateNames {
  subject?: { CN?: string | string[]; OU?: string | string[] } | null
  subjectaltname?: string
}

const DEVICE_URN = /^urn:pedepronto:device:([^:]+):([^:]+)$/

/**
 * Splits Node's subjectaltname string ("DNS:a, URI:b"). Since the CVE-2021-44532 fix Node quotes a
 * value holding a comma or quote as a JSON string (`URI:"a,b"`), so those are unquoted here rather
 * than split apart.
 */
export function parseSubjectAltName(text: string): Array<{ type: string; value: string }> {
  const out: Array<{ type: string; value: string }> = []
  const entry = /\s*([A-Za-z][A-Za-z ]*?):("(?:[^"\\]|\\.)*"|[^,]*)\s*(?:,|$)/y
  while (entry.lastIndex < text.length) {
    const m = entry.exec(text)
    // Sticky: no match means text we do not understand; stop rather than guess.
    if (m === null) break
    const [, type, raw] = m
    let value = raw ?? ''
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string
      } catch {
        break
      }
    }
    out.push({ type: type ?? '', value })
  }
  return out
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined
}

/**
 * `{ deviceId, restaurantId }` of a device certificate, or null when it names no device or its
 * names disagree. Call it only on a certificate the TLS layer verified (authorized === true).
 */
export function deviceIdentityFromCertificate(
  cert: CertificateNames | null | undefined,
): DeviceIdentity | null {
  if (!cert) return null
  const cn = single(cert.subject?.CN)
  const ou = single(cert.subject?.OU)
  const uris = parseSubjectAltName(cert.subjectaltname ?? '')
    .filter((e) => e.type === 'URI' && e.value.startsWith('urn:pedepronto:device:'))
    .map((e) => e.value)
  let identity: DeviceIdentity
  if (uris.length > 1) return null
  if (uris.length === 1) {
    const m = DEVICE_URN.exec(uris[0] ?? '')
    if (!m) return null
    identity = { restaurantId: m[1] ?? '', deviceId: m[2] ?? '' }
    // The subject must agree when present; an absent CN/OU (the cert names the device only in its
    // SAN, as RFC 6125 prefers) is fine.
    if (cn !== undefined && cn !== identity.deviceId) return null
    if (ou !== undefined && ou !== identity.restaurantId) return null
    if (cert.subject?.CN !== undefined && cn === undefined) return null
    if (cert.subject?.OU !== undefined && ou === undefined) return null
  } else {
    // No device URI: fall back to the subject, which this CA always writes as OU=<restaurant>/CN=<device>.
    if (cn === undefined || ou === undefined) return null
    identity = { restaurantId: ou, deviceId: cn }
  }
  if (!ID_REGEX.test(identity.deviceId) || !ID_REGEX.test(identity.restaurantId)) return null
  return identity
}
