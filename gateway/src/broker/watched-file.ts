/**
 * A small text file the gateway consults at every connect (the deny-list, the token file) and re-reads
 * when it changes — one stat() per use, a read only when the file's signature moved.
 *
 * The signature is inode, size, mtime and ctime, not mtime alone: Linux stamps files from a coarse
 * clock (one jiffy), so two edits within a few milliseconds can share an mtime, and an editor that
 * saves by rename gives a new inode with possibly the same times.
 */
import { readFileSync, statSync } from 'node:fs'

export type FileSnapshot<T> = { state: 'absent' } | { state: 'loaded'; value: T }

export interface WatchedFileHooks<T> {
  /** The file was (re-)read, or went away. */
  onChange?: (snapshot: FileSnapshot<T>) => void
  /** It could not be stat'ed or read; the previous snapshot stays. Reported once per distinct error. */
  onError?: (error: Error) => void
}

export class WatchedFile<T> {
  readonly path: string
  readonly #parse: (text: string) => T
  readonly #hooks: WatchedFileHooks<T>
  #signature: string | undefined
  #snapshot: FileSnapshot<T> = { state: 'absent' }
  #lastError: string | undefined

  constructor(path: string, parse: (text: string) => T, hooks: WatchedFileHooks<T> = {}) {
    this.path = path
    this.#parse = parse
    this.#hooks = hooks
  }

  /** The file's content now (cached while its signature is unchanged). */
  read(): FileSnapshot<T> {
    let signature: string
    try {
      const st = statSync(this.path)
      signature = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        if (this.#signature !== 'absent') {
          this.#signature = 'absent'
          this.#snapshot = { state: 'absent' }
          this.#lastError = undefined
          this.#hooks.onChange?.(this.#snapshot)
        }
        return this.#snapshot
      }
      return this.#failed(error as Error)
    }
    if (signature === this.#signature) return this.#snapshot
    let text: string
    try {
      text = readFileSync(this.path, 'utf8')
    } catch (error) {
      // The signature is not taken, so the next use tries again.
      return this.#failed(error as Error)
    }
    this.#signature = signature
    this.#snapshot = { state: 'loaded', value: this.#parse(text) }
    this.#lastError = undefined
    this.#hooks.onChange?.(this.#snapshot)
    return this.#snapshot
  }

  #failed(error: Error): FileSnapshot<T> {
    if (error.message !== this.#lastError) {
      this.#lastError = error.message
      this.#hooks.onError?.(error)
    }
    return this.#snapshot
  }
}
