/**
 * The durability point of the gateway (DESIGN.md, "Delivery guarantees"): `write(record)` resolves
 * only when the record is acknowledged by Kafka (acks = all) or committed (fsync'd) to the on-disk
 * outbox. Only then does the caller send PUBACK or the serial ACK.
 *
 * - Linger batching by time and bytes (kafkajs has none): records wait at most `lingerMs`, or go at
 *   once when `batchBytes` are pending. One batch is in flight at a time, which also keeps every
 *   record in arrival order, per device and per key.
 * - Direct mode: batches go to Kafka. A failed or timed-out batch goes to the outbox instead and the
 *   writer switches to outbox mode: from then on every batch is appended to the outbox (order kept)
 *   while a drainer replays the outbox into Kafka. When the outbox is empty again, direct mode resumes.
 * - Outbox full: `write` rejects with GW_OUTBOX_FULL; the caller withholds the acknowledgement so the
 *   device keeps (and later retransmits) its message. Never a silent drop.
 * - A batch that timed out may still land in Kafka and then again from the outbox: duplicates are
 *   possible at the edge and are removed downstream by event id (DESIGN.md).
 */
import type { GatewayRecord } from '../ingest/record.js'
import { recordBytes } from '../ingest/record.js'
import type { BatchSender } from './sender.js'

export interface OutboxEntryLike {
  id: number | bigint
  record: GatewayRecord
}

/** What the writer needs of the outbox (gateway/src/outbox implements it). */
export interface OutboxLike {
  append(records: GatewayRecord[]): Promise<unknown>
  peek(maxRecords: number, maxBytes: number): OutboxEntryLike[]
  ack(uptoId: number | bigint): Promise<void> | void
  stats(): { depth: number; bytes: number }
}

export interface DurableWriterOptions {
  lingerMs: number
  batchBytes: number
  /** A direct batch not acknowledged by then goes to the outbox. */
  directTimeoutMs: number
  /** Records per drain batch. */
  drainBatchRecords: number
  /** Backoff of the drainer while Kafka is down. */
  drainRetryMs: number
  now?: () => number
}

export interface DurableWriterEvents {
  onBatch?(info: { mode: 'direct' | 'outbox'; records: number; bytes: number; ms: number; ok: boolean }): void
  onModeChange?(mode: 'direct' | 'outbox', reason: string): void
  onDrain?(info: { records: number; ms: number; ok: boolean; error?: unknown }): void
}

interface Pending {
  record: GatewayRecord
  bytes: number
  resolve: () => void
  reject: (error: unknown) => void
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no acknowledgement from Kafka within ${ms} ms`)), ms)
    }),
  ])
}

export class DurableWriter {
  readonly #sender: BatchSender
  readonly #outbox: OutboxLike
  readonly #options: DurableWriterOptions
  readonly #events: DurableWriterEvents
  readonly #now: () => number
  #queue: Pending[] = []
  #queueBytes = 0
  #flushing = false
  #timer: NodeJS.Timeout | undefined
  #mode: 'direct' | 'outbox' = 'direct'
  #draining = false
  #stopped = false
  #drainWake: (() => void) | undefined
  #kafkaHealthy = true

  constructor(
    sender: BatchSender,
    outbox: OutboxLike,
    options: DurableWriterOptions,
    events: DurableWriterEvents = {},
  ) {
    this.#sender = sender
    this.#outbox = outbox
    this.#options = options
    this.#events = events
    this.#now = options.now ?? Date.now
  }

  /** Starts in outbox mode when the outbox holds records from before a crash: they go first. */
  start(): void {
    if (this.#outbox.stats().depth > 0) this.#toOutboxMode('outbox holds records from an earlier run')
  }

  get mode(): 'direct' | 'outbox' {
    return this.#mode
  }

  get kafkaHealthy(): boolean {
    return this.#kafkaHealthy
  }

  get pending(): number {
    return this.#queue.length
  }

  write(record: GatewayRecord): Promise<void> {
    if (this.#stopped) return Promise.reject(new Error('the gateway is stopping'))
    return new Promise<void>((resolve, reject) => {
      const bytes = recordBytes(record)
      this.#queue.push({ record, bytes, resolve, reject })
      this.#queueBytes += bytes
      this.#schedule()
    })
  }

  #schedule(): void {
    if (this.#flushing || this.#queue.length === 0) return
    if (this.#queueBytes >= this.#options.batchBytes || this.#options.lingerMs === 0) {
      this.#flushNow()
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => this.#flushNow(), this.#options.lingerMs)
    }
  }

  #flushNow(): void {
    if (this.#timer) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    if (this.#flushing || this.#queue.length === 0) return
    const batch = this.#takeBatch()
    this.#flushing = true
    void this.#flush(batch).finally(() => {
      this.#flushing = false
      this.#schedule()
    })
  }

  #takeBatch(): Pending[] {
    // Bounded batches: a backlog after an outage goes out in batchBytes-sized pieces.
    let bytes = 0
    let n = 0
    while (
      n < this.#queue.length &&
      (n === 0 || bytes + (this.#queue[n] as Pending).bytes <= this.#options.batchBytes)
    ) {
      bytes += (this.#queue[n] as Pending).bytes
      n++
    }
    const batch = this.#queue.splice(0, n)
    this.#queueBytes -= bytes
    return batch
  }

  async #flush(batch: Pending[]): Promise<void> {
    const t0 = this.#now()
    const bytes = batch.reduce((s, p) => s + p.bytes, 0)
    if (this.#mode === 'direct') {
      try {
        await withTimeout(this.#sender.sendBatch(batch.map((p) => p.record)), this.#options.directTimeoutMs)
        this.#kafkaHealthy = true
        this.#events.onBatch?.({
          mode: 'direct',
          records: batch.length,
          bytes,
          ms: this.#now() - t0,
          ok: true,
        })
        for (const p of batch) p.resolve()
        return
      } catch (error) {
        this.#kafkaHealthy = false
        this.#events.onBatch?.({
          mode: 'direct',
          records: batch.length,
          bytes,
          ms: this.#now() - t0,
          ok: false,
        })
        this.#toOutboxMode(`Kafka send failed: ${(error as Error).message}`)
      }
    }
    try {
      await this.#outbox.append(batch.map((p) => p.record))
      this.#events.onBatch?.({ mode: 'outbox', records: batch.length, bytes, ms: this.#now() - t0, ok: true })
      for (const p of batch) p.resolve()
      this.#wakeDrainer()
    } catch (error) {
      this.#events.onBatch?.({
        mode: 'outbox',
        records: batch.length,
        bytes,
        ms: this.#now() - t0,
        ok: false,
      })
      for (const p of batch) p.reject(error)
    }
  }

  #toOutboxMode(reason: string): void {
    if (this.#mode === 'outbox') return
    this.#mode = 'outbox'
    this.#events.onModeChange?.('outbox', reason)
    if (!this.#draining) void this.#drainLoop()
  }

  #wakeDrainer(): void {
    const wake = this.#drainWake
    this.#drainWake = undefined
    wake?.()
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#drainWake = undefined
        resolve()
      }, ms)
      this.#drainWake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  async #drainLoop(): Promise<void> {
    this.#draining = true
    try {
      while (!this.#stopped && this.#mode === 'outbox') {
        const entries = this.#outbox.peek(this.#options.drainBatchRecords, this.#options.batchBytes)
        if (entries.length === 0) {
          // Everything appended is delivered. Switch back only when no append is under way, or a
          // record being appended now would be overtaken by the next direct batch.
          if (!this.#flushing) {
            this.#mode = 'direct'
            this.#events.onModeChange?.('direct', 'outbox drained')
            this.#schedule()
            return
          }
          await this.#sleep(5)
          continue
        }
        const t0 = this.#now()
        try {
          await withTimeout(
            this.#sender.sendBatch(entries.map((e) => e.record)),
            this.#options.directTimeoutMs * 5,
          )
          await this.#outbox.ack((entries[entries.length - 1] as OutboxEntryLike).id)
          this.#kafkaHealthy = true
          this.#events.onDrain?.({ records: entries.length, ms: this.#now() - t0, ok: true })
        } catch (error) {
          this.#kafkaHealthy = false
          this.#events.onDrain?.({ records: entries.length, ms: this.#now() - t0, ok: false, error })
          await this.#sleep(this.#options.drainRetryMs)
        }
      }
    } finally {
      this.#draining = false
    }
  }

  /** Flushes what is queued (graceful shutdown) and stops the drainer. */
  async stop(): Promise<void> {
    while (this.#queue.length > 0 || this.#flushing) {
      this.#flushNow()
      await new Promise((r) => setTimeout(r, 5))
    }
    this.#stopped = true
    this.#wakeDrainer()
  }
}
