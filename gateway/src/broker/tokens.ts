/**
 * User name / token authentication, on only when `gateway.tokensFile` is set (issue #4: "username/
 * token auth only when configured"). It applies to connections that no client certificate identifies
 * — the local profile's plaintext and WebSocket listeners; on TLS the certificate is the identity.
 * The MQTT user name must be the device id (which is also its client id) and the password its token
 * (MQTT 3.1.1 §3.1.3.4, §3.1.3.5).
 *
 * The file holds one `device_id sha256-hex-of-token` per line (`#` comments, blank lines ignored).
 * Only hashes are stored, so the file does not give the tokens away; a device may have more than one
 * line, any of its tokens is accepted, so a token can be rotated without a moment where neither
 * works. Generate a line with `printf '%s' "$TOKEN" | sha256sum`.
 *
 * Nothing here ever returns, logs or echoes a token, a hash or a line of the file: problems name the
 * line number and what is wrong with it.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { ID_REGEX } from '@pedepronto/contracts'
import { type FileSnapshot, WatchedFile, type WatchedFileHooks } from './watched-file.js'

export interface TokenFileProblem {
  /** 1-based line number. */
  line: number
  problem: string
}

export interface TokenTable {
  /** device id → sha256 digests of its accepted tokens. */
  hashes: ReadonlyMap<string, readonly Buffer[]>
  problems: readonly TokenFileProblem[]
}

/** sha256 of a token, as the file stores it. */
export function hashToken(token: Uint8Array | string): Buffer {
  return createHash('sha256').update(token).digest()
}

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/
const EMPTY_TOKEN_HASH = hashToken('').toString('hex')

/** Parses a tokens file. Lines with a problem are left out (their device cannot log in with them). */
export function parseTokensFile(text: string): TokenTable {
  const hashes = new Map<string, Buffer[]>()
  const problems: TokenFileProblem[] = []
  for (const [i, raw] of text.split('\n').entries()) {
    const fields = raw.replace(/#.*/, '').trim().split(/\s+/)
    if (fields.length === 1 && fields[0] === '') continue
    const line = i + 1
    const [deviceId = '', hex = ''] = fields
    if (fields.length !== 2) {
      problems.push({ line, problem: `expected "device_id sha256-hex", found ${fields.length} fields` })
      continue
    }
    if (!ID_REGEX.test(deviceId)) {
      problems.push({ line, problem: 'the device id does not match the id pattern' })
      continue
    }
    if (!HEX_SHA256.test(hex)) {
      problems.push({
        line,
        problem: 'the second field is not 64 hex digits: store sha256(token), never the token itself',
      })
      continue
    }
    if (hex.toLowerCase() === EMPTY_TOKEN_HASH) {
      problems.push({ line, problem: 'this is the hash of the empty token, which is never accepted' })
      continue
    }
    const list = hashes.get(deviceId) ?? []
    list.push(Buffer.from(hex, 'hex'))
    hashes.set(deviceId, list)
  }
  return { hashes, problems }
}

export type TokenCheck = 'ok' | 'unknown-device' | 'wrong-token'

// Compared against when the device is unknown, so that an unknown device costs the same work as a
// wrong token (the CONNACK is the same for both).
const NO_HASH = Buffer.alloc(32)

/**
 * Whether `password` is one of the device's tokens. The digests are compared in constant time
 * (crypto.timingSafeEqual), all of them, so the time taken says nothing about how much matched.
 */
export function checkToken(table: TokenTable, deviceId: string, password: Uint8Array): TokenCheck {
  const presented = hashToken(password)
  const known = table.hashes.get(deviceId)
  let ok = false
  for (const hash of known ?? [NO_HASH]) ok = timingSafeEqual(hash, presented) || ok
  if (!known) return 'unknown-device'
  // The empty token is never accepted, whatever the file says.
  return ok && password.length > 0 ? 'ok' : 'wrong-token'
}

/** The tokens file, re-read when it changes (see watched-file.ts). */
export class TokensFile {
  readonly #file: WatchedFile<TokenTable>

  constructor(path: string, hooks: WatchedFileHooks<TokenTable> = {}) {
    this.#file = new WatchedFile(path, parseTokensFile, hooks)
  }

  get path(): string {
    return this.#file.path
  }

  load(): FileSnapshot<TokenTable> {
    return this.#file.read()
  }

  /** 'unavailable' when the file is gone: no token can be checked, so none is accepted. */
  check(deviceId: string, password: Uint8Array): TokenCheck | 'unavailable' {
    const snapshot = this.#file.read()
    if (snapshot.state === 'absent') return 'unavailable'
    return checkToken(snapshot.value, deviceId, password)
  }
}
