/**
 * The durability point of the gateway (DESIGN.md, "Delivery guarantees"): `write(record)` resolves
 * only when the record is acknowledged by Kafka (acks = all) or committed (fsync'd) to the on-disk
 * outbox. Only then does the caller send PUBACK or the serial ACK.
 *
 * - Linger batching by time and bytes (kafkajs has none): records wait at most `lingerMs`, or go at
 *   once when `batchBytes` are pending.
 * - Lanes: a record's key picks one of `lanes` lanes (a hash of the key), and each lane has at most
 *   one batch in flight, on a producer of its own. So records of one key (one order, one device's
 *   telemetry) stay in arrival order, while batches of different lanes overlap — kafkajs' idempotent
 *   producer allows only one request in flight (tulios/kafkajs#598), and with one lane the gateway
 *   spent a third of its time waiting for the broker's acknowledgement (bench gateway, CPU profile).
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
  /** Parallel batches, one per lane; a key always maps to the same lane. Default 1. */
  lanes?: number
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

interface Lane {
  readonly index: number
  queue: Pending[]
  queueBytes: number
  flushing: boolean
  timer: NodeJS.Timeout | undefined
}

/** FNV-1a (32 bit) of the key: cheap, stable, and spreads order and device ids evenly. */
export function laneOf(key: string | null, lanes: number): number {
  if (lanes <= 1 || key === null) return 0
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % lanes
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
  readonly #lanes: Lane[]
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
    const lanes = Math.max(1, Math.floor(options.lanes ?? 1))
    this.#lanes = Array.from({ length: lanes }, (_, index) => ({
      index,
      queue: [],
      queueBytes: 0,
      flushing: false,
      timer: undefined,
    }))
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
    let n = 0
    for (const lane of this.#lanes) n += lane.queue.length
    return n
  }

  get lanes(): number {
    return this.#lanes.length
  }

  write(record: GatewayRecord): Promise<void> {
    if (this.#stopped) return Promise.reject(new Error('the gateway is stopping'))
    return new Promise<void>((resolve, reject) => {
      const bytes = recordBytes(record)
      const lane = this.#lanes[laneOf(record.key, this.#lanes.length)] as Lane
      lane.queue.push({ record, bytes, resolve, reject })
      lane.queueBytes += bytes
      this.#schedule(lane)
    })
  }

  #flushing(): boolean {
    return this.#lanes.some((lane) => lane.flushing)
  }

  #schedule(lane: Lane): void {
    if (lane.flushing || lane.queue.length === 0) return
    if (lane.queueBytes >= this.#options.batchBytes || this.#options.lingerMs === 0) {
      this.#flushNow(lane)
    } else if (!lane.timer) {
      lane.timer = setTimeout(() => this.#flushNow(lane), this.#options.lingerMs)
    }
  }

  #flushNow(lane: Lane): void {
    if (lane.timer) {
      clearTimeout(lane.timer)
      lane.timer = undefined
    }
    if (lane.flushing || lane.queue.length === 0) return
    const batch = this.#takeBatch(lane)
    lane.flushing = true
    void this.#flush(lane, batch).finally(() => {
      lane.flushing = false
      this.#schedule(lane)
    })
  }

  #takeBatch(lane: Lane): Pending[] {
    // Bounded batches: a backlog after an outage goes out in batchBytes-sized pieces.
    let bytes = 0
    let n = 0
    while (
      n < lane.queue.length &&
      (n === 0 || bytes + (lane.queue[n] as Pending).bytes <= this.#options.batchBytes)
    ) {
      bytes += (lane.queue[n] as Pending).bytes
      n++
    }
    const batch = lane.queue.splice(0, n)
    lane.queueBytes -= bytes
    return batch
  }

  async #flush(lane: Lane, batch: Pending[]): Promise<void> {
    const t0 = this.#now()
    const bytes = batch.reduce((s, p) => s + p.bytes, 0)
    if (this.#mode === 'direct') {
      try {
        await withTimeout(
          this.#sender.sendBatch(
            batch.map((p) => p.record),
            lane.index,
          ),
          this.#options.directTimeoutMs,
        )
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
          // Everything appended is delivered. Switch back only when no lane has a batch under way,
          // or a record being appended now would be overtaken by the next direct batch of its key.
          if (!this.#flushing()) {
            this.#mode = 'direct'
            this.#events.onModeChange?.('direct', 'outbox drained')
            for (const lane of this.#lanes) this.#schedule(lane)
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
    while (this.pending > 0 || this.#flushing()) {
      for (const lane of this.#lanes) this.#flushNow(lane)
      await new Promise((r) => setTimeout(r, 5))
    }
    this.#stopped = true
    this.#wakeDrainer()
  }
}
