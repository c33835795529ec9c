import {
  ackFor,
  type DeviceEvent,
  encodeFrame,
  FrameDecoder,
  FrameType,
  validateEvent,
} from '@pedepronto/contracts'
import { SerialPort } from 'serialport'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceRandom, makeScenario, runLive, SerialTransport } from '../../src/index.js'
import { PtyPair } from '../helpers.js'

describe('serial transport over a socat pty pair', () => {
  const pty = new PtyPair()
  beforeAll(async () => {
    await pty.start()
  })
  afterAll(async () => {
    await pty.destroy()
  })

  it('retransmits until ACKed, through line noise, and every event arrives once in order', async () => {
    // The gateway side: decode, drop every 4th ACK (forcing a retransmit), ACK the rest.
    const peer = new SerialPort({ path: pty.b, baudRate: 115_200 })
    await new Promise<void>((resolve, reject) => peer.once('open', resolve).once('error', reject))
    const decoder = new FrameDecoder()
    const received: DeviceEvent[] = []
    let hello: unknown
    let frames = 0
    let droppedAcks = 0
    peer.on('data', (chunk: Buffer) => {
      for (const ev of decoder.push(chunk)) {
        if (ev.kind !== 'frame') continue
        frames++
        if (ev.frame.type === FrameType.HELLO) hello = JSON.parse(Buffer.from(ev.frame.payload).toString())
        if (ev.frame.type === FrameType.EVENT)
          received.push(JSON.parse(Buffer.from(ev.frame.payload).toString()))
        if (frames % 4 === 0) {
          droppedAcks++
          continue
        }
        peer.write(Buffer.from(encodeFrame(ackFor(ev.frame.seq))))
      }
    })
    const scenario = makeScenario({
      seed: 8,
      restaurants: 1,
      devicesPerRestaurant: 2,
      ratePerS: 2,
      durationMs: 40_000,
    })
    const sent: DeviceEvent[] = []
    let transport: SerialTransport | undefined
    const summary = await runLive({
      scenario,
      speed: 0,
      window: 1,
      transportFor: (spec) => {
        if (spec.index !== 1) return null
        transport = new SerialTransport({
          path: pty.a,
          deviceId: spec.deviceId,
          restaurantId: spec.restaurantId,
          firmware: spec.firmware,
          ackTimeoutMs: 80,
          noise: { ber: 2e-4, garbage: 0.05, random: deviceRandom(8, 1, 4) },
        })
        return transport
      },
      onEmission: (e) => {
        if (e.kind === 'event' && e.device === 1) sent.push(e.event)
      },
    })
    await new Promise<void>((r) => peer.close(() => r()))
    expect(summary.drained).toBe(true)
    expect(sent.length).toBeGreaterThan(40)
    expect(hello).toEqual({
      device_id: 'r0001-kiosk-001',
      restaurant_id: 'rest-0001',
      firmware: 'kiosk-3.1.0',
    })
    const firstSeen: DeviceEvent[] = []
    const ids = new Set<string>()
    for (const e of received) {
      if (!ids.has(e.event_id)) firstSeen.push(e)
      ids.add(e.event_id)
    }
    expect(firstSeen.map((e) => e.event_id)).toEqual(sent.map((e) => e.event_id))
    for (const e of firstSeen) expect(validateEvent(e).ok).toBe(true)
    const s = transport!.stats
    expect(droppedAcks).toBeGreaterThan(5)
    expect(s.retransmits).toBeGreaterThanOrEqual(droppedAcks)
    expect(s.bitsFlipped + s.garbageBytes).toBeGreaterThan(0)
    expect(
      decoder.stats.errors.crc + decoder.stats.errors.cobs + decoder.stats.errors.too_short,
    ).toBeGreaterThan(0)
    expect(summary.stats.acked).toBe(sent.length)
  })
})
