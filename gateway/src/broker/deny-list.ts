/**
 * A revocation deny-list: one device id per line (`#` comments), checked at every connect and
 * re-read when the file changes — the quick way to lock a device out before a new CRL is rolled out.
 * A missing file revokes nothing; a file that cannot be read keeps the ids read last (a revoked
 * device must not come back because of a permissions slip).
 */
import { type FileSnapshot, WatchedFile, type WatchedFileHooks } from './watched-file.js'

/** The device ids of a deny-list file's text. */
export function parseDenyList(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter((l) => l.length > 0),
  )
}

export class DenyList {
  readonly #file: WatchedFile<Set<string>> | undefined

  /** An empty `path` means no deny-list. */
  constructor(path: string, hooks: WatchedFileHooks<Set<string>> = {}) {
    this.#file = path ? new WatchedFile(path, parseDenyList, hooks) : undefined
  }

  get path(): string {
    return this.#file?.path ?? ''
  }

  /** Reads the file now (at start, so that its state is logged before the first connect). */
  load(): FileSnapshot<Set<string>> {
    return this.#file?.read() ?? { state: 'absent' }
  }

  has(deviceId: string): boolean {
    const snapshot = this.load()
    return snapshot.state === 'loaded' && snapshot.value.has(deviceId)
  }
}
