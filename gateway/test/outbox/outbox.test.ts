import {
  appendFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeCheckpoint } from '../../src/outbox/checkpoint.js'
import { encodeFrame } from '../../src/outbox/frame.js'
import { frameSize, Outbox, type OutboxEntry, type OutboxOptions } from '../../src/outbox/index.js'
import { sampleRecord, tempDir } from './helpers.js'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

function newDir(): string {
  const { dir, cleanup } = tempDir('outbox')
  cleanups.push(cleanup)
  return dir
}

async function openIn(dir: string, options: Partial<OutboxOptions> = {}): Promise<Outbox> {
  return Outbox.open({ dir, maxBytes: 1024 * 1024, ...options })
}

const everything = (outbox: Outbox): OutboxEntry[] =>
  outbox.peek(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
const segmentFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.seg'))
    .sort()
const expected = (ids: number[]): OutboxEntry[] => ids.map((id) => ({ id, record: sampleRecord(id) }))
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i)

describe('Outbox', () => {
  it('does no I/O in the constructor and reports every bad option at once', () => {
    const dir = join(newDir(), 'not-yet')
    new Outbox({ dir, maxBytes: 10 })
    expect(existsSync(dir)).toBe(false)
    expect(() => new Outbox({ dir: '', maxBytes: 0, segmentBytes: -1 })).toThrow(
      expect.objectContaining({
        code: 'GW_OUTBOX_INVALID',
        message: expect.stringMatching(/dir must be.*maxBytes must be.*segmentBytes must be/),
      }),
    )
  })

  it('round-trips records through append, peek, close and reopen', async () => {
    const dir = newDir()
    const outbox = await openIn(dir)
    expect(await outbox.append([sampleRecord(0), sampleRecord(1)])).toEqual({ firstId: 0, lastId: 1 })
    expect(await outbox.append([sampleRecord(2)])).toEqual({ firstId: 2, lastId: 2 })
    expect(everything(outbox)).toEqual(expected([0, 1, 2]))
    const bytes = [0, 1, 2].reduce((sum, n) => sum + frameSize(sampleRecord(n)), 0)
    expect(outbox.stats()).toEqual({ depth: 3, bytes, segments: 1, appended: 3, acked: 0, commits: 2 })
    await outbox.close()
    expect(segmentFiles(dir)).toEqual(['00000000000000000000.seg'])
    expect(statSync(join(dir, segmentFiles(dir)[0]!)).size).toBe(bytes)

    const again = await openIn(dir)
    expect(again.recovery).toMatchObject({ checkpoint: 0, entries: 3, truncatedBytes: 0, truncated: null })
    expect(everything(again)).toEqual(expected([0, 1, 2]))
    expect(await again.append([sampleRecord(3)])).toEqual({ firstId: 3, lastId: 3 })
    await again.close()
  })

  it('keeps append-call order across segments and coalesces concurrent appends into one fsync', async () => {
    const dir = newDir()
    const outbox = await openIn(dir, { segmentBytes: 300 })
    // 20 appends of 1..4 records issued together; ids must follow call order.
    const sizes = range(0, 20).map((n) => 1 + (n % 4))
    let n = 0
    const calls = sizes.map((size) => {
      const records = range(n, n + size).map((id) => sampleRecord(id))
      n += size
      return outbox.append(records)
    })
    const results = await Promise.all(calls)
    let next = 0
    for (const [i, result] of results.entries()) {
      expect(result).toEqual({ firstId: next, lastId: next + sizes[i]! - 1 })
      next += sizes[i]!
    }
    expect(outbox.stats().commits).toBe(1)
    expect(everything(outbox)).toEqual(expected(range(0, n)))
    const files = segmentFiles(dir)
    expect(files.length).toBeGreaterThan(3)
    // Each file is named after its first entry id; the ids between are the earlier file's entries.
    const bases = files.map((name) => Number(name.slice(0, 20)))
    expect(bases[0]).toBe(0)
    expect(bases).toEqual([...bases].sort((a, b) => a - b))
    for (const name of files) expect(statSync(join(dir, name)).size).toBeLessThanOrEqual(300)
    await outbox.close()

    const again = await openIn(dir, { segmentBytes: 300 })
    expect(everything(again)).toEqual(expected(range(0, n)))
    expect(again.stats().segments).toBe(files.length)
    await again.close()
  })

  it('peek honours maxRecords and maxBytes but always returns at least one entry', async () => {
    const outbox = await openIn(newDir())
    await outbox.append(range(0, 5).map((n) => sampleRecord(n)))
    expect(outbox.peek(2, Number.MAX_SAFE_INTEGER).map((e) => e.id)).toEqual([0, 1])
    const two = frameSize(sampleRecord(0)) + frameSize(sampleRecord(1))
    expect(outbox.peek(10, two).map((e) => e.id)).toEqual([0, 1])
    expect(outbox.peek(10, two - 1).map((e) => e.id)).toEqual([0])
    expect(outbox.peek(10, 1).map((e) => e.id)).toEqual([0])
    await outbox.close()
  })

  it('rejects with GW_OUTBOX_FULL when an append does not fit, writing nothing of it', async () => {
    const dir = newDir()
    // Records of one size, so the bound falls between whole records.
    const fixed = (n: number) => ({
      topic: 't',
      key: 'k',
      value: Buffer.alloc(40, n),
      headers: {},
      timestamp: n,
    })
    const size = frameSize(fixed(0))
    const outbox = await openIn(dir, { maxBytes: size * 3 })
    await outbox.append([fixed(0), fixed(1)])
    const fileBytes = statSync(join(dir, segmentFiles(dir)[0]!)).size
    await expect(outbox.append([fixed(2), fixed(3)])).rejects.toMatchObject({
      name: 'PedeProntoError',
      code: 'GW_OUTBOX_FULL',
      canRetry: true,
    })
    expect(statSync(join(dir, segmentFiles(dir)[0]!)).size).toBe(fileBytes)
    expect(outbox.stats()).toMatchObject({ depth: 2, bytes: size * 2, appended: 2 })

    // Appends still queued count against the bound too.
    const fits = outbox.append([fixed(2)])
    await expect(outbox.append([fixed(3)])).rejects.toMatchObject({ code: 'GW_OUTBOX_FULL' })
    expect(await fits).toEqual({ firstId: 2, lastId: 2 })

    // Acknowledged entries free their space; the next id follows the last one written.
    await outbox.ack(1)
    expect(await outbox.append([fixed(3), fixed(4)])).toEqual({ firstId: 3, lastId: 4 })

    // A batch that can never fit is not worth retrying.
    await expect(outbox.append(range(0, 4).map((n) => fixed(n)))).rejects.toMatchObject({
      code: 'GW_OUTBOX_FULL',
      canRetry: false,
    })
    await outbox.close()
    const again = await openIn(dir)
    expect(everything(again)).toEqual([2, 3, 4].map((id) => ({ id, record: fixed(id) })))
    await again.close()
  })

  it('ack persists a checkpoint, deletes wholly acknowledged segments and survives reopen', async () => {
    const dir = newDir()
    const options = { segmentBytes: 250 }
    const outbox = await openIn(dir, options)
    for (let n = 0; n < 30; n++) await outbox.append([sampleRecord(n)])
    const before = segmentFiles(dir).map((name) => Number(name.slice(0, 20)))
    await outbox.ack(19)
    const after = segmentFiles(dir).map((name) => Number(name.slice(0, 20)))
    // Exactly the segments whose successor starts at or below 20 are gone.
    expect(after).toEqual(before.filter((_base, i) => i === before.length - 1 || before[i + 1]! > 20))
    expect(after[0]!).toBeLessThanOrEqual(20)
    expect(after.length).toBeLessThan(before.length)
    expect(outbox.stats()).toMatchObject({ depth: 10, acked: 20, segments: after.length })
    await outbox.ack(5) // already acknowledged: a no-op
    await expect(outbox.ack(30)).rejects.toMatchObject({ code: 'GW_OUTBOX_INVALID' })
    await outbox.close()

    const again = await openIn(dir, options)
    expect(again.recovery).toMatchObject({ checkpoint: 20, entries: 10 })
    expect(everything(again)).toEqual(expected(range(20, 30)))
    await again.ack(29)
    expect(segmentFiles(dir)).toHaveLength(1) // the active segment stays
    await again.close()

    const third = await openIn(dir, options)
    expect(third.stats().depth).toBe(0)
    expect(await third.append([sampleRecord(30)])).toEqual({ firstId: 30, lastId: 30 })
    await third.close()
  })

  it('finishes an interrupted segment deletion and ignores a half-written checkpoint on open', async () => {
    const dir = newDir()
    const outbox = await openIn(dir, { segmentBytes: 250 })
    for (let n = 0; n < 30; n++) await outbox.append([sampleRecord(n)])
    await outbox.close()
    const segments = segmentFiles(dir).length
    // As if the process died after the checkpoint rename but before the unlinks.
    writeFileSync(join(dir, 'checkpoint'), encodeCheckpoint(25))
    writeFileSync(join(dir, 'checkpoint.tmp'), 'half')
    const again = await openIn(dir, { segmentBytes: 250 })
    expect(again.recovery!.deletedSegments).toBeGreaterThan(0)
    expect(segmentFiles(dir)).toHaveLength(segments - again.recovery!.deletedSegments)
    expect(existsSync(join(dir, 'checkpoint.tmp'))).toBe(false)
    expect(everything(again)).toEqual(expected(range(25, 30)))
    await again.close()
  })

  it('recovers a torn tail to the last whole entry, for every cut point of the last frame', async () => {
    const dir = newDir()
    const outbox = await openIn(dir)
    await outbox.append(range(0, 4).map((n) => sampleRecord(n)))
    await outbox.close()
    const file = join(dir, segmentFiles(dir)[0]!)
    const whole = readFileSync(file)
    const lastFrame = frameSize(sampleRecord(3))
    for (let cut = 1; cut < lastFrame; cut++) {
      writeFileSync(file, whole.subarray(0, whole.length - cut))
      const again = await openIn(dir)
      expect(again.recovery).toMatchObject({ entries: 3, truncatedBytes: lastFrame - cut })
      expect(again.recovery!.truncated).toContain(`at byte offset ${whole.length - lastFrame}`)
      expect(everything(again)).toEqual(expected([0, 1, 2]))
      await again.close()
      expect(statSync(file).size).toBe(whole.length - lastFrame)
    }
    // And the next append continues at the first lost id, in the same file.
    const again = await openIn(dir)
    expect(await again.append([sampleRecord(3)])).toEqual({ firstId: 3, lastId: 3 })
    await again.close()
    expect(readFileSync(file)).toEqual(whole)
  })

  it('cuts garbage after the last entry: zeros, random bytes, a frame with a bad CRC', async () => {
    const dir = newDir()
    const outbox = await openIn(dir)
    await outbox.append(range(0, 3).map((n) => sampleRecord(n)))
    await outbox.close()
    const file = join(dir, segmentFiles(dir)[0]!)
    const size = statSync(file).size
    const badCrc = encodeFrame(3, sampleRecord(3))
    badCrc[badCrc.length - 1]! ^= 0xff
    for (const garbage of [Buffer.alloc(4096), Buffer.from('ffffffff00000000deadbeef', 'hex'), badCrc]) {
      appendFileSync(file, garbage)
      const again = await openIn(dir)
      expect(again.recovery).toMatchObject({ entries: 3, truncatedBytes: garbage.length })
      expect(everything(again)).toEqual(expected([0, 1, 2]))
      await again.close()
      expect(statSync(file).size).toBe(size)
    }
  })

  it('refuses a corrupt entry in a segment that is not the last with GW_OUTBOX_CORRUPT naming file and offset', async () => {
    const dir = newDir()
    const outbox = await openIn(dir, { segmentBytes: 250 })
    for (let n = 0; n < 12; n++) await outbox.append([sampleRecord(n)])
    await outbox.close()
    const first = segmentFiles(dir)[0]!
    expect(segmentFiles(dir).length).toBeGreaterThan(1)
    const bytes = readFileSync(join(dir, first))
    const second = frameSize(sampleRecord(0))
    bytes[second + 20]! ^= 0x01 // inside the record of entry 1
    writeFileSync(join(dir, first), bytes)
    const broken = new Outbox({ dir, maxBytes: 1024 * 1024, segmentBytes: 250 })
    const error = await broken.open().catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'GW_OUTBOX_CORRUPT', canRetry: false })
    expect((error as Error).message).toContain(join(dir, first))
    expect((error as Error).message).toContain(`byte offset ${second} (entry 1)`)
    await expect(broken.append([sampleRecord(0)])).rejects.toMatchObject({ code: 'GW_OUTBOX_CLOSED' })
  })

  it('refuses a missing segment (a gap in ids) with GW_OUTBOX_CORRUPT', async () => {
    const dir = newDir()
    const outbox = await openIn(dir, { segmentBytes: 250 })
    for (let n = 0; n < 20; n++) await outbox.append([sampleRecord(n)])
    await outbox.close()
    const files = segmentFiles(dir)
    expect(files.length).toBeGreaterThan(2)
    truncateSync(join(dir, files[1]!), 0)
    await expect(openIn(dir, { segmentBytes: 250 })).rejects.toMatchObject({
      code: 'GW_OUTBOX_CORRUPT',
      message: expect.stringContaining('a segment is missing or foreign'),
    })
  })

  it('close finishes queued appends, then refuses new ones with GW_OUTBOX_CLOSED', async () => {
    const dir = newDir()
    const outbox = await openIn(dir)
    const pending = range(0, 10).map((n) => outbox.append([sampleRecord(n)]))
    const closing = outbox.close()
    await expect(outbox.append([sampleRecord(10)])).rejects.toMatchObject({ code: 'GW_OUTBOX_CLOSED' })
    await closing
    expect((await Promise.all(pending)).map((r) => r.firstId)).toEqual(range(0, 10))
    const again = await openIn(dir)
    expect(again.stats().depth).toBe(10)
    await again.close()
  })
})
