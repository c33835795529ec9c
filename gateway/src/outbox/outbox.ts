/**
 * The gateway's durable outbox (issue #4; ../../../../shared/DESIGN.md, "Delivery guarantees").
 *
 * A device message is acknowledged (PUBACK, serial ACK) only once it is durable: acknowledged by
 * Kafka, or committed here. While Kafka is down the gateway appends here; when the outbox is full
 * `append` rejects with GW_OUTBOX_FULL and the gateway must not acknowledge, so the device keeps the
 * message and retransmits — never a silent drop. A drainer sends `peek`ed entries to Kafka in order
 * and calls `ack` once Kafka acknowledged them.
 *
 * Contract:
 * - `append` resolves only after its frames are written and fsync'd (fdatasync; plus a directory
 *   fsync when it created a segment). Ids are consecutive, in the order of `append` calls.
 * - Group commit: while one write+fsync is in flight, later appends queue up and all of them go out
 *   in the next single write+fsync. One fsync costs about as much for 1 record as for 1,000.
 * - Delivery is at least once: after a crash, entries after the last persisted checkpoint are
 *   delivered again; the downstream removes duplicates by event id. An append whose write failed
 *   rejects, yet its bytes may be on disk and be delivered after a reopen — the same duplicate case.
 *
 * Memory: every committed, unacknowledged entry is held in memory as its frame (records are decoded
 * lazily by `peek`), so memory is bounded by `maxBytes` plus the decoded copies of peeked entries.
 * `peek` therefore never reads the disk; the segments are read only by recovery, one at a time.
 *
 * Disk: `maxBytes` bounds the framed bytes of unacknowledged entries plus accepted, not yet written
 * appends. Acknowledged entries stay on disk until their whole segment is acknowledged, so the
 * directory can hold up to about `maxBytes + segmentBytes` (+ one batch, as a batch may overshoot).
 *
 * Only one process may open a directory at a time; there is no lock file (the gateway's container
 * owns its volume).
 */
import { type FileHandle, mkdir, open, readdir, readFile, rm, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { CHECKPOINT_TEMP_FILE, readCheckpoint, syncDir, writeCheckpoint } from './checkpoint.js'
import { OutboxError } from './errors.js'
import { frameRecord, openFrame, SEGMENT_NAME, scanFrame, sealFrame, segmentName } from './frame.js'
import type { OutboxRecord } from './record.js'

export interface OutboxOptions {
  /** Directory of the segments and the checkpoint; created if missing. */
  dir: string
  /** Upper bound on framed bytes of unacknowledged entries plus queued appends. */
  maxBytes: number
  /** A segment is closed and a new one started when the next frame would take it past this. Default 16 MiB. */
  segmentBytes?: number
  /** fsync data, new segments and the checkpoint before resolving. Default true; false only for tests. */
  fsync?: boolean
}

export interface OutboxEntry {
  id: number
  record: OutboxRecord
}

export interface OutboxAppendResult {
  firstId: number
  lastId: number
}

export interface OutboxStats {
  /** Committed entries not yet acknowledged. */
  depth: number
  /** Their framed bytes (what `maxBytes` bounds). */
  bytes: number
  /** Segment files in the directory. */
  segments: number
  /** Records committed by this instance since `open`. */
  appended: number
  /** Records acknowledged through this instance since `open`. */
  acked: number
  /** Write+fsync groups since `open`; `appended / commits` is the group-commit batch size. */
  commits: number
}

export interface OutboxRecovery {
  /** First unacknowledged id according to the checkpoint. */
  checkpoint: number
  /** Unacknowledged entries found, now served by `peek`. */
  entries: number
  /** Bytes cut from the torn tail of the last segment (0 after a clean shutdown). */
  truncatedBytes: number
  /** Why the tail was cut, with file and offset; null when nothing was cut. */
  truncated: string | null
  /** Fully acknowledged segments removed (a crash between checkpoint and unlink leaves them). */
  deletedSegments: number
}

export const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024

interface Segment {
  base: number
  path: string
  count: number
  size: number
}

interface Held {
  id: number
  frame: Buffer
  /** Decoded on first `peek`; a view into `frame`. */
  record: OutboxRecord | undefined
}

interface Waiter {
  frames: Buffer[]
  bytes: number
  resolve: (result: OutboxAppendResult) => void
  reject: (error: unknown) => void
}

const EMPTY = Buffer.alloc(0)

function validate(options: OutboxOptions): string[] {
  const problems: string[] = []
  if (typeof options.dir !== 'string' || options.dir === '') problems.push('dir must be a non-empty path')
  if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes <= 0)
    problems.push(`maxBytes must be a positive integer, got ${String(options.maxBytes)}`)
  const seg = options.segmentBytes
  if (seg !== undefined && (!Number.isSafeInteger(seg) || seg <= 0))
    problems.push(`segmentBytes must be a positive integer, got ${String(seg)}`)
  if (options.fsync !== undefined && typeof options.fsync !== 'boolean')
    problems.push(`fsync must be a boolean, got ${String(options.fsync)}`)
  return problems
}

export class Outbox {
  readonly dir: string
  readonly maxBytes: number
  readonly segmentBytes: number
  readonly fsync: boolean
  recovery: OutboxRecovery | undefined

  private state: 'new' | 'opening' | 'open' | 'closing' | 'closed' = 'new'
  private failure: OutboxError | undefined
  private segments: Segment[] = []
  private active: FileHandle | undefined
  private held: Held[] = []
  private head = 0
  /** Id the next batch starts at (ids of a batch in flight are already taken). */
  private nextId = 0
  /** One past the last committed id. */
  private committedNext = 0
  /** First id not acknowledged (in memory). */
  private ackedNext = 0
  /** First id not acknowledged according to the checkpoint file. */
  private durableNext = 0
  private heldBytes = 0
  private queuedBytes = 0
  private queue: Waiter[] = []
  private writing: Promise<void> | undefined
  private checkpointRun: Promise<void> | undefined
  private appended = 0
  private acked = 0
  private commits = 0

  /** Validates the options; does no I/O (call `open`). */
  constructor(options: OutboxOptions) {
    const problems = validate(options)
    if (problems.length > 0)
      throw new OutboxError('GW_OUTBOX_INVALID', `invalid outbox options: ${problems.join('; ')}`)
    this.dir = options.dir
    this.maxBytes = options.maxBytes
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES
    this.fsync = options.fsync ?? true
  }

  static async open(options: OutboxOptions): Promise<Outbox> {
    const outbox = new Outbox(options)
    await outbox.open()
    return outbox
  }

  /**
   * Recovers the directory: removes a half-written checkpoint temp file, reads the checkpoint,
   * verifies every frame of every segment that still holds unacknowledged entries, truncates a
   * torn tail of the last segment, and deletes segments that are entirely acknowledged.
   */
  async open(): Promise<OutboxRecovery> {
    if (this.state !== 'new') throw this.closedError(`cannot open an outbox that is ${this.state}`)
    this.state = 'opening'
    try {
      const recovery = await this.recover()
      this.recovery = recovery
      this.state = 'open'
      return recovery
    } catch (error) {
      this.state = 'closed'
      await this.active?.close().catch(() => undefined)
      this.active = undefined
      throw error
    }
  }

  private async recover(): Promise<OutboxRecovery> {
    await mkdir(this.dir, { recursive: true })
    // A crash between writing the temp checkpoint and its rename leaves it; the old checkpoint rules.
    await rm(join(this.dir, CHECKPOINT_TEMP_FILE), { force: true })
    const checkpoint = await readCheckpoint(this.dir)
    const names = (await readdir(this.dir)).filter((name) => SEGMENT_NAME.test(name)).sort()
    const bases = names.map((name) => Number(name.slice(0, 20)))
    const recovery: OutboxRecovery = {
      checkpoint,
      entries: 0,
      truncatedBytes: 0,
      truncated: null,
      deletedSegments: 0,
    }
    let expected: number | undefined
    for (let i = 0; i < names.length; i++) {
      const base = bases[i]!
      const path = join(this.dir, names[i]!)
      const last = i === names.length - 1
      if (!Number.isSafeInteger(base)) throw this.corrupt(`segment ${path} is named after an id above 2^53`)
      if (!last && bases[i + 1]! <= checkpoint) {
        // Wholly acknowledged: the checkpoint was persisted but the unlink did not happen (crash).
        await unlink(path)
        recovery.deletedSegments++
        continue
      }
      if (expected === undefined && base > checkpoint)
        throw this.corrupt(
          `segment ${path} starts at entry ${base} but the checkpoint says entry ${checkpoint} is the first undelivered one; entries ${checkpoint}..${base - 1} are missing`,
        )
      if (expected !== undefined && base !== expected)
        throw this.corrupt(
          `segment ${path} starts at entry ${base} but the previous segment ends before entry ${expected}; a segment is missing or foreign`,
        )
      const buf = await readFile(path)
      let offset = 0
      let count = 0
      for (;;) {
        const scan = scanFrame(buf, offset)
        if (scan.kind === 'end') break
        if (scan.kind === 'bad') {
          if (!last)
            throw this.corrupt(
              `segment ${path} is corrupt at byte offset ${offset} (entry ${base + count}): ${scan.reason}; it is not the last segment, so this is not a torn write from a crash`,
            )
          // A torn tail: a crash (SIGKILL, power cut) during the write of the last batch. None of
          // its entries was acknowledged to a device, because append resolves only after fsync.
          const handle = await open(path, 'r+')
          try {
            await handle.truncate(offset)
            if (this.fsync) await handle.sync()
          } finally {
            await handle.close()
          }
          recovery.truncatedBytes = buf.length - offset
          recovery.truncated = `${path} at byte offset ${offset} (entry ${base + count}): ${scan.reason}`
          break
        }
        if (scan.id !== base + count)
          throw this.corrupt(
            `segment ${path} holds entry ${scan.id} at byte offset ${offset} where entry ${base + count} belongs`,
          )
        if (scan.id >= checkpoint) {
          // Copy, so that the whole segment buffer is not kept alive by one entry.
          const frame = Buffer.from(buf.subarray(offset, offset + scan.frameBytes))
          let record: OutboxRecord
          try {
            record = frameRecord(frame)
          } catch (error) {
            throw this.corrupt(
              `segment ${path} at byte offset ${offset} (entry ${scan.id}): ${String(error)}`,
            )
          }
          this.held.push({ id: scan.id, frame, record })
          this.heldBytes += frame.length
        }
        count++
        offset += scan.frameBytes
      }
      this.segments.push({ base, path, count, size: offset })
      expected = base + count
    }
    this.nextId = Math.max(checkpoint, expected ?? checkpoint)
    this.committedNext = this.nextId
    this.ackedNext = checkpoint
    this.durableNext = checkpoint
    recovery.entries = this.held.length
    const tail = this.segments.at(-1)
    if (tail !== undefined) this.active = await open(tail.path, 'r+')
    return recovery
  }

  /**
   * Appends the records as consecutive entries and resolves with their ids once they are durable.
   * Rejects with GW_OUTBOX_FULL (nothing of this call written) when they do not fit in `maxBytes`.
   */
  async append(records: OutboxRecord[]): Promise<OutboxAppendResult> {
    if (this.state !== 'open') throw this.closedError(`cannot append to an outbox that is ${this.state}`)
    if (this.failure !== undefined) throw this.failure
    if (records.length === 0) throw new OutboxError('GW_OUTBOX_INVALID', 'append needs at least one record')
    const frames = records.map(openFrame)
    let bytes = 0
    for (const frame of frames) bytes += frame.length
    if (bytes > this.maxBytes)
      throw new OutboxError(
        'GW_OUTBOX_FULL',
        `an append of ${records.length} records needs ${bytes} bytes, more than the outbox's maxBytes ${this.maxBytes}; it can never fit`,
        { canRetry: false, hint: 'append fewer records at a time or raise the outbox maxBytes' },
      )
    if (this.heldBytes + this.queuedBytes + bytes > this.maxBytes)
      throw new OutboxError(
        'GW_OUTBOX_FULL',
        `outbox ${this.dir} is full: ${this.heldBytes} bytes undelivered + ${this.queuedBytes} queued + ${bytes} for this append > maxBytes ${this.maxBytes}`,
        {
          canRetry: true,
          hint: 'do not acknowledge the message; the device retransmits, and space frees up as Kafka acknowledges the backlog',
        },
      )
    this.queuedBytes += bytes
    return new Promise<OutboxAppendResult>((resolve, reject) => {
      this.queue.push({ frames, bytes, resolve, reject })
      this.writing ??= this.writeLoop().finally(() => {
        this.writing = undefined
      })
    })
  }

  private async writeLoop(): Promise<void> {
    // Let appends made in the same tick (e.g. a burst of MQTT publishes) join the first batch.
    await Promise.resolve()
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0)
      if (this.failure !== undefined) {
        this.rejectAll(batch, this.failure)
        continue
      }
      const first = this.nextId
      try {
        await this.commit(batch)
      } catch (error) {
        this.failure = new OutboxError(
          'GW_OUTBOX_IO',
          `outbox write in ${this.dir} failed (${error instanceof Error ? error.message : String(error)}); appends are refused until the outbox is closed and reopened`,
          {
            cause: error,
            canRetry: true,
            hint: 'check free space and permissions; reopening recovers to the last whole entry',
          },
        )
        this.rejectAll(batch, this.failure)
        continue
      }
      let id = first
      for (const waiter of batch) {
        const firstId = id
        for (const frame of waiter.frames) this.held.push({ id: id++, frame, record: undefined })
        this.heldBytes += waiter.bytes
        this.queuedBytes -= waiter.bytes
        this.appended += waiter.frames.length
        waiter.resolve({ firstId, lastId: id - 1 })
      }
      this.committedNext = id
      this.commits++
    }
  }

  private rejectAll(batch: Waiter[], error: OutboxError): void {
    for (const waiter of batch) {
      this.queuedBytes -= waiter.bytes
      waiter.reject(error)
    }
  }

  /** One group commit: seal ids, write the frames (rolling segments as needed), fsync. */
  private async commit(batch: Waiter[]): Promise<void> {
    const frames: Buffer[] = []
    let id = this.nextId
    for (const waiter of batch) {
      for (const frame of waiter.frames) {
        sealFrame(frame, id++)
        frames.push(frame)
      }
    }
    id = this.nextId
    this.nextId += frames.length
    let i = 0
    while (i < frames.length) {
      let segment = this.segments.at(-1)
      const full =
        segment !== undefined && segment.size > 0 && segment.size + frames[i]!.length > this.segmentBytes
      if (segment === undefined || this.active === undefined || full || segment.base + segment.count !== id) {
        segment = await this.roll(id)
      }
      let end = i + 1
      let size = segment.size + frames[i]!.length
      while (end < frames.length && size + frames[end]!.length <= this.segmentBytes)
        size += frames[end++]!.length
      const chunk = end - i === 1 ? frames[i]! : Buffer.concat(frames.slice(i, end))
      await writeFully(this.active!, chunk, segment.size)
      // fdatasync is enough: it also flushes the file size, which an append changes.
      if (this.fsync) await this.active!.datasync()
      segment.size += chunk.length
      segment.count += end - i
      id += end - i
      i = end
    }
  }

  private async roll(base: number): Promise<Segment> {
    const path = join(this.dir, segmentName(base))
    // 'wx': a segment is never overwritten; an existing name here is a bug, not something to clobber.
    const handle = await open(path, 'wx')
    // The new file's directory entry must be durable before any entry in it is acknowledged;
    // fsync of the file alone does not persist its name (fsync(2), "Notes").
    if (this.fsync) await syncDir(this.dir)
    const previous = this.active
    this.active = handle
    const segment: Segment = { base, path, count: 0, size: 0 }
    this.segments.push(segment)
    await previous?.close()
    return segment
  }

  /**
   * The oldest unacknowledged entries, in id order: at most `maxRecords`, and at most `maxBytes`
   * framed bytes — but always at least one when there is one, so an entry bigger than `maxBytes`
   * cannot stall the drain. Returns the same entries again until they are acknowledged. The records
   * share memory with the outbox: treat them as read-only.
   */
  peek(maxRecords: number, maxBytes: number): OutboxEntry[] {
    if (this.state !== 'open' && this.state !== 'closing')
      throw this.closedError(`cannot peek an outbox that is ${this.state}`)
    const out: OutboxEntry[] = []
    let bytes = 0
    for (let i = this.head; i < this.held.length && out.length < maxRecords; i++) {
      const held = this.held[i]!
      if (out.length > 0 && bytes + held.frame.length > maxBytes) break
      bytes += held.frame.length
      held.record ??= frameRecord(held.frame)
      out.push({ id: held.id, record: held.record })
    }
    return out
  }

  /**
   * Everything up to and including `uptoId` was acknowledged by Kafka. Frees its space at once,
   * persists the checkpoint and deletes segments that are wholly acknowledged; resolves when the
   * checkpoint is durable. Concurrent acks share checkpoint writes. Acking an id already acked is a
   * no-op; acking one not yet committed is a caller bug (GW_OUTBOX_INVALID).
   */
  async ack(uptoId: number): Promise<void> {
    if (this.state !== 'open' && this.state !== 'closing')
      throw this.closedError(`cannot ack in an outbox that is ${this.state}`)
    if (!Number.isSafeInteger(uptoId) || uptoId >= this.committedNext)
      throw new OutboxError(
        'GW_OUTBOX_INVALID',
        `cannot ack up to entry ${uptoId}: the last committed entry is ${this.committedNext - 1}`,
      )
    const target = uptoId + 1
    if (target > this.ackedNext) {
      const count = target - this.ackedNext
      for (let i = this.head; i < this.head + count; i++) {
        const held = this.held[i]!
        this.heldBytes -= held.frame.length
        // Drop the bytes now; the slot itself goes at the next compaction.
        held.frame = EMPTY
        held.record = undefined
      }
      this.head += count
      if (this.head * 2 >= this.held.length) {
        this.held = this.held.slice(this.head)
        this.head = 0
      }
      this.acked += count
      this.ackedNext = target
    }
    while (this.durableNext < target) {
      if (this.checkpointRun !== undefined) {
        await this.checkpointRun.catch(() => undefined)
        continue
      }
      const run = this.persistCheckpoint(this.ackedNext)
      this.checkpointRun = run
      try {
        await run
      } finally {
        if (this.checkpointRun === run) this.checkpointRun = undefined
      }
    }
  }

  private async persistCheckpoint(next: number): Promise<void> {
    await writeCheckpoint(this.dir, next, this.fsync)
    this.durableNext = Math.max(this.durableNext, next)
    // Only after the checkpoint is durable: deleting first and crashing would leave a checkpoint
    // that points into a missing segment. No directory fsync after the unlink: if the removal is
    // lost, recovery sees a segment wholly below the checkpoint and deletes it again.
    let count = 0
    while (count < this.segments.length - 1 && this.segments[count + 1]!.base <= this.durableNext) count++
    for (const segment of this.segments.splice(0, count)) await rm(segment.path, { force: true })
  }

  stats(): OutboxStats {
    return {
      depth: this.held.length - this.head,
      bytes: this.heldBytes,
      segments: this.segments.length,
      appended: this.appended,
      acked: this.acked,
      commits: this.commits,
    }
  }

  /** Stops accepting appends, finishes the queued ones and any checkpoint write, closes the file. */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return
    if (this.state === 'new') {
      this.state = 'closed'
      return
    }
    this.state = 'closing'
    while (this.writing !== undefined) await this.writing
    while (this.checkpointRun !== undefined) await this.checkpointRun.catch(() => undefined)
    await this.active?.close()
    this.active = undefined
    this.held = []
    this.head = 0
    this.state = 'closed'
  }

  private closedError(message: string): OutboxError {
    return new OutboxError('GW_OUTBOX_CLOSED', message, { hint: 'open the outbox first' })
  }

  private corrupt(message: string): OutboxError {
    return new OutboxError('GW_OUTBOX_CORRUPT', message, {
      hint: 'move the outbox directory aside (keep it for analysis) so the gateway starts with an empty one; entries before the damage are intact',
    })
  }
}

async function writeFully(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done)
    done += bytesWritten
  }
}
