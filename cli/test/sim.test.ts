/**
 * `pedepronto sim` as a user meets it: the built binary in a child process — help, a reproducible
 * dry run, one clear message for bad flags, and a short live run against the shared mosquitto.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { validateEvent } from '@pedepronto/contracts'
import { afterAll, describe, expect, inject, it } from 'vitest'

const BIN = fileURLToPath(new URL('../bin/pedepronto.js', import.meta.url))
const STACK = /\n\s+at /

function sim(args: string[], timeout = 60_000) {
  // The user's PEDEPRONTO_* settings must not leak into what the test expects.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PEDEPRONTO_')))
  const r = spawnSync(process.execPath, [BIN, 'sim', ...args], { encoding: 'utf8', env, timeout })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('pedepronto sim', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-cli-sim-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('has --help and exits 0', () => {
    const r = sim(['--help'])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^Usage: pedepronto sim/)
    expect(r.stdout).toContain('--dry-run')
    expect(r.stdout).toContain('--devices-per-restaurant')
  })

  it('writes a byte-identical, valid event stream for one seed', () => {
    const a = join(dir, 'a.jsonl')
    const b = join(dir, 'b.jsonl')
    const args = ['--dry-run', '--seed', '7', '--duration', '30s']
    const ra = sim([...args, '--out', a])
    const rb = sim([...args, '--out', b])
    expect(ra.status, ra.stderr).toBe(0)
    expect(rb.status, rb.stderr).toBe(0)
    const textA = readFileSync(a)
    expect(readFileSync(b).equals(textA)).toBe(true)
    const lines = textA.toString('utf8').trimEnd().split('\n')
    expect(lines.length).toBeGreaterThan(50)
    expect(ra.stderr).toContain(`sim dry run: ${lines.length} lines`)
    for (const line of lines) {
      const parsed = JSON.parse(line) as { event?: unknown }
      // Faults are off by default, so every line carries a whole event.
      expect(parsed.event).toBeDefined()
      const v = validateEvent(parsed.event)
      expect(v.ok, JSON.stringify(v)).toBe(true)
    }
    // Another seed gives another stream.
    const c = join(dir, 'c.jsonl')
    expect(sim(['--dry-run', '--seed', '8', '--duration', '30s', '--out', c]).status).toBe(0)
    expect(readFileSync(c).equals(textA)).toBe(false)
  })

  it.each([
    [['--rate', 'fast'], 64, '--rate'],
    [['--restaurants', '0'], 78, '--restaurants'],
    [['--devices-per-restaurant', 'many'], 78, '--devices-per-restaurant'],
  ])('rejects %j with exit %i and one clear message naming %s', (flags, code, flag) => {
    const r = sim(['--dry-run', ...flags])
    expect(r.status).toBe(code)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^error [A-Z_]+: /)
    expect(r.stderr.match(/^error /gm)).toHaveLength(1)
    expect(r.stderr).toContain(flag)
    // The flag as typed, never the config key's flag form.
    expect(r.stderr).not.toContain('--sim-')
    expect(r.stderr).not.toMatch(STACK)
  })

  it('runs live against mosquitto and every send is acknowledged', () => {
    const r = sim(
      [
        '--broker',
        inject('mosquittoUrl'),
        '--duration',
        '3s',
        '--restaurants',
        '1',
        '--devices-per-restaurant',
        '4',
        '--seed',
        String(1 + Math.floor(Math.random() * 1_000_000)),
        '--quiet',
      ],
      45_000,
    )
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).not.toMatch(STACK)
    expect(r.stdout).toContain('Pede Pronto sim — summary')
    expect(r.stdout).toMatch(/devices\s+4 \(4 transmitting\), connects 4, connect failures 0/)
    const generated = Number(/generated\s+(\d+) events/.exec(r.stdout)?.[1])
    const acked = /acked\s+(\d+) of (\d+) sends/.exec(r.stdout)
    expect(acked).not.toBeNull()
    expect(Number(acked![1])).toBeGreaterThan(0)
    expect(Number(acked![1])).toBe(Number(acked![2]))
    expect(Number(acked![1])).toBe(generated)
    expect(r.stdout).toMatch(/still queued 0\n/)
    expect(r.stdout).not.toContain('drain timed out')
  })
})
