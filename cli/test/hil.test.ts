/**
 * Hardware in the loop, with the board virtual: the AVR image (firmware/avr) runs on libsimavr
 * (firmware/sim, paced to the wall clock) with its UART on a pty; `pedepronto attach` (a child
 * process, the built dist/) bridges the pty into Kafka. The board is provisioned over the line
 * first (CONFIG → CONFIG_ACK, stored in its EEPROM), then unplugged (SIGKILL: the pty disappears)
 * and plugged back in; the gateway must re-attach by itself and nothing it acknowledged may be lost.
 *
 * Also runs `make -C firmware test` (the C codec against contracts/vectors/serial-frames.json and
 * the device model), so `npm test` covers the C side.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type IngestedEvent, KAFKA_TOPICS, parseIngestedEvent, topicName } from '@pedepronto/contracts'
import { uniqueName } from '@pedepronto/infra'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  AVR_IMAGE_ELF,
  findExecutable,
  provisionDevice,
  type SimBoard,
  startSimBoard,
} from '../src/commands/flash.js'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const FIRMWARE = join(REPO_ROOT, 'firmware')
const BIN = join(REPO_ROOT, 'cli', 'bin', 'pedepronto.js')

const haveCc = findExecutable('make') !== null && findExecutable('cc') !== null
const haveAvr =
  haveCc &&
  findExecutable('avr-gcc') !== null &&
  findExecutable('kcat') !== null &&
  existsSync('/usr/include/simavr/sim_avr.h')

const cleanups: (() => Promise<unknown> | unknown)[] = []
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined)
}, 30_000)

describe.skipIf(!haveCc)('firmware unit tests (make -C firmware test)', () => {
  it('the C codec agrees with the shared vectors and the device model passes', () => {
    const r = spawnSync('make', ['-s', '-C', FIRMWARE, 'test'], { encoding: 'utf8', timeout: 120_000 })
    const out = `${r.stdout}${r.stderr}`
    expect(r.status, out).toBe(0)
    const totals = [...out.matchAll(/^(\d+) passed, (\d+) failed$/gm)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ])
    expect(totals).toHaveLength(2)
    // test_vectors: every crc, cobs, frame, invalid and stream vector, several checks each.
    expect(totals[0]?.[0]).toBeGreaterThan(100)
    expect(totals.every(([, failed]) => failed === 0)).toBe(true)
  }, 130_000)
})

interface ChildGateway {
  child: ChildProcess
  log(): string
  exited: Promise<string>
}

function startAttach(port: string, flags: Record<string, string>): ChildGateway {
  const args = [BIN, 'attach', port]
  for (const [k, v] of Object.entries(flags)) args.push(`--${k}`, v)
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PEDEPRONTO_LOG_LEVEL: 'warn' },
  })
  let log = ''
  child.stdout?.on('data', (d: Buffer) => {
    log += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString()
  })
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code === null ? `signal ${signal}` : `exit ${code}`)),
  )
  return { child, log: () => log, exited }
}

async function stopChild(gw: ChildGateway, timeoutMs = 20_000): Promise<string> {
  if (gw.child.exitCode !== null || gw.child.signalCode !== null) return gw.exited
  gw.child.kill('SIGTERM')
  const timer = setTimeout(() => gw.child.kill('SIGKILL'), timeoutMs)
  const how = await gw.exited
  clearTimeout(timer)
  return how
}

interface Read {
  /** Per topic, the records of our device in offset order (one key, one partition: telemetry). */
  telemetry: IngestedEvent[]
  orders: IngestedEvent[]
  records: number
  invalid: string[]
}

function readEvents(brokers: string[], prefix: string, deviceId: string): Read {
  const out: Read = { telemetry: [], orders: [], records: 0, invalid: [] }
  for (const [name, list] of [
    [KAFKA_TOPICS.telemetry.name, out.telemetry],
    [KAFKA_TOPICS.orders.name, out.orders],
  ] as const) {
    const r = spawnSync(
      'kcat',
      [
        '-C',
        '-b',
        brokers.join(','),
        '-t',
        topicName(name, prefix),
        '-o',
        'beginning',
        '-e',
        '-q',
        '-f',
        '%s\n',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    )
    if (r.status !== 0) continue // the topic is created when the gateway starts
    for (const line of r.stdout.split('\n')) {
      if (line === '') continue
      out.records++
      const parsed = parseIngestedEvent(line)
      if (!parsed.ok) {
        out.invalid.push(line)
        continue
      }
      if (parsed.value.device_id === deviceId) list.push(parsed.value)
    }
  }
  return out
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number, context: () => string) {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context()}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** Sorted distinct seqs split where they jump: each run is one boot's acknowledged events. */
function runs(seqs: number[]): number[][] {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b)
  const out: number[][] = []
  for (const s of sorted) {
    const last = out.at(-1)
    if (last && s === (last.at(-1) as number) + 1) last.push(s)
    else out.push([s])
  }
  return out
}

describe.skipIf(!haveAvr)('AVR firmware under simavr → pty → pedepronto attach → Kafka', () => {
  beforeAll(() => {
    execFileSync('make', ['-s', '-C', FIRMWARE, 'avr', 'sim-harness'], { stdio: 'pipe', timeout: 120_000 })
  }, 130_000)

  it('delivers validated events in seq order and survives an unplug without losing acknowledged ones', async () => {
    const brokers = inject('kafkaBrokers')
    const dir = mkdtempSync(join(tmpdir(), 'pp-hil-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const link = join(dir, 'uno')
    const eeprom = join(dir, 'eeprom.bin')
    const prefix = uniqueName('hil')
    const deviceId = `hil-${Date.now().toString(36)}`
    const t0 = Date.now()

    let board: SimBoard = await startSimBoard({ image: AVR_IMAGE_ELF, link, eeprom })
    cleanups.push(() => board.kill())

    // Provision over the line: identity and fast intervals, stored in the board's EEPROM.
    const provisioned = await provisionDevice({
      port: link,
      deviceId,
      restaurantId: 'rest-hil',
      heartbeatS: 1,
      telemetryS: 1,
      orderS: 1,
    })
    expect(provisioned.applied).toEqual({
      device_id: deviceId,
      restaurant_id: 'rest-hil',
      heartbeat_s: 1,
      telemetry_s: 1,
      order_s: 1,
    })

    const gw = startAttach(link, {
      'kafka-brokers': brokers.join(','),
      'kafka-topic-prefix': prefix,
      'gateway-outbox-dir': join(dir, 'outbox'),
      'ops-port': '0',
    })
    cleanups.push(() => stopChild(gw, 5_000))
    const total = (r: Read) => r.telemetry.length + r.orders.length
    const context = () => `gateway:\n${gw.log().slice(-2000)}\nboard:\n${board.log().slice(-1000)}`

    let read = readEvents(brokers, prefix, deviceId)
    await waitFor(
      '10 events from the board',
      () => {
        read = readEvents(brokers, prefix, deviceId)
        return total(read) >= 10
      },
      60_000,
      context,
    )
    const firstPhase = Date.now() - t0
    const seqsBefore = [...read.telemetry, ...read.orders].map((e) => e.seq)
    const maxBefore = Math.max(...seqsBefore)

    // Unplug: the harness dies, its pty vanishes, the gateway sees EIO/close and keeps retrying.
    await board.kill()
    await new Promise((r) => setTimeout(r, 1_500))
    const replugAt = Date.now()
    board = await startSimBoard({ image: AVR_IMAGE_ELF, link, eeprom })
    await waitFor(
      '8 events after the replug',
      () => {
        read = readEvents(brokers, prefix, deviceId)
        return [...read.telemetry, ...read.orders].filter((e) => e.seq > maxBefore).length >= 8
      },
      60_000,
      context,
    )
    const reattachMs = Date.now() - replugAt
    await board.stop()
    const how = await stopChild(gw)
    expect(how, context()).toBe('exit 0')
    const durable = Number(/(\d+) events durable/.exec(gw.log())?.[1] ?? Number.NaN)
    read = readEvents(brokers, prefix, deviceId)
    const all = [...read.telemetry, ...read.orders]
    console.info(
      `[hil] provisioned in ${provisioned.ms} ms; first 10 events after ${firstPhase} ms; re-attached and 8 more ` +
        `in ${reattachMs} ms; records=${read.records} ours=${all.length} durable=${durable} invalid=${read.invalid.length}`,
    )

    // Every record valid, from our board, over serial.
    expect(read.invalid).toEqual([])
    for (const e of all) {
      expect(e.transport).toBe('serial')
      expect(e.restaurant_id).toBe('rest-hil')
    }
    expect(new Set(all.map((e) => e.type))).toEqual(
      new Set(['device.heartbeat', 'device.telemetry', 'order.status_changed']),
    )
    // The gateway acknowledged exactly what it made durable, and all of that is in Kafka.
    expect(read.records).toBe(durable)
    // Per-device order: telemetry shares one key (device_id), so one partition, in line order.
    const telemetrySeqs = read.telemetry.map((e) => e.seq)
    for (let i = 1; i < telemetrySeqs.length; i++) {
      expect(telemetrySeqs[i]).toBeGreaterThanOrEqual(telemetrySeqs[i - 1] as number)
    }
    // Orders are keyed by order id: within one order, seq order and the lifecycle order agree.
    const byOrder = new Map<string, number[]>()
    for (const e of read.orders) {
      if (e.type !== 'order.status_changed') continue
      const list = byOrder.get(e.payload.order_id) ?? []
      list.push(e.seq)
      byOrder.set(e.payload.order_id, list)
    }
    for (const seqs of byOrder.values()) {
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThanOrEqual(seqs[i - 1] as number)
    }
    // One device sends one frame at a time and moves on only after its ACK: what was acknowledged
    // is a gap-free run of seqs per boot. Two boots → two runs (seqs after the reboot start at the
    // next EEPROM-reserved block, so they never repeat).
    const bootRuns = runs(all.map((e) => e.seq))
    expect(bootRuns.length, JSON.stringify(bootRuns)).toBe(2)
    expect(bootRuns[0]).toContain(maxBefore)
    expect(Math.min(...(bootRuns[1] as number[]))).toBeGreaterThan(maxBefore)
    // Event ids are unique apart from retransmissions whose ACK was lost (same seq, same id).
    const ids = new Map<string, number>()
    for (const e of all) {
      const seen = ids.get(e.event_id)
      if (seen !== undefined) expect(seen).toBe(e.seq)
      ids.set(e.event_id, e.seq)
    }
    expect(ids.size).toBe(new Set(all.map((e) => e.seq)).size)
  }, 180_000)
})
