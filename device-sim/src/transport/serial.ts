/**
 * Serial adapter (serialport v13) behind DeviceTransport: one port carries one device. Frames are
 * the contracts' COBS + CRC-16 frames; every EVENT waits for the ACK frame with its seq and is
 * retransmitted (same seq, same bytes) until it comes, stop-and-wait, so order on the line is the
 * firmware's order. Optional line noise (bit flips at a bit error rate, garbage bytes) is applied to
 * the bytes as they leave, from a seeded stream, to exercise the receiver's CRC and re-sync.
 */
import type { Random } from '@pedepronto/common'
import { ackFor, encodeFrame, type Frame, FrameDecoder, FrameType, NackCode } from '@pedepronto/contracts'
import { SerialPort } from 'serialport'
import { SimError } from '../errors.js'
import type { DeviceTransport, OutboundMessage } from './types.js'

export interface SerialNoise {
  /** Probability that any one bit sent is flipped. */
  ber: number
  /** Per frame, probability of 1–8 garbage bytes written before it. */
  garbage: number
  random: Random
}

export interface SerialTransportOptions {
  path: string
  baudRate?: number
  deviceId: string
  restaurantId: string
  firmware: string
  ackTimeoutMs?: number
  /** Retransmissions of one frame before publish rejects with SIM_ACK_TIMEOUT. */
  maxRetransmits?: number
  noise?: SerialNoise
}

export interface SerialStats {
  framesSent: number
  retransmits: number
  acks: number
  nacks: number
  bitsFlipped: number
  garbageBytes: number
  commands: number
  decodeErrors: number
}

interface Waiter {
  seq: number
  resolve: () => void
  reject: (error: Error) => void
  nack: (code: number) => void
}

export class SerialTransport implements DeviceTransport {
  readonly kind = 'serial' as const
  readonly stats: SerialStats = {
    framesSent: 0,
    retransmits: 0,
    acks: 0,
    nacks: 0,
    bitsFlipped: 0,
    garbageBytes: 0,
    commands: 0,
    decodeErrors: 0,
  }
  readonly #o: SerialTransportOptions
  #port: SerialPort | undefined
  readonly #decoder = new FrameDecoder()
  #seq = 0
  #waiter: Waiter | undefined
  // Stop-and-wait: each publish chains on the previous one.
  #chain: Promise<unknown> = Promise.resolve()
  #commandHandler: (payload: Uint8Array, topic: string) => void = () => {}
  #disconnectHandler: (error: Error) => void = () => {}
  #closed = false

  constructor(options: SerialTransportOptions) {
    this.#o = options
  }

  async connect(): Promise<void> {
    const o = this.#o
    const port = new SerialPort({ path: o.path, baudRate: o.baudRate ?? 115_200, autoOpen: false })
    await new Promise<void>((resolve, reject) =>
      port.open((error) =>
        error
          ? reject(
              new SimError('SIM_CONNECT_FAILED', `cannot open serial port ${o.path}: ${error.message}`, {
                cause: error,
                canRetry: true,
                hint: 'check the path (ptys are opened by path; SerialPort.list() does not list /dev/pts/*)',
              }),
            )
          : resolve(),
      ),
    )
    this.#port = port
    this.#decoder.reset()
    port.on('data', (chunk: Buffer) => this.#onData(chunk))
    port.on('error', () => {})
    port.once('close', () => this.#lost(port, new Error(`serial port ${o.path} closed`)))
    const hello = JSON.stringify({
      device_id: o.deviceId,
      restaurant_id: o.restaurantId,
      firmware: o.firmware,
    })
    await this.#send(FrameType.HELLO, new TextEncoder().encode(hello))
  }

  publish(message: OutboundMessage): Promise<void> {
    const next = this.#chain.then(() => this.#send(FrameType.EVENT, message.payload))
    this.#chain = next.catch(() => {})
    return next
  }

  onCommand(handler: (payload: Uint8Array, topic: string) => void): void {
    this.#commandHandler = handler
  }

  onDisconnect(handler: (error: Error) => void): void {
    this.#disconnectHandler = handler
  }

  drop(): void {
    const port = this.#port
    if (port?.isOpen) port.close()
  }

  async close(): Promise<void> {
    this.#closed = true
    const port = this.#port
    this.#port = undefined
    this.#waiter?.reject(new SimError('SIM_CLOSED', 'transport closed'))
    this.#waiter = undefined
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()))
  }

  async #send(type: FrameType, payload: Uint8Array): Promise<void> {
    const seq = this.#seq
    this.#seq = (this.#seq + 1) & 0xffff
    const bytes = encodeFrame({ type, seq, payload })
    const timeout = this.#o.ackTimeoutMs ?? 500
    const max = this.#o.maxRetransmits ?? 20
    for (let attempt = 0; ; attempt++) {
      const port = this.#port
      if (port === undefined || !port.isOpen)
        throw new SimError('SIM_DISCONNECTED', `serial port ${this.#o.path} is not open`, { canRetry: true })
      if (attempt > 0) this.stats.retransmits++
      const outcome = await new Promise<'ack' | 'timeout' | number>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.#waiter = undefined
          resolve('timeout')
        }, timeout)
        this.#waiter = {
          seq,
          resolve: () => {
            clearTimeout(timer)
            resolve('ack')
          },
          reject: (error) => {
            clearTimeout(timer)
            reject(error)
          },
          nack: (code) => {
            clearTimeout(timer)
            resolve(code)
          },
        }
        this.#write(port, bytes)
      })
      this.#waiter = undefined
      if (outcome === 'ack') return
      if (outcome === NackCode.INVALID_PAYLOAD) {
        throw new SimError('SIM_REJECTED', `gateway rejected frame seq ${seq} as invalid`, {
          canRetry: false,
        })
      }
      if (attempt >= max) {
        throw new SimError('SIM_ACK_TIMEOUT', `no ACK for frame seq ${seq} after ${attempt + 1} sends`, {
          canRetry: true,
        })
      }
    }
  }

  #write(port: SerialPort, frame: Uint8Array): void {
    this.stats.framesSent++
    const noise = this.#o.noise
    // A leading delimiter flushes any noise the receiver holds, so one bad run costs one frame.
    let out = new Uint8Array(frame.length + 1)
    out.set(frame, 1)
    if (noise !== undefined) {
      if (noise.garbage > 0 && noise.random() < noise.garbage) {
        const n = 1 + Math.floor(noise.random() * 8)
        const g = new Uint8Array(n + out.length)
        for (let i = 0; i < n; i++) g[i] = 1 + Math.floor(noise.random() * 255)
        g.set(out, n)
        out = g
        this.stats.garbageBytes += n
      }
      if (noise.ber > 0) this.stats.bitsFlipped += flipBits(out, noise.ber, noise.random)
    }
    port.write(Buffer.from(out))
  }

  #onData(chunk: Buffer): void {
    for (const ev of this.#decoder.push(chunk)) {
      if (ev.kind === 'error') {
        this.stats.decodeErrors++
        continue
      }
      this.#onFrame(ev.frame)
    }
  }

  #onFrame(frame: Frame): void {
    const w = this.#waiter
    switch (frame.type) {
      case FrameType.ACK:
        // Exact length check (frame.ts "Known limitation"): an ACK carries no payload.
        if (frame.payload.length !== 0) return
        this.stats.acks++
        if (w && w.seq === frame.seq) w.resolve()
        return
      case FrameType.NACK:
        if (frame.payload.length !== 1) return
        this.stats.nacks++
        if (w && w.seq === frame.seq) w.nack(frame.payload[0]!)
        return
      case FrameType.COMMAND: {
        this.stats.commands++
        const port = this.#port
        if (port) this.#write(port, encodeFrame(ackFor(frame.seq)))
        this.#commandHandler(frame.payload, `serial:${this.#o.path}`)
        return
      }
      default:
        return
    }
  }

  #lost(port: SerialPort, error: Error): void {
    if (this.#port !== port) return
    this.#port = undefined
    this.#waiter?.reject(new SimError('SIM_DISCONNECTED', error.message, { canRetry: true }))
    this.#waiter = undefined
    if (!this.#closed) this.#disconnectHandler(error)
  }
}

/** Flips each bit with probability `ber`, by geometric skips (one draw per flip, not per bit). */
export function flipBits(bytes: Uint8Array, ber: number, random: Random): number {
  if (ber <= 0) return 0
  const bits = bytes.length * 8
  let flipped = 0
  let pos = -1
  for (;;) {
    pos += 1 + Math.floor(Math.log(1 - random()) / Math.log(1 - Math.min(ber, 0.999999)))
    if (pos >= bits) return flipped
    bytes[pos >> 3]! ^= 1 << (pos & 7)
    flipped++
  }
}
