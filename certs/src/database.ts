/**
 * The `openssl ca` database (index.txt), parsed. Pure: text in, entries out. The format is one
 * tab-separated line per certificate — status (V valid, R revoked, E expired), expiry, revocation
 * "date[,reason]" (empty unless revoked), serial in hex, file name ("unknown"), subject DN — as
 * written by apps/ca.c (OpenSSL 3, DB_type … DB_name).
 */
import { ID_REGEX } from '@pedepronto/contracts'
import { CertsError, CertsErrorCodes } from './errors.js'
import { SERVER_OU } from './openssl.js'

export type CertificateStatus = 'valid' | 'revoked' | 'expired'

export interface CertificateEntry {
  kind: 'device' | 'server' | 'other'
  /** Serial number, uppercase hex, as openssl prints it. */
  serial: string
  status: CertificateStatus
  expiresAt: Date
  revokedAt?: Date
  revocationReason?: string
  subject: string
  /** CN: the device id or the server name. */
  name: string
  /** OU of a device certificate. */
  restaurantId?: string
}

/** ASN.1 UTCTime (YYMMDDHHMMSSZ, RFC 5280 §4.1.2.5.1: YY < 50 is 20YY) or GeneralizedTime. */
export function parseAsn1Time(text: string): Date | undefined {
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
  if (!m) return undefined
  const [, y, mo, d, h, mi, s] = m
  let year = Number(y)
  if (y!.length === 2) year += year < 50 ? 2000 : 1900
  return new Date(Date.UTC(year, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)))
}

/** `/O=Pede Pronto/OU=r1/CN=d1` → { O: 'Pede Pronto', OU: 'r1', CN: 'd1' } (our values hold no '/'). */
export function parseSubject(dn: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of dn.split('/')) {
    const eq = part.indexOf('=')
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1)
  }
  return out
}

/** Parses index.txt; `now` decides which still-"V" certificates have in fact expired. */
export function parseIndex(text: string, now: Date = new Date()): CertificateEntry[] {
  const entries: CertificateEntry[] = []
  const lines = text.split('\n')
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue
    const fields = line.split('\t')
    const [flag, expiry, revocation, serial, , subject] = fields
    const expiresAt = expiry === undefined ? undefined : parseAsn1Time(expiry)
    if (
      fields.length < 6 ||
      !flag ||
      !'VRE'.includes(flag) ||
      !expiresAt ||
      !serial ||
      subject === undefined
    ) {
      throw new CertsError(
        CertsErrorCodes.CERTS_DATABASE_CORRUPT,
        `line ${i + 1} of the CA database is not an openssl index.txt line: ${JSON.stringify(line)}`,
        { hint: 'restore ca/index.txt from a backup, or start over with `pedepronto certs init --force`' },
      )
    }
    const dn = parseSubject(subject)
    const name = dn.CN ?? ''
    const ou = dn.OU ?? ''
    const kind =
      ou === SERVER_OU ? 'server' : ID_REGEX.test(ou) && ID_REGEX.test(name) ? 'device' : ('other' as const)
    const entry: CertificateEntry = {
      kind,
      serial: serial.toUpperCase(),
      status: flag === 'R' ? 'revoked' : flag === 'E' || expiresAt <= now ? 'expired' : 'valid',
      expiresAt,
      subject,
      name,
    }
    if (kind === 'device') entry.restaurantId = ou
    if (flag === 'R' && revocation) {
      const [date, reason] = revocation.split(',')
      const revokedAt = date === undefined ? undefined : parseAsn1Time(date)
      if (revokedAt) entry.revokedAt = revokedAt
      if (reason) entry.revocationReason = reason
    }
    entries.push(entry)
  }
  return entries
}
