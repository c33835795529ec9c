/**
 * `pedepronto flash`: puts the reference firmware (firmware/) on a board and gives it an identity.
 *
 *   flash --board uno --port /dev/ttyACM0 IMAGE.hex    avrdude through the Uno's bootloader
 *   flash --board sim IMAGE.elf [--link PATH]          a virtual Uno (firmware/sim, libsimavr) whose
 *                                                      UART is a pty; runs until SIGINT/SIGTERM
 *   flash --provision --port P --device-id ID --restaurant R [--heartbeat-s N]
 *                                                      CONFIG frame, waits for CONFIG_ACK
 *
 * The frame layout is contracts/src/serial/frame.ts; the CONFIG keys are the ones
 * firmware/core/pp_device.c applies and echoes.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ExitCode, PedeProntoError } from '@pedepronto/common'
import { encodeFrame, FrameDecoder, FrameType, ID_REGEX, NackCode } from '@pedepronto/contracts'
import { type OpenLine, openSerialPort } from '@pedepronto/gateway'
import type { Command } from 'commander'
import type { CommandContext } from '../context.js'

/** The repository root (same depth from src/commands and dist/commands). */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** Where `make -C firmware sim-harness` and `make -C firmware avr` put their outputs. */
export const SIM_HARNESS = join(REPO_ROOT, 'firmware', 'build', 'sim', 'pp-board')
export const AVR_IMAGE_ELF = join(REPO_ROOT, 'firmware', 'build', 'avr', 'pp-device.elf')
export const AVR_IMAGE_HEX = join(REPO_ROOT, 'firmware', 'build', 'avr', 'pp-device.hex')

export interface AvrdudeOptions {
  port: string
  image: string
  /** avrdude part name; the Uno's ATmega328P. */
  part?: string
  /** Programmer: `arduino` is the Optiboot bootloader protocol (STK500v1). */
  programmer?: string
  /** Bootloader baud rate: 115200 for Optiboot on an Uno. */
  baud?: number
}

/**
 * The avrdude command line for a bootloader upload. `-D` skips the chip erase, which Optiboot cannot
 * do anyway (it erases page by page as it writes); `:i` says the image is Intel HEX.
 */
export function avrdudeArgs(o: AvrdudeOptions): string[] {
  return [
    '-p',
    o.part ?? 'atmega328p',
    '-c',
    o.programmer ?? 'arduino',
    '-P',
    o.port,
    '-b',
    String(o.baud ?? 115_200),
    '-D',
    '-U',
    `flash:w:${o.image}:i`,
  ]
}

/** The first `name` on PATH, or null. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    if (existsSync(candidate)) return candidate
  }
  return null
}

export interface FlashChecks {
  image: string | undefined
  port: string | undefined
  /** Injected for tests. */
  exists?: (path: string) => boolean
  which?: (name: string) => string | null
}

/** Everything that is wrong with a `--board uno` request, as one error (the first problem). */
export function checkUnoFlash(c: FlashChecks): { avrdude: string; image: string; port: string } {
  const exists = c.exists ?? existsSync
  const which = c.which ?? ((n: string) => findExecutable(n))
  if (!c.image) {
    throw new PedeProntoError('CLI_USAGE', 'flash --board uno needs an IMAGE.hex argument', {
      exitCode: ExitCode.USAGE,
      hint: `build one with \`make -C firmware avr\` (writes ${AVR_IMAGE_HEX})`,
    })
  }
  if (!c.image.endsWith('.hex')) {
    throw new PedeProntoError('CLI_USAGE', `flash --board uno takes an Intel HEX image, got "${c.image}"`, {
      exitCode: ExitCode.USAGE,
      hint: 'pass the .hex file next to the .elf (make -C firmware avr writes both)',
    })
  }
  if (!exists(c.image)) {
    throw new PedeProntoError('FLASH_NO_IMAGE', `firmware image ${c.image} does not exist`, {
      exitCode: ExitCode.USAGE,
      hint: 'build it with `make -C firmware avr`, or check the path',
    })
  }
  if (!c.port) {
    throw new PedeProntoError('CLI_USAGE', 'flash --board uno needs --port, e.g. --port /dev/ttyACM0', {
      exitCode: ExitCode.USAGE,
    })
  }
  if (!exists(c.port)) {
    throw new PedeProntoError('FLASH_NO_PORT', `serial port ${c.port} does not exist`, {
      exitCode: ExitCode.UNAVAILABLE,
      canRetry: true,
      hint: 'plug the board in; `ls /dev/ttyACM* /dev/ttyUSB*` lists candidates (dialout group needed)',
    })
  }
  const avrdude = which('avrdude')
  if (!avrdude) {
    throw new PedeProntoError('FLASH_NO_AVRDUDE', 'avrdude is not installed (not found on PATH)', {
      exitCode: ExitCode.UNAVAILABLE,
      hint: 'sudo apt-get install -y avrdude',
    })
  }
  return { avrdude, image: c.image, port: c.port }
}

async function flashUno(image: string | undefined, port: string | undefined, ctx: CommandContext) {
  const ok = checkUnoFlash({ image, port })
  const args = avrdudeArgs({ port: ok.port, image: ok.image })
  ctx.err(`flash: ${ok.avrdude} ${args.join(' ')}\n`)
  const r = spawnSync(ok.avrdude, args, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 120_000 })
  if (r.status !== 0) {
    throw new PedeProntoError('FLASH_AVRDUDE_FAILED', `avrdude exited with ${r.status ?? r.signal}`, {
      exitCode: ExitCode.UNAVAILABLE,
      canRetry: true,
      hint: 'press reset just before the upload on boards without auto-reset; check the port and -b rate',
    })
  }
  ctx.out(`flashed ${ok.image} to ${ok.port}\n`)
}

export interface SimBoard {
  process: ChildProcess
  /** The pty (e.g. /dev/pts/4). */
  pty: string
  /** The symlink to it, when one was asked for; the stable name to attach to. */
  link: string | undefined
  /** Everything the harness printed (for failure messages). */
  log(): string
  /** SIGKILL: the board is unplugged (its pty disappears). */
  kill(): Promise<void>
  /** SIGTERM: EEPROM saved, link removed. */
  stop(): Promise<void>
}

export interface SimBoardOptions {
  image: string
  link?: string
  eeprom?: string
  harness?: string
  timeoutMs?: number
}

/** Starts firmware/sim's harness on `image` and resolves once its pty (and link) exist. */
export async function startSimBoard(o: SimBoardOptions): Promise<SimBoard> {
  const harness = o.harness ?? SIM_HARNESS
  if (!existsSync(harness)) {
    throw new PedeProntoError('FLASH_NO_SIM', `the simavr board harness ${harness} is not built`, {
      exitCode: ExitCode.UNAVAILABLE,
      hint: 'make -C firmware sim-harness (needs libsimavr-dev and libelf-dev)',
    })
  }
  if (!existsSync(o.image)) {
    throw new PedeProntoError('FLASH_NO_IMAGE', `firmware image ${o.image} does not exist`, {
      exitCode: ExitCode.USAGE,
      hint: 'build it with `make -C firmware avr`',
    })
  }
  const args = [o.image]
  if (o.link) args.push('--link', o.link)
  if (o.eeprom) args.push('--eeprom', o.eeprom)
  const child = spawn(harness, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const pty = await new Promise<string>((resolve, reject) => {
    const deadline = Date.now() + (o.timeoutMs ?? 10_000)
    const tick = setInterval(() => {
      const port = /pp-board: port (\S+)/.exec(out)?.[1]
      if (port && (!o.link || existsSync(o.link))) {
        clearInterval(tick)
        resolve(port)
      } else if (child.exitCode !== null || Date.now() > deadline) {
        clearInterval(tick)
        child.kill('SIGKILL')
        reject(
          new PedeProntoError(
            'FLASH_SIM_FAILED',
            `the simavr board did not come up: ${out.trim().slice(-500)}`,
            {
              exitCode: ExitCode.UNAVAILABLE,
            },
          ),
        )
      }
    }, 20)
  })
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    await exited
  }
  return {
    process: child,
    pty,
    link: o.link,
    log: () => out,
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  }
}

async function flashSim(
  image: string | undefined,
  link: string | undefined,
  eeprom: string | undefined,
  ctx: CommandContext,
) {
  const board = await startSimBoard({ image: image ?? AVR_IMAGE_ELF, link, eeprom })
  ctx.out(`${board.link ?? board.pty}\n`)
  ctx.err(
    `flash: virtual ATmega328P running ${image ?? AVR_IMAGE_ELF} on ${board.pty}` +
      `${board.link ? ` (link ${board.link})` : ''}; Ctrl-C to unplug\n`,
  )
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    board.process.once('exit', stop)
  })
  await board.stop()
}

export interface ProvisionOptions {
  port: string
  deviceId: string
  restaurantId: string
  heartbeatS?: number
  telemetryS?: number
  orderS?: number
  /** Wall clock for boards without an RTC; defaults to now. */
  epochMs?: number
  baud?: number
  /** How long to wait for the CONFIG_ACK of one attempt, and how many attempts. */
  ackTimeoutMs?: number
  attempts?: number
  open?: OpenLine
}

/** The settings a device applied, as its CONFIG_ACK echoes them. */
export interface AppliedSettings {
  device_id: string
  restaurant_id: string
  heartbeat_s: number
  telemetry_s?: number
  order_s?: number
}

export interface ProvisionResult {
  applied: AppliedSettings
  attempts: number
  ms: number
}

/** The CONFIG payload (JSON keys as firmware/core/pp_device.c reads them). */
export function configPayload(o: ProvisionOptions): Record<string, string | number> {
  const problems: string[] = []
  if (!ID_REGEX.test(o.deviceId)) problems.push(`--device-id "${o.deviceId}" is not a lowercase id`)
  if (!ID_REGEX.test(o.restaurantId)) problems.push(`--restaurant "${o.restaurantId}" is not a lowercase id`)
  // The firmware keeps ids in 40 bytes (PP_ID_MAX) so that order ids built from them fit 64.
  if (o.deviceId.length > 40) problems.push('--device-id is longer than the firmware takes (40)')
  if (o.restaurantId.length > 40) problems.push('--restaurant is longer than the firmware takes (40)')
  for (const [flag, v] of [
    ['--heartbeat-s', o.heartbeatS],
    ['--telemetry-s', o.telemetryS],
    ['--order-s', o.orderS],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < (flag === '--heartbeat-s' ? 1 : 0) || v > 65_535)) {
      problems.push(`${flag} must be an integer up to 65535${flag === '--heartbeat-s' ? ', at least 1' : ''}`)
    }
  }
  if (problems.length > 0) {
    throw new PedeProntoError('CLI_USAGE', problems.join('; '), { exitCode: ExitCode.USAGE })
  }
  const payload: Record<string, string | number> = {
    device_id: o.deviceId,
    restaurant_id: o.restaurantId,
  }
  if (o.heartbeatS !== undefined) payload.heartbeat_s = o.heartbeatS
  if (o.telemetryS !== undefined) payload.telemetry_s = o.telemetryS
  if (o.orderS !== undefined) payload.order_s = o.orderS
  payload.epoch_ms = o.epochMs ?? Date.now()
  return payload
}

/**
 * Sends CONFIG and waits for the CONFIG_ACK carrying the same seq, resending after each timeout
 * (the board may be busy transmitting, or booting). Events the device sends meanwhile are not
 * ACKed: only the gateway may ACK them, once they are durable.
 */
export async function provisionDevice(o: ProvisionOptions): Promise<ProvisionResult> {
  const payload = Buffer.from(JSON.stringify(configPayload(o)))
  if (!existsSync(o.port) && o.open === undefined) {
    throw new PedeProntoError('FLASH_NO_PORT', `serial port ${o.port} does not exist`, {
      exitCode: ExitCode.UNAVAILABLE,
      canRetry: true,
      hint: 'plug the board in (or start `pedepronto flash --board sim`) and pass its port',
    })
  }
  const open = o.open ?? openSerialPort
  const line = await open(o.port, o.baud ?? 115_200)
  const started = Date.now()
  const seq = (started & 0x7fff) | 0x8000
  const decoder = new FrameDecoder()
  let answer: ((r: { ok: true; payload: Buffer } | { ok: false; code: number }) => void) | undefined
  line.onData((chunk) => {
    for (const e of decoder.push(chunk)) {
      if (e.kind !== 'frame' || e.frame.seq !== seq) continue
      if (e.frame.type === FrameType.CONFIG_ACK) answer?.({ ok: true, payload: Buffer.from(e.frame.payload) })
      if (e.frame.type === FrameType.NACK && e.frame.payload.length === 1)
        answer?.({ ok: false, code: e.frame.payload[0] as number })
    }
  })
  try {
    const frame = encodeFrame({ type: FrameType.CONFIG, seq, payload })
    const attempts = o.attempts ?? 5
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const reply = new Promise<{ ok: true; payload: Buffer } | { ok: false; code: number } | null>(
        (resolve) => {
          const timer = setTimeout(() => resolve(null), o.ackTimeoutMs ?? 1_500)
          answer = (r) => {
            clearTimeout(timer)
            resolve(r)
          }
        },
      )
      // The leading 0x00 ends whatever half frame the board's decoder held (frame.ts).
      await line.write(Buffer.concat([Buffer.of(0), frame]))
      const r = await reply
      if (r === null) continue
      if (!r.ok) {
        throw new PedeProntoError(
          'FLASH_CONFIG_REJECTED',
          `the device refused the configuration (NACK ${r.code === NackCode.INVALID_PAYLOAD ? 'INVALID_PAYLOAD' : r.code})`,
          { exitCode: ExitCode.DATA, hint: 'check the ids (lowercase, at most 40 characters) and intervals' },
        )
      }
      const applied = JSON.parse(r.payload.toString('utf8')) as AppliedSettings
      if (applied.device_id !== o.deviceId || applied.restaurant_id !== o.restaurantId) {
        throw new PedeProntoError(
          'FLASH_CONFIG_MISMATCH',
          `the device applied ${applied.restaurant_id}/${applied.device_id}, not ${o.restaurantId}/${o.deviceId}`,
          { exitCode: ExitCode.DATA },
        )
      }
      return { applied, attempts: attempt, ms: Date.now() - started }
    }
    throw new PedeProntoError(
      'FLASH_NO_CONFIG_ACK',
      `no CONFIG_ACK from ${o.port} after ${attempts} attempts`,
      {
        exitCode: ExitCode.UNAVAILABLE,
        canRetry: true,
        hint: 'is the firmware running and the baud rate right? stop `pedepronto attach` on that port first',
      },
    )
  } finally {
    answer = undefined
    await line.close()
  }
}

interface FlashOptions {
  board?: string
  port?: string
  link?: string
  eeprom?: string
  provision?: boolean
  deviceId?: string
  restaurant?: string
  heartbeatS?: string
  telemetryS?: string
  orderS?: string
  baud: string
}

function intFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n)) {
    throw new PedeProntoError('CLI_USAGE', `${name} must be an integer, got "${value}"`, {
      exitCode: ExitCode.USAGE,
    })
  }
  return n
}

export function addFlashCommand(program: Command, ctx: CommandContext): void {
  program
    .command('flash')
    .description(
      'flash the reference firmware to an Uno (avrdude) or a virtual one (simavr), or provision it',
    )
    .argument('[image]', 'firmware image: .hex for --board uno, .elf for --board sim')
    .option('--board <board>', 'uno | sim')
    .option('--port <path>', 'serial port of the board (uno, --provision)')
    .option('--link <path>', 'sim: a symlink to the pty, a stable name to attach to')
    .option('--eeprom <file>', 'sim: keep the EEPROM in this file across restarts')
    .option('--provision', 'send a CONFIG frame and wait for the CONFIG_ACK')
    .option('--device-id <id>', 'provision: device id')
    .option('--restaurant <id>', 'provision: restaurant id')
    .option('--heartbeat-s <n>', 'provision: heartbeat interval in seconds')
    .option('--telemetry-s <n>', 'provision: telemetry interval in seconds (0: off)')
    .option('--order-s <n>', 'provision: seconds between order steps (0: button only)')
    .option('--baud <rate>', 'provision: baud rate', '115200')
    .action(async (image: string | undefined, o: FlashOptions) => {
      if (o.provision) {
        if (!o.port || !o.deviceId || !o.restaurant) {
          throw new PedeProntoError(
            'CLI_USAGE',
            'flash --provision needs --port, --device-id and --restaurant',
            {
              exitCode: ExitCode.USAGE,
            },
          )
        }
        const r = await provisionDevice({
          port: o.port,
          deviceId: o.deviceId,
          restaurantId: o.restaurant,
          heartbeatS: intFlag('--heartbeat-s', o.heartbeatS),
          telemetryS: intFlag('--telemetry-s', o.telemetryS),
          orderS: intFlag('--order-s', o.orderS),
          baud: intFlag('--baud', o.baud),
        })
        ctx.out(`${JSON.stringify(r.applied)}\n`)
        ctx.err(`flash: ${o.port} provisioned in ${r.ms} ms (${r.attempts} attempt(s))\n`)
        return
      }
      if (o.board === 'uno') return flashUno(image, o.port, ctx)
      if (o.board === 'sim') return flashSim(image, o.link, o.eeprom, ctx)
      throw new PedeProntoError('CLI_USAGE', `--board must be uno or sim, got "${o.board ?? ''}"`, {
        exitCode: ExitCode.USAGE,
        hint: 'pedepronto flash --board sim firmware/build/avr/pp-device.elf --link /tmp/pp-uno',
      })
    })
}
