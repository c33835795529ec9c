/**
 * A revocation deny-list: one device id per line (`#` comments), checked at every connect and
 * re-read when the file changes — the quick way to lock a device out before a new CRL is rolled out.
 */
import { readFileSync, statSync } from 'node:fs'

export class DenyList {
  readonly #path: string
  #mtimeMs = -1
  #ids = new Set<string>()

  constructor(path: string) {
    this.#path = path
  }

  has(deviceId: string): boolean {
    if (!this.#path) return false
    this.#refresh()
    return this.#ids.has(deviceId)
  }

  #refresh(): void {
    let mtimeMs: number
    try {
      mtimeMs = statSync(this.#path).mtimeMs
    } catch {
      this.#ids = new Set()
      this.#mtimeMs = -1
      return
    }
    if (mtimeMs === this.#mtimeMs) return
    this.#mtimeMs = mtimeMs
    this.#ids = new Set(
      readFileSync(this.#path, 'utf8')
        .split('\n')
        .map((l) => l.replace(/#.*/, '').trim())
        .filter((l) => l.length > 0),
    )
  }
}
