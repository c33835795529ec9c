/**
 * docker-compose.yml checked by what runs here (no Docker engine): first by compose-go, the loader
 * Docker Compose itself uses (infra/compose-check: the Compose Specification schema, interpolation,
 * references), then by this project's own rules: the structure the stack needs,
 * references that resolve (build files, volumes, depends_on with health conditions only on services
 * that have a health check), commands that exist, and only environment keys the component schemas
 * know — the compose stack uses the same configuration keys as everything else.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { configLeaves } from '@pedepronto/common'
import { composeCheck, REPO_ROOT } from '@pedepronto/infra'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { COMPONENT_SCHEMAS } from '../src/config-docs.js'
import { buildProgram } from '../src/main.js'

interface Service {
  image?: string
  build?: { context: string; dockerfile: string }
  command?: string[]
  entrypoint?: string[]
  environment?: Record<string, string>
  healthcheck?: { test?: string[]; disable?: boolean }
  depends_on?: Record<string, { condition: string }>
  volumes?: string[]
  network_mode?: string
  profiles?: string[]
}

const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>
  volumes: Record<string, unknown>
}
const services = compose.services

function hasHealthcheck(s: Service): boolean {
  if (s.healthcheck?.disable) return false
  if (s.healthcheck?.test) return true
  if (!s.build) return false
  return /^HEALTHCHECK /m.test(readFileSync(join(REPO_ROOT, s.build.context, s.build.dockerfile), 'utf8'))
}

const haveGo = spawnSync('go', ['version']).status === 0

// CI has Go (it is on every machine of this kind): there the compose-go check must run, not skip.
describe.skipIf(!haveGo && process.env.CI !== 'true')('docker-compose.yml through compose-go', () => {
  it('is a valid Compose project: schema, interpolation and references', () => {
    const result = composeCheck(join(REPO_ROOT, 'docker-compose.yml'))
    expect(result.output).not.toMatch(/compose-check:/)
    expect(result.ok).toBe(true)
    // The resolved project names what the stack is made of.
    expect(result.output).toMatch(/^name: pedepronto$/m)
    for (const service of ['kafka', 'moto', 'gateway', 'processor', 'sink', 'simulator'])
      expect(result.output).toMatch(new RegExp(`^  ${service}:$`, 'm'))
  }, 180_000)

  it('rejects what Docker Compose would reject', () => {
    const source = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')
    const dir = mkdtempSync(join(tmpdir(), 'pp-compose-'))
    try {
      const cases: [string, string, RegExp][] = [
        ['interval: 10s', 'intervall: 10s', /additional properties 'intervall' not allowed/],
        ['condition: service_healthy', 'condition: service_ok', /must be one of/],
        ['network_mode: service:gateway', 'network_mode: service:nowhere', /undefined service "nowhere"/],
      ]
      for (const [from, to, why] of cases) {
        expect(source).toContain(from)
        const file = join(dir, 'docker-compose.yml')
        writeFileSync(file, source.replace(from, to))
        const result = composeCheck(file)
        expect(result.ok, `${from} → ${to}`).toBe(false)
        expect(result.output).toMatch(why)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 180_000)
})

describe('docker-compose.yml', () => {
  it('has the stack: Kafka, the AWS emulator, gateway, processor, sink and simulator', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(['kafka', 'moto', 'gateway', 'processor', 'sink', 'simulator']),
    )
    expect(services.kafka?.image).toMatch(/^apache\/kafka:4\./)
    expect(services.moto?.image).toMatch(/^motoserver\/moto:/)
  })

  it('gives every long-running service a health check and only waits on healthy services that have one', () => {
    for (const [name, s] of Object.entries(services)) {
      if (name !== 'simulator' && name !== 'certs')
        expect(hasHealthcheck(s), `${name} health check`).toBe(true)
      for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
        expect(services[dep], `${name} depends on ${dep}`).toBeDefined()
        if (cond.condition === 'service_healthy')
          expect(hasHealthcheck(services[dep] as Service), `${dep} is healthy-able`).toBe(true)
      }
    }
  })

  it('builds from files that exist and mounts declared volumes only', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build)
        expect(existsSync(join(REPO_ROOT, s.build.context, s.build.dockerfile)), `${name} dockerfile`).toBe(
          true,
        )
      expect(s.image ?? s.build, `${name} has an image or a build`).toBeDefined()
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0] as string
        if (!source.startsWith('.') && !source.startsWith('/')) expect(compose.volumes).toHaveProperty(source)
      }
      if (s.network_mode?.startsWith('service:')) expect(services[s.network_mode.slice(8)]).toBeDefined()
    }
  })

  it('runs pedepronto commands that exist', () => {
    const commands = new Set(buildProgram().commands.map((c) => c.name()))
    for (const [name, s] of Object.entries(services)) {
      if (!s.build || s.entrypoint) continue
      expect(commands.has(s.command?.[0] ?? ''), `${name}: ${s.command?.[0]}`).toBe(true)
    }
  })

  it('uses only configuration keys the component schemas define', () => {
    const known = new Set(COMPONENT_SCHEMAS.flatMap(({ schema }) => configLeaves(schema).map((l) => l.env)))
    for (const extra of ['PEDEPRONTO_LOG_LEVEL', 'PEDEPRONTO_HOME', 'PEDEPRONTO_CERTS_DIR']) known.add(extra)
    const unknown: string[] = []
    for (const [name, s] of Object.entries(services)) {
      for (const key of Object.keys(s.environment ?? {})) {
        if (key.startsWith('PEDEPRONTO_') && !known.has(key)) unknown.push(`${name}: ${key}`)
      }
    }
    expect(unknown).toEqual([])
  })
})
