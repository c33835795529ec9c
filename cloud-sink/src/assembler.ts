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
import { type HourPartition, hourOf } from './layout.js'
import type { Row, TableDef } from './tables.js'

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
  rows: Row[]
  rejected: RejectedRecord[]
  records: number
  bytes: number
  firstEventTime: number | undefined
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
    const open = this.#open
    if (open && this.#crossesBoundary(open.firstOffset, offset)) closed.push(this.#close())
    const result = this.table.toRow(record.value)
    if (result.ok) {
      const hour = hourOf(result.eventTime)
      const current = this.#open
      if (
        current !== undefined &&
        ((current.hour !== undefined && (current.hour.dt !== hour.dt || current.hour.hr !== hour.hr)) ||
          (current.firstEventTime !== undefined &&
            Math.abs(result.eventTime - current.firstEventTime) > this.#policy.spanMs))
      ) {
        closed.push(this.#close())
      }
    }
    const file = this.#open ?? this.#start(offset)
    file.lastOffset = offset
    file.records += 1
    file.bytes += record.value?.length ?? 0
    if (result.ok) {
      if (file.hour === undefined) {
        file.hour = hourOf(result.eventTime)
        file.firstEventTime = result.eventTime
      }
      file.rows.push(result.row)
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
      rows: [],
      rejected: [],
      records: 0,
      bytes: 0,
      firstEventTime: undefined,
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
