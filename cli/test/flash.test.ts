/**
 * `pedepronto flash` without a board: the avrdude command line, the checks that turn a missing
 * tool, image or port into one clear error, and the CONFIG/CONFIG_ACK exchange of --provision
 * against a scripted device on a fake line.
 */
import { isPedeProntoError } from '@pedepronto/common'
import { encodeFrame, FrameDecoder, FrameType, NackCode, nackFor } from '@pedepronto/contracts'
import type { SerialLine } from '@pedepronto/gateway'
import { describe, expect, it } from 'vitest'
import { avrdudeArgs, checkUnoFlash, configPayload, provisionDevice } from '../src/commands/flash.js'

function caught(fn: () => unknown): { code: string; exitCode: number; message: string } {
  try {
    fn()
  } catch (error) {
    if (isPedeProntoError(error))
      return { code: error.code, exitCode: error.exitCode, message: error.message }
    throw error
  }
  throw new Error('expected a PedeProntoError')
}

describe('avrdudeArgs', () => {
  it('uploads Intel HEX through the Uno bootloader without a chip erase', () => {
    expect(avrdudeArgs({ port: '/dev/ttyACM0', image: 'fw.hex' })).toEqual([
      '-p',
      'atmega328p',
      '-c',
      'arduino',
      '-P',
      '/dev/ttyACM0',
      '-b',
      '115200',
      '-D',
      '-U',
      'flash:w:fw.hex:i',
    ])
  })

  it('takes another part, programmer and rate', () => {
    const args = avrdudeArgs({
      port: 'COM3',
      image: 'a.hex',
      part: 'm2560',
      programmer: 'wiring',
      baud: 57_600,
    })
    expect(args.slice(0, 8)).toEqual(['-p', 'm2560', '-c', 'wiring', '-P', 'COM3', '-b', '57600'])
  })
})

describe('checkUnoFlash', () => {
  const all = { exists: () => true, which: () => '/usr/bin/avrdude' }

  it('passes when image, port and avrdude are there', () => {
    expect(checkUnoFlash({ image: 'fw.hex', port: '/dev/ttyACM0', ...all })).toEqual({
      avrdude: '/usr/bin/avrdude',
      image: 'fw.hex',
      port: '/dev/ttyACM0',
    })
  })

  it('exits 64 without an image, with a non-hex image, or with an image that does not exist', () => {
    expect(caught(() => checkUnoFlash({ image: undefined, port: '/dev/ttyACM0', ...all }))).toMatchObject({
      code: 'CLI_USAGE',
      exitCode: 64,
    })
    expect(caught(() => checkUnoFlash({ image: 'fw.elf', port: 'p', ...all })).message).toContain('Intel HEX')
    const missing = caught(() =>
      checkUnoFlash({ image: 'nope.hex', port: 'p', exists: (p) => p !== 'nope.hex', which: all.which }),
    )
    expect(missing).toMatchObject({ code: 'FLASH_NO_IMAGE', exitCode: 64 })
    expect(missing.message).toContain('nope.hex')
  })

  it('exits 69 when the port or avrdude is missing', () => {
    expect(
      caught(() =>
        checkUnoFlash({
          image: 'fw.hex',
          port: '/dev/ttyACM9',
          exists: (p) => p === 'fw.hex',
          which: all.which,
        }),
      ),
    ).toMatchObject({ code: 'FLASH_NO_PORT', exitCode: 69 })
    expect(
      caught(() =>
        checkUnoFlash({ image: 'fw.hex', port: '/dev/ttyACM0', exists: () => true, which: () => null }),
      ),
    ).toMatchObject({ code: 'FLASH_NO_AVRDUDE', exitCode: 69 })
  })
})

describe('configPayload', () => {
  it('carries ids, intervals and the wall clock', () => {
    expect(
      configPayload({
        port: 'p',
        deviceId: 'kt-1',
        restaurantId: 'r-1',
        heartbeatS: 5,
        epochMs: 1_750_000_000_000,
      }),
    ).toEqual({ device_id: 'kt-1', restaurant_id: 'r-1', heartbeat_s: 5, epoch_ms: 1_750_000_000_000 })
  })

  it('reports every bad field at once', () => {
    const e = caught(() =>
      configPayload({ port: 'p', deviceId: 'Kitchen 1', restaurantId: 'r'.repeat(41), heartbeatS: 0 }),
    )
    expect(e.exitCode).toBe(64)
    expect(e.message).toContain('--device-id "Kitchen 1"')
    expect(e.message).toContain('--restaurant is longer')
    expect(e.message).toContain('--heartbeat-s')
  })
})

/** A device on the other end of a fake line: answers CONFIG the way firmware/core/pp_device.c does. */
function fakeDevice(behaviour: { ignoreFirst?: number; nack?: boolean; wrongId?: boolean }) {
  let onData: ((chunk: Buffer) => void) | undefined
  const decoder = new FrameDecoder()
  let configs = 0
  let closed = false
  const line: SerialLine = {
    async write(bytes) {
      for (const e of decoder.push(bytes)) {
        if (e.kind !== 'frame' || e.frame.type !== FrameType.CONFIG) continue
        configs++
        if (configs <= (behaviour.ignoreFirst ?? 0)) continue
        const cfg = JSON.parse(Buffer.from(e.frame.payload).toString()) as Record<string, unknown>
        const reply = behaviour.nack
          ? encodeFrame(nackFor(e.frame.seq, NackCode.INVALID_PAYLOAD))
          : encodeFrame({
              type: FrameType.CONFIG_ACK,
              seq: e.frame.seq,
              payload: Buffer.from(
                JSON.stringify({
                  device_id: behaviour.wrongId ? 'other' : cfg.device_id,
                  restaurant_id: cfg.restaurant_id,
                  heartbeat_s: cfg.heartbeat_s ?? 10,
                  telemetry_s: 10,
                  order_s: 15,
                }),
              ),
            })
        // An unrelated event frame first: the provisioner must skip it and not ACK it.
        const noise = encodeFrame({ type: FrameType.EVENT, seq: 9, payload: Buffer.from('{}') })
        setTimeout(() => onData?.(Buffer.concat([noise, reply])), 5)
      }
    },
    async close() {
      closed = true
    },
    onData(listener) {
      onData = listener
    },
    onClose() {},
  }
  return { line, configs: () => configs, closed: () => closed }
}

describe('provisionDevice', () => {
  it('sends CONFIG and returns the settings the device echoes', async () => {
    const dev = fakeDevice({})
    const r = await provisionDevice({
      port: '/fake',
      deviceId: 'kt-7',
      restaurantId: 'rest-3',
      heartbeatS: 2,
      open: async () => dev.line,
    })
    expect(r.applied).toEqual({
      device_id: 'kt-7',
      restaurant_id: 'rest-3',
      heartbeat_s: 2,
      telemetry_s: 10,
      order_s: 15,
    })
    expect(r.attempts).toBe(1)
    expect(dev.closed()).toBe(true)
  })

  it('resends after a timeout', async () => {
    const dev = fakeDevice({ ignoreFirst: 2 })
    const r = await provisionDevice({
      port: '/fake',
      deviceId: 'kt-7',
      restaurantId: 'rest-3',
      ackTimeoutMs: 50,
      open: async () => dev.line,
    })
    expect(r.attempts).toBe(3)
    expect(dev.configs()).toBe(3)
  })

  it('fails clearly on a NACK, a mismatch, or silence', async () => {
    const opts = { port: '/fake', deviceId: 'kt-7', restaurantId: 'rest-3', ackTimeoutMs: 30, attempts: 2 }
    await expect(
      provisionDevice({ ...opts, open: async () => fakeDevice({ nack: true }).line }),
    ).rejects.toMatchObject({
      code: 'FLASH_CONFIG_REJECTED',
      exitCode: 65,
    })
    await expect(
      provisionDevice({ ...opts, open: async () => fakeDevice({ wrongId: true }).line }),
    ).rejects.toMatchObject({ code: 'FLASH_CONFIG_MISMATCH' })
    const silent = fakeDevice({ ignoreFirst: 99 })
    await expect(provisionDevice({ ...opts, open: async () => silent.line })).rejects.toMatchObject({
      code: 'FLASH_NO_CONFIG_ACK',
      exitCode: 69,
    })
    expect(silent.configs()).toBe(2)
    expect(silent.closed()).toBe(true)
  })

  it('refuses a port that does not exist', async () => {
    await expect(
      provisionDevice({ port: '/dev/pp-no-such-port', deviceId: 'kt-1', restaurantId: 'r-1' }),
    ).rejects.toMatchObject({ code: 'FLASH_NO_PORT', exitCode: 69 })
  })
})
