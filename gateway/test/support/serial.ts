/**
 * A socat pty pair standing in for a serial cable (`pedepronto attach` on one end, a test device on
 * the other), and a device end that speaks the frame protocol of contracts/ with injected noise.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { encodeFrame, FrameDecoder, FrameType } from '@pedepronto/contracts'
import { SerialPort } from 'serialport'
import { waitFor } from './fleet.js'

export class PtyPair {
  readonly devPath: string
  readonly gwPath: string
  #proc: ChildProcess | undefined

  constructor(dir: string) {
    this.devPath = join(dir, 'dev')
    this.gwPath = join(dir, 'gw')
  }

  get running(): boolean {
    return this.#proc !== undefined && this.#proc.exitCode === null && this.#proc.signalCode === null
  }

  async start(): Promise<void> {
    const proc = spawn(
      'socat',
      ['-d', '-d', `pty,raw,echo=0,link=${this.devPath}`, `pty,raw,echo=0,link=${this.gwPath}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let log = ''
    proc.stderr?.on('data', (d: Buffer) => {
      log += d.toString()
    })
    this.#proc = proc
    await waitFor(
      () => /starting data transfer loop/.test(log) && existsSync(this.devPath) && existsSync(this.gwPath),
      10_000,
      `socat to create ${this.devPath} and ${this.gwPath}: ${log}`,
      20,
    )
  }

  /** SIGKILL socat and remove its links: the cable is pulled and the device node is gone. */
  async kill(): Promise<void> {
    const proc = this.#proc
    this.#proc = undefined
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGKILL')
      await gone
    }
    rmSync(this.devPath, { force: true })
    rmSync(this.gwPath, { force: true })
  }
}

/** Flips each bit of `bytes` with probability `ber`; returns how many were flipped. */
export function flipBits(bytes: Uint8Array, ber: number, random: () => number): number {
  let flips = 0
  for (let i = 0; i < bytes.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      if (random() < ber) {
        bytes[i] = (bytes[i] as number) ^ (1 << bit)
        flips++
      }
    }
  }
  return flips
}

export interface NoisyDeviceOptions {
  path: string
  random: () => number
  /** Bit error rate applied to the stuffed bytes of each EVENT frame (its delimiter excluded). */
  ber: number
  /** Probability of garbage bytes before a frame, and their largest length. */
  garbageProbability: number
  garbageMaxBytes: number
  ackTimeoutMs: number
}

export interface NoisyDeviceStats {
  sends: number
  retransmits: number
  corruptedSends: number
  garbageRuns: number
  acks: number
  nacks: number
}

/**
 * The device end: sends EVENT frames one at a time and waits for the ACK, retransmitting the same
 * seq and payload after `ackTimeoutMs`. Every byte it writes also goes through a reference
 * {@link FrameDecoder}, so a test can compare the bridge's error count with what the decoder sees.
 */
export class NoisyDevice {
  readonly stats: NoisyDeviceStats = {
    sends: 0,
    retransmits: 0,
    corruptedSends: 0,
    garbageRuns: 0,
    acks: 0,
    nacks: 0,
  }
  /** Decodes exactly the bytes written, as the gateway side should see them. */
  readonly reference = new FrameDecoder()
  readonly #o: NoisyDeviceOptions
  readonly #rx = new FrameDecoder()
  #port: SerialPort | undefined
  #waiting: { seq: number; resolve: (answer: 'ack' | 'nack') => void } | undefined

  constructor(options: NoisyDeviceOptions) {
    this.#o = options
  }

  get open(): boolean {
    return this.#port?.isOpen ?? false
  }

  async openPort(): Promise<void> {
    const port = new SerialPort({ path: this.#o.path, baudRate: 115_200, autoOpen: false, hupcl: false })
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())))
    port.on('data', (chunk: Buffer) => {
      for (const ev of this.#rx.push(chunk)) {
        if (ev.kind !== 'frame') continue
        const w = this.#waiting
        if (!w || ev.frame.seq !== w.seq) continue
        if (ev.frame.type === FrameType.ACK) w.resolve('ack')
        if (ev.frame.type === FrameType.NACK) w.resolve('nack')
      }
    })
    port.on('error', () => undefined)
    port.on('close', () => {
      if (this.#port === port) this.#port = undefined
    })
    this.#port = port
  }

  /** Re-opens its end once the pty is back (the device side of an unplug). */
  async reopen(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      try {
        if (existsSync(this.#o.path)) {
          await this.openPort()
          return
        }
      } catch (error) {
        if (Date.now() > deadline) throw error
      }
      if (Date.now() > deadline) throw new Error(`${this.#o.path} did not come back within ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  async close(): Promise<void> {
    const port = this.#port
    this.#port = undefined
    if (port?.isOpen) await new Promise<void>((r) => port.close(() => r()))
  }

  async #write(bytes: Uint8Array, record: boolean): Promise<boolean> {
    const port = this.#port
    if (!port?.isOpen) return false
    if (record) this.reference.push(bytes)
    return new Promise<boolean>((resolve) => {
      port.write(Buffer.from(bytes), (e) => (e ? resolve(false) : port.drain((d) => resolve(!d))))
    })
  }

  /**
   * Sends one event until it is ACKed (or `deadline` passes), with noise. Returns the number of sends.
   * `record` says whether written bytes go to the reference decoder (off while unplugging, when
   * bytes can be lost on the way).
   */
  async sendEvent(seq: number, payload: Uint8Array, deadline: number, record = true): Promise<number> {
    const clean = encodeFrame({ type: FrameType.EVENT, seq, payload })
    const r = this.#o.random
    let sends = 0
    while (Date.now() < deadline) {
      if (!this.open) {
        await new Promise((res) => setTimeout(res, 50))
        continue
      }
      const parts: Uint8Array[] = []
      if (r() < this.#o.garbageProbability) {
        const n = 1 + Math.floor(r() * this.#o.garbageMaxBytes)
        const garbage = new Uint8Array(n)
        for (let i = 0; i < n; i++) garbage[i] = Math.floor(r() * 256)
        parts.push(garbage)
        // Usually the device's flush ends the garbage; sometimes it runs into the frame and spoils it.
        if (r() < 0.8) parts.push(new Uint8Array([0]))
        this.stats.garbageRuns++
      }
      const frame = Uint8Array.from(clean)
      const flips = flipBits(frame.subarray(0, frame.length - 1), this.#o.ber, r)
      if (flips > 0) this.stats.corruptedSends++
      parts.push(frame)
      const answer = new Promise<'ack' | 'nack' | 'timeout'>((resolve) => {
        const timer = setTimeout(() => {
          this.#waiting = undefined
          resolve('timeout')
        }, this.#o.ackTimeoutMs)
        this.#waiting = {
          seq,
          resolve: (a) => {
            clearTimeout(timer)
            this.#waiting = undefined
            resolve(a)
          },
        }
      })
      sends++
      this.stats.sends++
      if (sends > 1) this.stats.retransmits++
      const buf = Buffer.concat(parts)
      await this.#write(buf, record)
      const a = await answer
      if (a === 'ack') {
        this.stats.acks++
        return sends
      }
      if (a === 'nack') {
        this.stats.nacks++
        await new Promise((res) => setTimeout(res, 100))
      }
    }
    throw new Error(`event seq ${seq} not ACKed before the deadline after ${sends} sends`)
  }
}
