/**
 * Pure core of the sink's upload pipelining (issue #6): one partition's closed files upload in the
 * background while the consumer keeps reading, and the offset is committed in order. No Kafka, no S3,
 * no clock — the upload, the commit and the sleep between retries are injected.
 *
 * Contract (the ack rule of sink.ts, STYLE.md convention 3):
 *  - files are submitted in offset order; at most `maxInFlight` of them upload at once, the rest
 *    wait in order;
 *  - a file is *passed* once it and every file submitted before it were uploaded; `uploaded` runs for
 *    each passed file in offset order (side effects such as shadow updates must not go backwards);
 *  - `commit(offset)` is called with the next offset after the last passed file, never beyond an
 *    un-uploaded one, whatever order the uploads finish in; commits of one pipeline never overlap, so
 *    a later offset is never overtaken by an earlier one;
 *  - an upload that throws is retried up to `attempts` times; after the last attempt the pipeline is
 *    *failed*: nothing after that file is ever passed or committed, and `room`/`drain` reject with the
 *    error, so the owner can discard the pipeline and re-read from `committable`;
 *  - `retire()` is for a pipeline whose partition was revoked (rebalance) or that failed: no commit,
 *    no `uploaded`, no new upload attempt starts after it; it resolves once no upload runs any more,
 *    so the next owner may list the lake and see every object this one will ever write.
 */

export interface PipelineFile {
  readonly firstOffset: bigint
  readonly lastOffset: bigint
}

export interface RetryPolicy {
  /** Attempts per file, the first included (≥ 1). */
  attempts: number
  /** Wait before attempt `attempt + 1`, after `attempt` failed. */
  delayMs(attempt: number): number
}

export interface UploadPipelineOptions<F extends PipelineFile> {
  /** Files of this partition that may upload at once (≥ 1); more wait in order. */
  maxInFlight: number
  /** Encodes and writes one file; resolves only once it is durable under its final key. */
  upload(file: F, attempt: number): Promise<void>
  /** Called for each file once it and all earlier ones are uploaded, in offset order; must not throw. */
  uploaded?(file: F): Promise<void>
  /** Commits `offset` (the next offset after the last passed file) upstream. */
  commit(offset: bigint): Promise<void>
  retry: RetryPolicy
  /** Injected for tests; resolves after `ms`, or early when `cancelled` resolves. */
  sleep?(ms: number, cancelled: Promise<void>): Promise<void>
  onRetry?(file: F, attempt: number, error: unknown): void
  /** A failed commit is retried with the next one (offsets are cumulative); it only gets reported here. */
  onCommitError?(offset: bigint, error: unknown): void
}

type EntryState = 'waiting' | 'uploading' | 'done' | 'failed' | 'cancelled'

interface Entry<F> {
  readonly file: F
  state: EntryState
}

const defaultSleep = (ms: number, cancelled: Promise<void>) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    void cancelled.then(() => {
      clearTimeout(timer)
      resolve()
    })
  })

/** Lets the caller's batch handler return first, so the consumer's next fetch goes out before we encode. */
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve))

export class UploadPipeline<F extends PipelineFile> {
  readonly #o: UploadPipelineOptions<F>
  /** Submitted files not passed yet, in offset order. */
  readonly #queue: Entry<F>[] = []
  readonly #tasks = new Set<Promise<void>>()
  #uploading = 0
  #committable: bigint | undefined
  #committed: bigint | undefined
  #failure: { error: unknown } | undefined
  #retired = false
  #retire: () => void = () => {}
  readonly #retiredSignal: Promise<void>
  /** Passing and committing, one step at a time. */
  #chain: Promise<void> = Promise.resolve()
  #waiters: (() => void)[] = []

  constructor(options: UploadPipelineOptions<F>) {
    if (!(options.maxInFlight >= 1))
      throw new RangeError(`maxInFlight must be ≥ 1, got ${options.maxInFlight}`)
    if (!(options.retry.attempts >= 1))
      throw new RangeError(`attempts must be ≥ 1, got ${options.retry.attempts}`)
    this.#o = options
    this.#retiredSignal = new Promise((resolve) => {
      this.#retire = resolve
    })
  }

  /** Files submitted and not passed yet (waiting, uploading, or uploaded behind an earlier one). */
  get outstanding(): number {
    return this.#queue.length
  }

  /** Next offset after the last passed file: the furthest offset that may be committed. */
  get committable(): bigint | undefined {
    return this.#committable
  }

  /** The last offset whose commit resolved. */
  get committed(): bigint | undefined {
    return this.#committed
  }

  get failure(): { error: unknown } | undefined {
    return this.#failure
  }

  get retired(): boolean {
    return this.#retired
  }

  /** Adds the next closed file (offset order). Refused once failed or retired: the owner must re-read. */
  submit(file: F): void {
    if (this.#retired || this.#failure) {
      throw new Error(
        `file ${file.firstOffset}-${file.lastOffset} submitted to a ${this.#retired ? 'retired' : 'failed'} pipeline`,
      )
    }
    const last = this.#queue.at(-1)?.file.lastOffset ?? (this.#committable ?? 0n) - 1n
    if (file.firstOffset <= last) {
      throw new Error(`file ${file.firstOffset}-${file.lastOffset} submitted out of order (after ${last})`)
    }
    this.#queue.push({ file, state: 'waiting' })
    this.#startWaiting()
  }

  /** Resolves once fewer than `maxInFlight` files are outstanding (back-pressure); rejects once failed. */
  async room(): Promise<void> {
    for (;;) {
      if (this.#failure) throw this.#failure.error
      if (this.#retired || this.#queue.length < this.#o.maxInFlight) return
      await this.#changed()
    }
  }

  /**
   * Resolves once every submitted file is uploaded and the last offset committed (graceful stop);
   * rejects when the pipeline failed or the final commit failed. A retired pipeline drains nothing.
   */
  async drain(): Promise<void> {
    for (;;) {
      if (this.#failure) throw this.#failure.error
      if (this.#retired) return
      if (this.#queue.length === 0) break
      await this.#changed()
    }
    const step = this.#chain.then(() => this.#commitPassed(true))
    this.#chain = step.catch(() => undefined)
    await step
  }

  /**
   * Resolves once no upload runs or waits any more (each uploaded or failed), without waiting for
   * commits: what must land before the group may hand the partition to another member.
   */
  async uploadsSettled(): Promise<void> {
    while (!this.#retired && !this.#failure && this.#queue.some((e) => e.state === 'waiting')) {
      await this.#changed()
    }
    await Promise.allSettled([...this.#tasks])
  }

  /** Stops this pipeline for good; resolves once none of its uploads runs any more. */
  async retire(): Promise<void> {
    if (!this.#retired) {
      this.#retired = true
      this.#retire()
      for (const e of this.#queue) if (e.state === 'waiting') e.state = 'cancelled'
      this.#notify()
    }
    await Promise.allSettled([...this.#tasks])
  }

  #startWaiting(): void {
    for (const entry of this.#queue) {
      if (this.#uploading >= this.#o.maxInFlight) return
      if (entry.state !== 'waiting') continue
      entry.state = 'uploading'
      this.#uploading++
      const task = this.#run(entry).finally(() => {
        this.#uploading--
        this.#tasks.delete(task)
        if (!this.#retired && !this.#failure) this.#startWaiting()
        this.#notify()
      })
      this.#tasks.add(task)
    }
  }

  async #run(entry: Entry<F>): Promise<void> {
    await yieldToIo()
    for (let attempt = 1; ; attempt++) {
      // A retired pipeline's partition may already belong to someone else: no new write may start.
      if (this.#retired) {
        entry.state = 'cancelled'
        return
      }
      try {
        await this.#o.upload(entry.file, attempt)
        entry.state = 'done'
        break
      } catch (error) {
        if (attempt >= this.#o.retry.attempts || this.#retired) {
          entry.state = 'failed'
          this.#failure ??= { error }
          return
        }
        this.#o.onRetry?.(entry.file, attempt, error)
        await (this.#o.sleep ?? defaultSleep)(this.#o.retry.delayMs(attempt), this.#retiredSignal)
      }
    }
    // Not awaited: the upload slot frees now, passing may wait behind an earlier file.
    this.#chain = this.#chain.then(() => this.#pass()).catch(() => undefined)
  }

  /** Passes the uploaded files at the head of the queue, then commits past them. */
  async #pass(): Promise<void> {
    while (!this.#retired && this.#queue[0]?.state === 'done') {
      const entry = this.#queue.shift() as Entry<F>
      await this.#o.uploaded?.(entry.file).catch(() => undefined)
      this.#committable = entry.file.lastOffset + 1n
      this.#notify()
    }
    await this.#commitPassed(false)
  }

  async #commitPassed(rethrow: boolean): Promise<void> {
    const offset = this.#committable
    if (this.#retired || offset === undefined || offset === this.#committed) return
    try {
      await this.#o.commit(offset)
      this.#committed = offset
    } catch (error) {
      this.#o.onCommitError?.(offset, error)
      if (rethrow) throw error
    } finally {
      this.#notify()
    }
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  #notify(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }
}
