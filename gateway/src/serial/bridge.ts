/**
 * Serial bridge: one attached line (a real board on /dev/ttyUSB0, or a pty from socat or simavr).
 * Frames are decoded by contracts/ (COBS, CRC-16/CCITT-FALSE); an EVENT frame is ACKed only after
 * the gateway made it durable, NACKed (BUSY) when it could not — the device retransmits. Corrupt
 * frames are dropped and counted; the decoder re-synchronises at the next delimiter.
 *
 * The line is pinned to one device: the first HELLO (or the first valid event) names it, and every
 * later event must come from that device (anti-spoofing; the envelope alone is not proof).
 *
 * The port re-opens by itself after EIO or an unplug, with exponential backoff, for as long as the
 * bridge runs (`SerialPort.list()` never lists /dev/pts/*, so ports are opened by path).
 */
import { existsSync } from 'node:fs'
import type { Logger } from '@pedepronto/common'
import {
  ackFor,
  type Command,
  type DeviceIdentity,
  encodeCommand,
  encodeFrame,
  type Frame,
  FrameDecoder,
  FrameType,
  ID_REGEX,
  NackCode,
  nackFor,
  parseEvent,
} from '@pedepronto/contracts'
import type { SerialDelivery } from '../gateway.js'

/** The byte stream a bridge talks through (serialport in production, fakes in tests). */
export interface SerialLine {
  write(bytes: Uint8Array): Promise<void>
  close(): Promise<void>
  onData(listener: (chunk: Buffer) => void): void
  onClose(listener: (error?: Error) => void): void
}

export type OpenLine = (path: string, baudRate: number) => Promise<SerialLine>

export interface BridgeTarget {
  ingestSerial(delivery: SerialDelivery): Promise<'ack' | 'nack-busy' | 'nack-invalid'>
  registerSerialDevice(deviceId: string, deliver: ((command: Command) => Promise<boolean>) | null): void
  recordSerialFrameError(reason: string): void
}

export interface SerialBridgeOptions {
  path: string
  baudRate: number
  open: OpenLine
  target: BridgeTarget
  logger: Logger
  /** Backoff of re-opening after the line went away. */
  reopenMinMs?: number
  reopenMaxMs?: number
  /** How long a COMMAND frame waits for its ACK before it is sent again, and how often. */
  commandAckTimeoutMs?: number
  commandRetries?: number
}

export interface SerialBridgeStats {
  framesIn: number
  events: number
  duplicates: number
  acks: number
  nacks: number
  frameErrors: number
  reopens: number
  open: boolean
  deviceId: string | null
}

export class SerialBridge {
  readonly #o: SerialBridgeOptions
  readonly #decoder = new FrameDecoder()
  #line: SerialLine | undefined
  #identity: DeviceIdentity | null = null
  #stopped = false
  #reopenDelay: number
  #reopenTimer: NodeJS.Timeout | undefined
  /** The last EVENT frame ACKed: a retransmission of it is ACKed again without ingesting twice. */
  #lastAcked: { seq: number; payload: Buffer } | undefined
  /** An unparseable EVENT frame seen once: dead-lettered only if it comes again unchanged. */
  #suspect: { seq: number; payload: Buffer } | undefined
  /** Incoming frames are handled one at a time, in line order. */
  #chain: Promise<void> = Promise.resolve()
  #commandSeq = 0
  readonly #awaitingAck = new Map<number, () => void>()
  readonly stats: SerialBridgeStats = {
    framesIn: 0,
    events: 0,
    duplicates: 0,
    acks: 0,
    nacks: 0,
    frameErrors: 0,
    reopens: 0,
    open: false,
    deviceId: null,
  }

  constructor(options: SerialBridgeOptions) {
    this.#o = options
    this.#reopenDelay = options.reopenMinMs ?? 200
  }

  get identity(): DeviceIdentity | null {
    return this.#identity
  }

  async start(): Promise<void> {
    await this.#open()
  }

  async #open(): Promise<void> {
    if (this.#stopped) return
    try {
      if (!existsSync(this.#o.path)) throw new Error(`${this.#o.path} does not exist (unplugged?)`)
      const line = await this.#o.open(this.#o.path, this.#o.baudRate)
      this.#line = line
      // Half a frame from before an unplug must not be glued onto the first frame after it.
      this.#decoder.reset()
      this.stats.open = true
      this.#reopenDelay = this.#o.reopenMinMs ?? 200
      line.onData((chunk) => this.#onData(chunk))
      line.onClose((error) => {
        this.stats.open = false
        this.#line = undefined
        if (this.#identity) this.#o.target.registerSerialDevice(this.#identity.deviceId, null)
        if (!this.#stopped) {
          this.#o.logger.warn({ port: this.#o.path, error: error?.message }, 'serial line closed; re-opening')
          this.#scheduleReopen()
        }
      })
      // A leading delimiter flushes whatever half-frame the device had sent before we listened.
      await line.write(new Uint8Array([0]))
      if (this.#identity)
        this.#o.target.registerSerialDevice(this.#identity.deviceId, (c) => this.sendCommand(c))
      this.#o.logger.info({ port: this.#o.path, baud: this.#o.baudRate }, 'serial port attached')
    } catch (error) {
      this.#o.logger.warn(
        { port: this.#o.path, error: (error as Error).message },
        'cannot open serial port; retrying',
      )
      this.#scheduleReopen()
    }
  }

  #scheduleReopen(): void {
    if (this.#stopped || this.#reopenTimer) return
    const delay = this.#reopenDelay
    this.#reopenDelay = Math.min(this.#reopenDelay * 2, this.#o.reopenMaxMs ?? 5_000)
    this.#reopenTimer = setTimeout(() => {
      this.#reopenTimer = undefined
      this.stats.reopens++
      void this.#open()
    }, delay)
  }

  #onData(chunk: Buffer): void {
    for (const event of this.#decoder.push(chunk)) {
      if (event.kind === 'error') {
        this.stats.frameErrors++
        this.#o.target.recordSerialFrameError(event.reason)
        continue
      }
      this.stats.framesIn++
      const frame = event.frame
      this.#chain = this.#chain
        .then(() => this.#onFrame(frame))
        .catch((error: unknown) => {
          this.#o.logger.error(
            { port: this.#o.path, error: (error as Error).message },
            'serial frame handling failed',
          )
        })
    }
  }

  async #onFrame(frame: Frame): Promise<void> {
    switch (frame.type) {
      case FrameType.EVENT:
        return this.#onEvent(frame)
      case FrameType.HELLO:
        return this.#onHello(frame)
      case FrameType.ACK: {
        const done = this.#awaitingAck.get(frame.seq)
        done?.()
        return
      }
      case FrameType.CONFIG_ACK:
      case FrameType.NACK:
        this.#awaitingAck.get(frame.seq)?.()
        return
      default:
        // Frames a device must not send (COMMAND, CONFIG) are counted and otherwise ignored.
        this.#o.logger.debug({ type: frame.type }, 'unexpected frame type from device; ignored')
    }
  }

  #pin(identity: DeviceIdentity): boolean {
    if (this.#identity === null) {
      this.#identity = identity
      this.stats.deviceId = identity.deviceId
      this.#o.target.registerSerialDevice(identity.deviceId, (c) => this.sendCommand(c))
      this.#o.logger.info({ port: this.#o.path, ...identity }, 'serial line bound to device')
      return true
    }
    return (
      this.#identity.deviceId === identity.deviceId && this.#identity.restaurantId === identity.restaurantId
    )
  }

  async #onHello(frame: Frame): Promise<void> {
    try {
      const hello = JSON.parse(Buffer.from(frame.payload).toString('utf8')) as {
        device_id?: unknown
        restaurant_id?: unknown
      }
      if (
        typeof hello.device_id === 'string' &&
        typeof hello.restaurant_id === 'string' &&
        ID_REGEX.test(hello.device_id) &&
        ID_REGEX.test(hello.restaurant_id)
      ) {
        // A board that reboots says HELLO again; a different device on the same line is a new plug.
        if (this.#identity && this.#identity.deviceId !== hello.device_id) {
          this.#o.target.registerSerialDevice(this.#identity.deviceId, null)
          this.#identity = null
        }
        this.#pin({ deviceId: hello.device_id, restaurantId: hello.restaurant_id })
      }
    } catch {
      // A malformed HELLO binds nothing; the first valid event will.
    }
    await this.#send(encodeFrame(ackFor(frame.seq)))
  }

  async #onEvent(frame: Frame): Promise<void> {
    const payload = Buffer.from(frame.payload)
    if (this.#lastAcked && this.#lastAcked.seq === frame.seq && this.#lastAcked.payload.equals(payload)) {
      // Our ACK was lost on the line and the device sent the frame again: it is durable already.
      this.stats.duplicates++
      await this.#send(encodeFrame(ackFor(frame.seq)))
      this.stats.acks++
      return
    }
    // A payload that does not parse may be line damage the CRC let through (a CRC-16 misses some
    // multi-bit patterns): ask for the frame again once, and dead-letter it only if the device sends
    // the very same bytes a second time — then it is what the device meant to send.
    if (!parseEvent(payload).ok) {
      const suspect = this.#suspect
      if (!suspect || suspect.seq !== frame.seq || !suspect.payload.equals(payload)) {
        this.#suspect = { seq: frame.seq, payload }
        await this.#send(encodeFrame(nackFor(frame.seq, NackCode.BUSY)))
        this.stats.nacks++
        return
      }
    }
    this.#suspect = undefined
    if (this.#identity === null) {
      // Bind the line to the device its first event names, if it names one validly.
      const named = namedDevice(payload)
      if (named) this.#pin(named)
    }
    const outcome = await this.#o.target.ingestSerial({ identity: this.#identity, payload })
    this.stats.events++
    if (outcome === 'ack') {
      this.#lastAcked = { seq: frame.seq, payload }
      await this.#send(encodeFrame(ackFor(frame.seq)))
      this.stats.acks++
    } else {
      await this.#send(
        encodeFrame(nackFor(frame.seq, outcome === 'nack-busy' ? NackCode.BUSY : NackCode.INVALID_PAYLOAD)),
      )
      this.stats.nacks++
    }
  }

  async #send(bytes: Uint8Array): Promise<void> {
    const line = this.#line
    if (!line) return
    await line.write(bytes).catch((error: unknown) => {
      this.#o.logger.warn({ port: this.#o.path, error: (error as Error).message }, 'serial write failed')
    })
  }

  /** Sends a command as a COMMAND frame and waits for the device's ACK, retransmitting a few times. */
  async sendCommand(command: Command): Promise<boolean> {
    const seq = this.#commandSeq
    this.#commandSeq = (this.#commandSeq + 1) & 0xffff
    const bytes = encodeFrame({ type: FrameType.COMMAND, seq, payload: encodeCommand(command) })
    const retries = this.#o.commandRetries ?? 3
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (!this.#line) return false
      const acked = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.#awaitingAck.delete(seq)
          resolve(false)
        }, this.#o.commandAckTimeoutMs ?? 1_000)
        this.#awaitingAck.set(seq, () => {
          clearTimeout(timer)
          this.#awaitingAck.delete(seq)
          resolve(true)
        })
      })
      await this.#send(bytes)
      if (await acked) return true
    }
    return false
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#reopenTimer) clearTimeout(this.#reopenTimer)
    await this.#chain
    if (this.#identity) this.#o.target.registerSerialDevice(this.#identity.deviceId, null)
    await this.#line?.close().catch(() => undefined)
    this.#line = undefined
    this.stats.open = false
  }
}

function namedDevice(payload: Buffer): DeviceIdentity | null {
  try {
    const v = JSON.parse(payload.toString('utf8')) as { device_id?: unknown; restaurant_id?: unknown }
    if (
      typeof v.device_id === 'string' &&
      typeof v.restaurant_id === 'string' &&
      ID_REGEX.test(v.device_id) &&
      ID_REGEX.test(v.restaurant_id)
    ) {
      return { deviceId: v.device_id, restaurantId: v.restaurant_id }
    }
  } catch {
    // not JSON: the gateway dead-letters it
  }
  return null
}
