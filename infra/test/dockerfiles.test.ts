/**
 * No Docker engine runs here, so the Dockerfiles are checked by what can run: every instruction is
 * one Docker knows, builds are multi-stage, the runtime stage is non-root with a health check, and
 * every path a COPY takes from the build context exists in the repository.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../src/index.js'

const INSTRUCTIONS = new Set([
  'FROM',
  'RUN',
  'CMD',
  'LABEL',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'ENTRYPOINT',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
])

interface Instruction {
  op: string
  args: string
  line: number
}

export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] as string).trim()
    const start = i + 1
    if (line === '' || line.startsWith('#')) continue
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = `${line.slice(0, -1)} ${(lines[++i] as string).trim()}`
    }
    const [op, ...rest] = line.split(/\s+/)
    out.push({ op: (op as string).toUpperCase(), args: rest.join(' '), line: start })
  }
  return out
}

const dockerfiles = [
  join(REPO_ROOT, 'gateway', 'Dockerfile'),
  ...['edge-processor', 'cloud-sink', 'device-sim'].map((d) => join(REPO_ROOT, d, 'Dockerfile')),
].filter((p) => existsSync(p))

describe.each(dockerfiles)('%s', (path) => {
  const instructions = parseDockerfile(readFileSync(path, 'utf8'))

  it('uses only instructions Docker knows', () => {
    expect(instructions.filter((i) => !INSTRUCTIONS.has(i.op))).toEqual([])
  })

  it('is multi-stage, and the runtime stage runs as a non-root user with a health check', () => {
    const froms = instructions.filter((i) => i.op === 'FROM')
    expect(froms.length).toBeGreaterThanOrEqual(2)
    const lastFrom = instructions.lastIndexOf(froms[froms.length - 1] as Instruction)
    const runtime = instructions.slice(lastFrom)
    const users = runtime.filter((i) => i.op === 'USER').map((i) => i.args)
    expect(users.length).toBeGreaterThan(0)
    expect(users[users.length - 1]).not.toMatch(/^(root|0)(:|$)/)
    expect(runtime.some((i) => i.op === 'HEALTHCHECK' && /CMD/.test(i.args))).toBe(true)
  })

  it('copies from the build context only paths that exist', () => {
    const missing: string[] = []
    for (const i of instructions.filter((x) => x.op === 'COPY' && !x.args.includes('--from='))) {
      const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'))
      for (const src of parts.slice(0, -1))
        if (!existsSync(join(REPO_ROOT, src))) missing.push(`${src} (line ${i.line})`)
    }
    expect(missing).toEqual([])
  })

  it('installs every workspace manifest before npm ci', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }
    const text = readFileSync(path, 'utf8')
    const ci = text.indexOf('npm ci')
    for (const ws of pkg.workspaces) {
      const at = text.indexOf(`COPY ${ws}/package.json`)
      expect(at, `${ws}/package.json copied before npm ci`).toBeGreaterThan(-1)
      expect(at).toBeLessThan(ci)
    }
  })
})

describe('.dockerignore', () => {
  it('keeps dependencies, build output, local services and generated keys out of the context', () => {
    const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n')
    for (const entry of ['node_modules', '.pedepronto', 'certs/out', '**/dist'])
      expect(ignore).toContain(entry)
    expect(readdirSync(REPO_ROOT)).toContain('.dockerignore')
  })
})
