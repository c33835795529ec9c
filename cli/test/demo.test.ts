/**
 * The README's main job, run as a user runs it (the binary, in a child process), on the services
 * the test run started: every acknowledged event is found in Kafka and the lake gets objects.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, inject, it } from 'vitest'

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
