/**
 * `pedepronto gateway` as a child process (compiled dist/: run `npx tsc -b` first), so fault tests
 * can SIGKILL it like a crash and the bench can read its RSS. Waits for the "gateway: mqtt" and
 * "gateway: ops" lines it prints on start.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export interface ChildGateway {
  process: ChildProcess
  pid: number
  mqttUrl: string
  opsUrl: string
  /** Everything it wrote to stderr so far (for failure messages). */
  log(): string
  /** How it ended: `exit N` or `signal NAME`. */
  exited: Promise<string>
  /** SIGKILL, as a crash would; resolves when it is gone. */
  kill(): Promise<void>
  /** SIGTERM (graceful stop); SIGKILL after `timeoutMs`. Resolves with how it ended. */
  stop(timeoutMs?: number): Promise<string>
}

export async function startChildGateway(
  flags: Record<string, string | number>,
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildGateway> {
  const args = ['cli/bin/pedepronto.js', 'gateway']
  for (const [flag, value] of Object.entries(flags)) args.push(`--${flag}`, String(value))
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PEDEPRONTO_LOG_LEVEL: 'warn', ...options.env },
  })
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code === null ? `signal ${signal}` : `exit ${code}`)),
  )
  const addresses = await new Promise<{ mqtt: string; ops: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(
        new Error(`gateway did not start within ${options.timeoutMs ?? 60_000} ms:\n${stderr.slice(-3000)}`),
      )
    }, options.timeoutMs ?? 60_000)
    const seen: { mqtt?: string; ops?: string } = {}
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString()
      seen.mqtt ??= /gateway: mqtt\s+(\S+)/.exec(stderr)?.[1]
      seen.ops ??= /gateway: ops\s+(\S+)/.exec(stderr)?.[1]
      if (seen.mqtt && seen.ops) {
        clearTimeout(timer)
        resolve({ mqtt: seen.mqtt, ops: seen.ops })
      }
    })
    void exited.then((how) => {
      clearTimeout(timer)
      reject(new Error(`gateway ended (${how}) before it was ready:\n${stderr.slice(-3000)}`))
    })
  })
  return {
    process: child,
    pid: child.pid as number,
    mqttUrl: addresses.mqtt,
    opsUrl: addresses.ops,
    log: () => stderr,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
    async stop(timeoutMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}

/** One gauge or counter from the gateway's /metrics, summed over its labels. */
export async function metricValue(opsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text()
  let sum = 0
  let found = false
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1))
      found = true
    }
  }
  if (!found) throw new Error(`metric ${name} not exported by ${opsUrl}/metrics`)
  return sum
}

/** Resident set size of a process in KiB (Linux /proc/PID/status VmRSS). */
export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`)
  return Number(m[1])
}
