/**
 * Pure core of the sink: turns one Kafka partition's record sequence into files. No I/O, no clock
 * except the injected one used for idle flushing.
 *
 * File boundaries are a function of the record sequence only (issue #6, "deterministic"):
 *  - one open file per (topic, partition); a record of another event-time hour closes it;
 *  - a file closes after `records` records or `bytes` value bytes, or when a record lies more than
 *    `spanMs` of event time from the file's first one;
 *  - `recovered` ranges (first and last offset of objects already in the lake but not committed,
 *    found at assignment) force cuts exactly at their ends and suppress idle/drain flushes inside
 *    them, so the only non-deterministic cut — the flush of a quiet partition — is reproduced after a
 *    crash and the same objects are rewritten with the same content, never a second copy.
 * Records that do not fit the table are kept aside (rejected) and still count towards the file, so
 * the rejected file shares the data file's first offset.
 */
import { ColumnBatch } from './columns.js'
import { type HourPartition, hourOf } from './layout.js'
import type { TableDef } from './tables.js'

const HOUR_MS = 3_600_000

export interface RotatePolicy {
  records: number
  bytes: number
  spanMs: number
}

export interface RejectedRecord {
  topic: string
  partition: number
  offset: string
  reason: string
  key: string | null
  /** The value as UTF-8 text (lossy for binary input); value_b64 has the exact bytes. */
  value: string | null
  value_b64: string | null
}

export interface PendingFile {
  table: TableDef
  topic: string
  partition: number
  firstOffset: bigint
  lastOffset: bigint
  /** Hour of the rows; undefined when every record was rejected. */
  hour: HourPartition | undefined
  /** The rows, column by column (columns.ts); `data.length` of them. */
  data: ColumnBatch
  rejected: RejectedRecord[]
  records: number
  bytes: number
  firstEventTime: number | undefined
  /** `hour` as whole hours since the epoch: compared per record, cheaper than formatting a date. */
  hourIndex: number
  /** Wall-clock ms when the first record arrived (idle flush only, never in the content). */
  openedAt: number
}

export interface OffsetRange {
  first: bigint
  last: bigint
}

export interface KafkaRecordLike {
  offset: string
  key: Buffer | null
  value: Buffer | null
}

export class FileAssembler {
  readonly table: TableDef
  readonly topic: string
  readonly partition: number
  readonly #policy: RotatePolicy
  readonly #boundaries: bigint[]
  readonly #now: () => number
  #open: PendingFile | undefined

  constructor(
    table: TableDef,
    topic: string,
    partition: number,
    policy: RotatePolicy,
    recovered: readonly OffsetRange[] = [],
    now: () => number = Date.now,
  ) {
    this.table = table
    this.topic = topic
    this.partition = partition
    this.#policy = policy
    const cuts = new Set<bigint>()
    for (const r of recovered) {
      cuts.add(r.first)
      cuts.add(r.last + 1n)
    }
    this.#boundaries = [...cuts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    this.#now = now
  }

  get open(): PendingFile | undefined {
    return this.#open
  }

  /** Adds one record (in offset order); returns the files it closed, oldest first. */
  add(record: KafkaRecordLike): PendingFile[] {
    const closed: PendingFile[] = []
    const offset = BigInt(record.offset)
    if (this.#open && this.#crossesBoundary(this.#open.firstOffset, offset)) closed.push(this.#close())
    let file = this.#open ?? this.#start(offset)
    // Written straight into the open file's columns; moved to a new file when its event time says so.
    file.data.beginRow()
    const result = this.table.writeRow(record.value, file.data)
    if (result.ok) {
      const hourIndex = Math.floor(result.eventTime / HOUR_MS)
      if (
        (file.hour !== undefined && file.hourIndex !== hourIndex) ||
        (file.firstEventTime !== undefined &&
          Math.abs(result.eventTime - file.firstEventTime) > this.#policy.spanMs)
      ) {
        closed.push(this.#close())
        const next = this.#start(offset)
        next.data.takeRow(file.data)
        file = next
      } else {
        file.data.commitRow()
      }
      if (file.hour === undefined) {
        file.hour = hourOf(result.eventTime)
        file.hourIndex = hourIndex
        file.firstEventTime = result.eventTime
      }
    } else {
      file.rejected.push({
        topic: this.topic,
        partition: this.partition,
        offset: record.offset,
        reason: result.reason,
        key: record.key?.toString('utf8') ?? null,
        value: record.value?.toString('utf8') ?? null,
        value_b64: record.value?.toString('base64') ?? null,
      })
    }
    file.lastOffset = offset
    file.records += 1
    file.bytes += record.value?.length ?? 0
    if (
      file.records >= this.#policy.records ||
      file.bytes >= this.#policy.bytes ||
      this.#boundaries.includes(offset + 1n)
    ) {
      closed.push(this.#close())
    }
    return closed
  }

  /**
   * Closes the open file (idle flush, drain); undefined when nothing is open or when the open file
   * lies inside a recovered range, whose cut must stay where the previous run put it.
   */
  flush(): PendingFile | undefined {
    const open = this.#open
    if (!open || this.#boundaries.some((b) => b > open.firstOffset)) return undefined
    return this.#close()
  }

  /** Whether the open file has waited longer than `maxAgeMs` (wall clock) and may be flushed. */
  idle(maxAgeMs: number): boolean {
    const open = this.#open
    return (
      open !== undefined &&
      this.#now() - open.openedAt >= maxAgeMs &&
      !this.#boundaries.some((b) => b > open.firstOffset)
    )
  }

  #crossesBoundary(first: bigint, offset: bigint): boolean {
    // A boundary may sit on an offset we never see again (e.g. a transaction marker), hence ≤.
    for (const b of this.#boundaries) if (b > first && b <= offset) return true
    return false
  }

  #start(offset: bigint): PendingFile {
    const file: PendingFile = {
      table: this.table,
      topic: this.topic,
      partition: this.partition,
      firstOffset: offset,
      lastOffset: offset,
      hour: undefined,
      data: new ColumnBatch(this.table.columns, Math.min(this.#policy.records, 4_096)),
      rejected: [],
      records: 0,
      bytes: 0,
      firstEventTime: undefined,
      hourIndex: Number.NaN,
      openedAt: this.#now(),
    }
    this.#open = file
    return file
  }

  #close(): PendingFile {
    const file = this.#open as PendingFile
    this.#open = undefined
    // Boundaries behind us are spent; keep the list short.
    while (this.#boundaries.length > 0 && (this.#boundaries[0] as bigint) <= file.lastOffset)
      this.#boundaries.shift()
    return file
  }
}
