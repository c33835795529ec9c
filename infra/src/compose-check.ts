/**
 * docker-compose.yml validated without a Docker engine: `infra/compose-check` is a small Go program
 * on compose-go, the loader Docker Compose itself uses (Compose Specification schema, interpolation,
 * service/volume/network references). Built once with the machine's Go into the git-ignored
 * services home; Go's module and build caches make later builds take a moment.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT, servicesHome } from './paths.js'

const SOURCE = join(REPO_ROOT, 'infra', 'compose-check')

export interface ComposeCheckResult {
  ok: boolean
  /** The resolved project as YAML (ok) or the loader's message (not ok). */
  output: string
}

function newest(...files: string[]): number {
  return Math.max(...files.map((f) => statSync(f).mtimeMs))
}

/** Path of the built checker; builds it when missing or older than its sources. Throws without Go. */
export function composeCheckBinary(): string {
  const bin = join(servicesHome(), 'bin', 'compose-check')
  const sources = ['main.go', 'go.mod', 'go.sum'].map((f) => join(SOURCE, f))
  if (existsSync(bin) && statSync(bin).mtimeMs >= newest(...sources)) return bin
  mkdirSync(join(servicesHome(), 'bin'), { recursive: true })
  const built = spawnSync('go', ['build', '-o', bin, '.'], { cwd: SOURCE, encoding: 'utf8' })
  if (built.error || built.status !== 0) {
    const why = built.error ? built.error.message : `${built.stdout}${built.stderr}`.trim()
    throw new Error(
      `building infra/compose-check failed (needs Go and the Go module proxy): ${why}; run \`go build\` in infra/compose-check to see why`,
    )
  }
  return bin
}

export function composeCheck(file: string): ComposeCheckResult {
  const run = spawnSync(composeCheckBinary(), [file], { encoding: 'utf8' })
  if (run.error) throw run.error
  return run.status === 0 ? { ok: true, output: run.stdout } : { ok: false, output: run.stderr.trim() }
}
