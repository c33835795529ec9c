/**
 * The README's main job, run as a user runs it (the binary, in a child process), on the services
 * the test run started: every acknowledged event is found in Kafka and the lake gets objects.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, inject, it } from 'vitest'
import { AVR_IMAGE_ELF, SIM_HARNESS } from '../src/commands/flash.js'

const BIN = fileURLToPath(new URL('../bin/pedepronto.js', import.meta.url))
const run = promisify(execFile)

describe('pedepronto demo', () => {
  it('runs a fleet through the gateway, processor and sink into Kafka and the Parquet lake, and says so', async () => {
    const lake = mkdtempSync(join(tmpdir(), 'pp-demo-lake-'))
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PEDEPRONTO_')))
    const { stdout, stderr } = await run(
      process.execPath,
      [
        BIN,
        'demo',
        '--minutes',
        '8',
        '--restaurants',
        '2',
        '--devices-per-restaurant',
        '6',
        '--seed',
        '7',
        '--lake',
        lake,
        '--keep-services',
      ],
      {
        encoding: 'utf8',
        timeout: 230_000,
        env: {
          ...env,
          PEDEPRONTO_KAFKA_BROKERS: inject('kafkaBrokers').join(','),
          PEDEPRONTO_AWS_ENDPOINT: inject('awsEndpoint'),
        },
      },
    )
    expect(stderr).toContain('demo: gateway at mqtt://127.0.0.1:')
    // The live view: devices, events/s, orders open/ready/picked up and every stage's lag.
    const live = [
      ...stderr.matchAll(
        /demo: (\d+)\/(\d+) devices, \d+ ev\/s acknowledged \((\d+) total, \d+ pending\); orders open \d+, ready \d+, picked up \d+; lag gateway \d+, processor \d+, sink \d+ records/g,
      ),
    ]
    expect(live.length).toBeGreaterThan(0)
    expect(Number(live.at(-1)![2])).toBe(12)
    // The virtual AVR board on a serial line, when the firmware and harness are built (setup builds them).
    if (existsSync(SIM_HARNESS) && existsSync(AVR_IMAGE_ELF)) {
      expect(stderr).toMatch(
        /demo: virtual ATmega328P board \(simavr\) on \/dev\/pts\/\d+, attached over serial/,
      )
      const board = stdout.match(/1 AVR board over serial \((\d+) frames ACKed, (\d+) corrupt\)/)
      expect(Number(board![1])).toBeGreaterThan(0)
    }
    // AWS IoT on the emulator: things provisioned, KPIs pushed to the restaurants' shadows.
    const iot = stdout.match(
      /aws iot {5}(\d+) things provisioned; (\d+) shadow updates, (\d+) alerts published/,
    )
    expect(Number(iot![1])).toBe(12 + (existsSync(SIM_HARNESS) && existsSync(AVR_IMAGE_ELF) ? 1 : 0))
    expect(Number(iot![2])).toBeGreaterThan(0)
    const kafka = stdout.match(/kafka {7}(\d+) of (\d+) events found by id/)
    expect(kafka).not.toBeNull()
    expect(Number(kafka![2])).toBeGreaterThan(100)
    expect(kafka![1]).toBe(kafka![2])
    const processor = stdout.match(
      /processor {3}(\d+) events in, \d+ duplicates dropped; facts (\d+), KPI windows (\d+)/,
    )
    expect(Number(processor![1])).toBeGreaterThanOrEqual(Number(kafka![2]))
    expect(Number(processor![2])).toBeGreaterThan(0)
    expect(Number(processor![3])).toBeGreaterThan(0)
    const files = stdout.match(/lake {8}(\d+) Parquet files, (\d+) rows, 0 rejected/)
    expect(Number(files![1])).toBeGreaterThan(3)
    expect(Number(files![2])).toBeGreaterThanOrEqual(Number(kafka![2]))
    expect(stdout).toContain('Orders placed per hour (event time, UTC)')
    expect(stdout).toMatch(/rest-0001 +\d+ +\d+/)
    rmSync(lake, { recursive: true, force: true })
  }, 240_000)
})
