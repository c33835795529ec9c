/**
 * `pedepronto bench serial`: the serial line as the gateway sees it. A socat pty pair is the cable;
 * a writer on one end sends EVENT frames carrying event envelopes shaped like the firmware's
 * (firmware/core/pp_device.c), a FrameDecoder (contracts/) on the other end counts them.
 *
 *   frames/s unpaced     how fast the codec and a pty move frames when nothing limits the rate
 *   framing overhead     wire bytes − payload bytes per frame (header 4, CRC 2, COBS ≥ 1, 0x00)
 *   paced 115200 baud    the writer releases bytes at 11 520 bytes/s (8N1: 10 bits a byte), as a
 *                        UART would; events/s achieved as a fraction of what the line rate allows
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, write } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ReadStream } from 'node:tty'
import { type BenchDefinition, ExitCode, median, PedeProntoError, round } from '@pedepronto/common'
import { encodeFrame, FrameDecoder, FrameType, uuidv7 } from '@pedepronto/contracts'

/** Envelopes as the firmware renders them (same keys, order and typical id lengths). */
export function typicalPayloads(count: number, seed = 1): Uint8Array[] {
  let state = seed >>> 0 || 1
  const random = () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
  const base = 1_750_000_000_000
  const out: Uint8Array[] = []
  for (let seq = 0; seq < count; seq++) {
    const t = base + seq * 10
    const head = `{"v":1,"event_id":"${uuidv7(t, random)}","type":"TYPE","device_id":"kitchen-0001","restaurant_id":"rest-0001","event_time":${t},"seq":${seq},"payload":`
    let json: string
    if (seq % 3 === 0) {
      json = `${head.replace('TYPE', 'device.heartbeat')}{"uptime_s":${seq},"firmware":"pp-avr/1.0.0","battery_pct":null,"rssi_dbm":null}}`
    } else if (seq % 3 === 1) {
      json = `${head.replace('TYPE', 'device.telemetry')}{"sensor":"fridge_temp","value":${(3 + random() * 3).toFixed(2)},"unit":"celsius"}}`
    } else {
      json = `${head.replace('TYPE', 'order.status_changed')}{"order_id":"kitchen-0001-o${seq}","from":"accepted","to":"preparing"}}`
    }
    out.push(Buffer.from(json))
  }
  return out
}

interface PtyPair {
  a: string
  b: string
  socat: ChildProcess
  dir: string
}

async function ptyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'pp-bench-serial-'))
  const a = join(dir, 'a')
  const b = join(dir, 'b')
  const socat = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' })
  const deadline = Date.now() + 5_000
  while (!(existsSync(a) && existsSync(b))) {
    if (socat.exitCode !== null || Date.now() > deadline) {
      socat.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
      throw new PedeProntoError('BENCH_NO_SOCAT', 'socat did not create a pty pair', {
        exitCode: ExitCode.UNAVAILABLE,
        hint: 'sudo apt-get install -y socat',
      })
    }
    await new Promise((r) => setTimeout(r, 20))
  }
  return { a, b, socat, dir }
}

function writeAsync(fd: number, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const go = (offset: number) =>
      write(fd, bytes, offset, bytes.length - offset, null, (error, n) => {
        if (error) return reject(error)
        if (offset + n < bytes.length) go(offset + n)
        else resolve()
      })
    go(0)
  })
}

interface RunResult {
  frames: number
  seconds: number
  wireBytes: number
  errors: number
}

/**
 * Sends `wire` (concatenated frames) through the pty pair, paced to `bytesPerS` when given, for
 * `seconds`; counts frames decoded on the far end. Writes go through the libuv pool (a blocking
 * pty write), reads through the event loop, so neither end starves the other.
 */
async function runLine(
  pair: PtyPair,
  frames: Uint8Array[],
  seconds: number,
  bytesPerS?: number,
): Promise<RunResult> {
  const wfd = openSync(pair.a, 'w')
  const rfd = openSync(pair.b, 'r')
  const reader = new ReadStream(rfd)
  reader.setRawMode(true)
  const decoder = new FrameDecoder()
  let decoded = 0
  reader.on('data', (chunk: Buffer) => {
    for (const e of decoder.push(chunk)) if (e.kind === 'frame') decoded++
  })
  const started = performance.now()
  const endAt = started + seconds * 1000
  let sent = 0
  let wireBytes = 0
  let i = 0
  const nextBatch = (budget: number): Uint8Array => {
    const parts: Uint8Array[] = []
    let size = 0
    while (size < budget) {
      const f = frames[i++ % frames.length] as Uint8Array
      parts.push(f)
      size += f.length
      sent++
    }
    wireBytes += size
    return Buffer.concat(parts)
  }
  try {
    if (bytesPerS === undefined) {
      while (performance.now() < endAt) await writeAsync(wfd, nextBatch(16_384))
    } else {
      // A UART releases bytes at the line rate: every 10 ms, what the elapsed time allows.
      let released = 0
      let carry = new Uint8Array(0)
      while (performance.now() < endAt) {
        const due = Math.floor(((performance.now() - started) / 1000) * bytesPerS)
        let budget = due - released
        if (budget > 0) {
          if (carry.length < budget) carry = Buffer.concat([carry, nextBatch(budget - carry.length)])
          const chunk = carry.subarray(0, budget)
          carry = carry.subarray(budget)
          budget = chunk.length
          released += budget
          await writeAsync(wfd, chunk)
        }
        await new Promise((r) => setTimeout(r, 10))
      }
      wireBytes -= carry.length
    }
    // Let the last bytes arrive.
    const drainEnd = performance.now() + 2_000
    const expectFrames = bytesPerS === undefined ? sent : decoded
    while (decoded < expectFrames && performance.now() < drainEnd) await new Promise((r) => setTimeout(r, 20))
    const seconds_ = (performance.now() - started) / 1000
    const errors = Object.values(decoder.stats.errors).reduce((s, n) => s + n, 0)
    return { frames: decoded, seconds: bytesPerS === undefined ? seconds_ : seconds, wireBytes, errors }
  } finally {
    reader.destroy()
    closeSync(wfd)
  }
}

export const serialBench: BenchDefinition = {
  name: 'serial',
  description:
    'serial frames over a pty: frames/s unpaced, framing overhead per event, events/s at a paced 115200 baud vs line rate',
  async run({ quick, log }) {
    const payloads = typicalPayloads(300)
    const frames = payloads.map((payload, seq) => encodeFrame({ type: FrameType.EVENT, seq, payload }))
    const overheads = frames.map((f, k) => f.length - (payloads[k] as Uint8Array).length)
    const payloadBytes = payloads.reduce((s, p) => s + p.length, 0) / payloads.length
    const wirePerFrame = frames.reduce((s, f) => s + f.length, 0) / frames.length
    const runs = quick ? 3 : 5
    const seconds = quick ? 3 : 8
    const pair = await ptyPair()
    try {
      const unpaced: number[] = []
      const pacedRatio: number[] = []
      const pacedRate: number[] = []
      let errors = 0
      for (let r = 0; r < runs; r++) {
        const u = await runLine(pair, frames, seconds)
        unpaced.push(u.frames / u.seconds)
        errors += u.errors
        // 115200 baud, 8N1: 11 520 bytes/s; the line allows bytesPerS / wirePerFrame events/s.
        const bytesPerS = 115_200 / 10
        const p = await runLine(pair, frames, seconds, bytesPerS)
        const ideal = bytesPerS / wirePerFrame
        pacedRate.push(p.frames / seconds)
        pacedRatio.push(p.frames / seconds / ideal)
        errors += p.errors
        log.info(
          { run: r, unpaced: u.frames / u.seconds, paced: p.frames / seconds, ideal },
          'serial bench run',
        )
      }
      return {
        figures: [
          {
            name: 'frames/s over a pty, unpaced (median)',
            value: round(median(unpaced), 0),
            unit: 'frames/s',
          },
          { name: 'typical event payload', value: round(payloadBytes, 1), unit: 'bytes' },
          { name: 'framing overhead per event (median)', value: median(overheads), unit: 'bytes' },
          { name: 'framing overhead per event (max)', value: Math.max(...overheads), unit: 'bytes' },
          {
            name: 'framing overhead share of the wire',
            value: round((100 * (wirePerFrame - payloadBytes)) / wirePerFrame, 2),
            unit: '%',
          },
          {
            name: 'events/s at paced 115200 baud (median)',
            value: round(median(pacedRate), 1),
            unit: 'events/s',
          },
          {
            name: 'line-rate bound at 115200 baud',
            value: round(11_520 / wirePerFrame, 1),
            unit: 'events/s',
          },
          {
            name: 'achieved share of line rate (median)',
            value: round(100 * median(pacedRatio), 2),
            unit: '%',
          },
          { name: 'decode errors', value: errors, unit: 'frames' },
        ],
      }
    } finally {
      pair.socat.kill('SIGKILL')
      rmSync(pair.dir, { recursive: true, force: true })
    }
  },
}
