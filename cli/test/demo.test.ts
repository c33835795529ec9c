/**
 * The README's main job, run as a user runs it (the binary, in a child process), on the services
 * the test run started: every acknowledged event is found in Kafka and the lake gets objects.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { uniqueName } from '@pedepronto/infra'
import { describe, expect, inject, it } from 'vitest'

const BIN = fileURLToPath(new URL('../bin/pedepronto.js', import.meta.url))
const run = promisify(execFile)

describe('pedepronto demo', () => {
  it('runs a fleet through the gateway into Kafka and the lake, and says so', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PEDEPRONTO_')))
    const { stdout, stderr } = await run(
      process.execPath,
      [
        BIN,
        'demo',
        '--minutes',
        '2',
        '--restaurants',
        '2',
        '--devices-per-restaurant',
        '6',
        '--seed',
        '7',
        '--bucket',
        uniqueName('pp-demo'),
        '--keep-services',
      ],
      {
        encoding: 'utf8',
        timeout: 150_000,
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
    const lake = stdout.match(/lake {8}(\d+) objects, (\d+) bytes/)
    expect(Number(lake![1])).toBeGreaterThanOrEqual(3)
    expect(stdout).toMatch(/rest-0001 +\d+ +\d+\.\d\d/)
  }, 180_000)
})
