/**
 * The delivery checkpoint: the id of the first entry not yet acknowledged by Kafka.
 *
 * File `checkpoint`, 20 bytes: magic "PPOC", u32 version 1, u64 next unacknowledged id, u32 CRC-32
 * of the 16 bytes before it (all big-endian).
 *
 * It is replaced atomically: write `checkpoint.tmp`, fsync it, rename over `checkpoint`, fsync the
 * directory. Without the file fsync a crash after the rename can leave a renamed but empty file
 * (the ext4 "zero-length file" failure); without the directory fsync the rename itself may not
 * survive a power cut, and recovery would redeliver from the older checkpoint (safe, but only
 * because delivery is at least once).
 */
import { open, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from './crc32.js'
import { OutboxError } from './errors.js'

export const CHECKPOINT_FILE = 'checkpoint'
export const CHECKPOINT_TEMP_FILE = 'checkpoint.tmp'
const MAGIC = 0x50504f43 // "PPOC"
const VERSION = 1
const SIZE = 20

export function encodeCheckpoint(nextId: number): Buffer {
  const buf = Buffer.alloc(SIZE)
  buf.writeUInt32BE(MAGIC, 0)
  buf.writeUInt32BE(VERSION, 4)
  buf.writeBigUInt64BE(BigInt(nextId), 8)
  buf.writeUInt32BE(crc32(buf.subarray(0, 16)), 16)
  return buf
}

export function decodeCheckpoint(buf: Buffer, path: string): number {
  const bad = (what: string): OutboxError =>
    new OutboxError('GW_OUTBOX_CORRUPT', `outbox checkpoint ${path} is damaged: ${what}`, {
      hint: 'the checkpoint is replaced atomically, so this is disk damage or a foreign file; delete it to redeliver everything still in the segments (downstream de-duplicates by event id)',
    })
  if (buf.length !== SIZE) throw bad(`${buf.length} bytes, expected ${SIZE}`)
  if (buf.readUInt32BE(0) !== MAGIC) throw bad('wrong magic')
  if (buf.readUInt32BE(4) !== VERSION)
    throw bad(`version ${buf.readUInt32BE(4)}, this build reads ${VERSION}`)
  if (crc32(buf.subarray(0, 16)) !== buf.readUInt32BE(16)) throw bad('CRC-32 mismatch')
  const next = buf.readBigUInt64BE(8)
  if (next > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`next id ${next} is above 2^53`)
  return Number(next)
}

/** The next unacknowledged id, or 0 when there is no checkpoint yet. */
export async function readCheckpoint(dir: string): Promise<number> {
  const path = join(dir, CHECKPOINT_FILE)
  let buf: Buffer
  try {
    buf = await readFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0
    throw error
  }
  return decodeCheckpoint(buf, path)
}

export async function writeCheckpoint(dir: string, nextId: number, fsync: boolean): Promise<void> {
  const temp = join(dir, CHECKPOINT_TEMP_FILE)
  const handle = await open(temp, 'w')
  try {
    await handle.writeFile(encodeCheckpoint(nextId))
    if (fsync) await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(temp, join(dir, CHECKPOINT_FILE))
  if (fsync) await syncDir(dir)
}

/** fsync a directory, which makes the creation, rename or removal of its entries durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
