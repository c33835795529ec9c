/**
 * The command line as a user meets it: the built `pedepronto` binary in a child process, its exit
 * codes and its messages (issue #2, "Done when").
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, inject, it } from 'vitest'

const BIN = fileURLToPath(new URL('../bin/pedepronto.js', import.meta.url))
const brokers = inject('kafkaBrokers')

function cli(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PEDEPRONTO_')))
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...clean, ...env },
    timeout: 60_000,
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const COMMANDS = [
  'sim',
  'gateway',
  'attach',
  'flash',
  'certs',
  'process',
  'sink',
  'aws',
  'lake',
  'bench',
  'services',
  'demo',
]

describe('pedepronto', () => {
  it('lists every command in --help and exits 0', () => {
    const r = cli(['--help'])
    expect(r.status).toBe(0)
    const listed = [...r.stdout.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1])
    expect(listed).toEqual([...COMMANDS, 'help'])
  })

  it.each(COMMANDS)('has --help for %s', (name) => {
    const r = cli([name, '--help'])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(new RegExp(`^Usage: pedepronto ${name}`))
  })

  it('exits 64 on an unknown command or option', () => {
    expect(cli(['frobnicate']).status).toBe(64)
    expect(cli(['services', 'up', '--colour', 'blue']).status).toBe(64)
    const bench = cli(['bench', 'nope'])
    expect(bench.status).toBe(64)
    expect(bench.stderr).toContain('no benchmark named "nope"')
  })

  it('reports every bad configuration value at once, exit 78, no stack trace', () => {
    const r = cli(['services', 'status'], {
      PEDEPRONTO_SERVICES_KAFKA_PORT: 'ninety',
      PEDEPRONTO_SERVICES_MOTO_PORT: '70000',
      PEDEPRONTO_SERVICES_KAFKA_HEAP: '1g',
    })
    expect(r.status).toBe(78)
    expect(r.stderr).toBe(
      'error CONFIG_INVALID: invalid services configuration (3 problems):\n' +
        '  - PEDEPRONTO_SERVICES_KAFKA_HEAP (unknown environment variable): got "1g"; expected a known key (PEDEPRONTO_SERVICES_KAFKA_HEAP_MB)\n' +
        '  - services.kafkaPort (env PEDEPRONTO_SERVICES_KAFKA_PORT): got "ninety"; expected an integer from 1 to 65535\n' +
        '  - services.motoPort (env PEDEPRONTO_SERVICES_MOTO_PORT): got 70000; expected an integer from 1 to 65535\n' +
        '  what to do: fix the keys above; `pedepronto services --help` lists every key with its default\n',
    )
  })

  it('says clearly when the Kafka it was given is unreachable, exit 69', () => {
    const t0 = Date.now()
    const r = cli(['services', 'up', '--only', 'kafka'], {
      PEDEPRONTO_KAFKA_BROKERS: '127.0.0.1:1',
      PEDEPRONTO_KAFKA_CONNECT_TIMEOUT_MS: '500',
    })
    expect(r.status).toBe(69)
    expect(r.stderr).toContain('error SVC_KAFKA_UNREACHABLE: no Kafka broker answers at 127.0.0.1:1')
    expect(r.stderr).toContain('what to do:')
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(Date.now() - t0).toBeLessThan(30_000)
  })

  it('shows the running services as ready (status exits 0)', () => {
    const r = cli(['services', 'status', '--json'], { PEDEPRONTO_KAFKA_BROKERS: brokers.join(',') })
    expect(r.status).toBe(0)
    const status = JSON.parse(r.stdout) as {
      services: { service: string; ready: boolean }[]
      tools: { command: string; found: boolean }[]
    }
    expect(status.services.map((s) => [s.service, s.ready])).toEqual([
      ['kafka', true],
      ['moto', true],
      ['mosquitto', true],
    ])
    expect(status.tools.filter((t) => !t.found).map((t) => t.command)).toEqual([])
  })
})
