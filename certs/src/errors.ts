/**
 * The closed list of certificate-tooling error codes (STYLE.md, convention 4). Callers branch on
 * `code` and the CLI maps `exitCode` to the process exit status; the message says what to do.
 */
import { ExitCode, PedeProntoError } from '@pedepronto/common'

export const CertsErrorCodes = {
  /** A device, restaurant or server name is not an id (contracts' ID_REGEX). */
  CERTS_BAD_ID: 'CERTS_BAD_ID',
  /** A subjectAltName entry is not a plain DNS name, IP address or URI. */
  CERTS_BAD_SAN: 'CERTS_BAD_SAN',
  /** The output folder has no CA yet. */
  CERTS_NO_CA: 'CERTS_NO_CA',
  /** The device already has a certificate and --force was not given. */
  CERTS_DEVICE_EXISTS: 'CERTS_DEVICE_EXISTS',
  /** No certificate was ever issued to this device by this CA. */
  CERTS_DEVICE_UNKNOWN: 'CERTS_DEVICE_UNKNOWN',
  /** The `openssl` executable is not installed or not on PATH. */
  CERTS_OPENSSL_MISSING: 'CERTS_OPENSSL_MISSING',
  /** `openssl` ran and failed. */
  CERTS_OPENSSL_FAILED: 'CERTS_OPENSSL_FAILED',
  /** The CA database (index.txt) has a line this tool cannot read. */
  CERTS_DATABASE_CORRUPT: 'CERTS_DATABASE_CORRUPT',
  /** Another process holds the CA lock for too long. */
  CERTS_LOCKED: 'CERTS_LOCKED',
} as const

export type CertsErrorCode = (typeof CertsErrorCodes)[keyof typeof CertsErrorCodes]

export class CertsError extends PedeProntoError<CertsErrorCode> {}

export function badId(what: string, value: string): CertsError {
  return new CertsError(CertsErrorCodes.CERTS_BAD_ID, `${what} ${JSON.stringify(value)} is not a valid id`, {
    exitCode: ExitCode.USAGE,
    hint: 'use 1 to 64 characters of lowercase letters, digits, "_" or "-", starting with a letter or digit',
  })
}
