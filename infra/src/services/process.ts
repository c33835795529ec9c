/**
 * Background processes owned by `pedepronto services`: started detached in their own process group
 * (so `down` and a test's SIGKILL reach the JVM and its children), output to a log file, pid in a
 * pid file. Nothing here knows about Kafka or moto.
 */
import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { dirname } from 'node:path'

export interface ManagedProcess {
  name: string
  pidFile: string
  logFile: string
}

export function readPid(proc: ManagedProcess): number | undefined {
  if (!existsSync(proc.pidFile)) return undefined
  const pid = Number.parseInt(readFileSync(proc.pidFile, 'utf8').trim(), 10)
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM means it exists but is not ours to signal: still alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The pid of the running process, or undefined (a stale pid file is removed). */
export function runningPid(proc: ManagedProcess): number | undefined {
  const pid = readPid(proc)
  if (pid === undefined) return undefined
  if (isAlive(pid)) return pid
  rmSync(proc.pidFile, { force: true })
  return undefined
}

export function startDetached(
  proc: ManagedProcess,
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): number {
  mkdirSync(dirname(proc.pidFile), { recursive: true })
  mkdirSync(dirname(proc.logFile), { recursive: true })
  const fd = openSync(proc.logFile, 'a')
  try {
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: options.env ?? process.env,
      cwd: options.cwd,
    })
    if (child.pid === undefined) throw new Error(`could not start ${command}`)
    child.unref()
    writeFileSync(proc.pidFile, `${child.pid}\n`)
    return child.pid
  } finally {
    closeSync(fd)
  }
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the whole process group created by `detached: true`.
    process.kill(-pid, signal)
  } catch {
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }
}

export async function waitUntil(
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 200,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await condition()) return true
    await sleep(intervalMs)
  }
  return await condition()
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Stops a managed process: SIGTERM to its group, SIGKILL after the grace period. */
export async function stopProcess(
  proc: ManagedProcess,
  graceMs = 20_000,
): Promise<'stopped' | 'killed' | 'not-running'> {
  const pid = runningPid(proc)
  if (pid === undefined) return 'not-running'
  signalGroup(pid, 'SIGTERM')
  const exited = await waitUntil(() => !isAlive(pid), graceMs, 100)
  if (!exited) {
    signalGroup(pid, 'SIGKILL')
    await waitUntil(() => !isAlive(pid), 5_000, 50)
  }
  rmSync(proc.pidFile, { force: true })
  return exited ? 'stopped' : 'killed'
}

/** SIGKILL now, as a crash would; the pid file goes so that the next `up` starts afresh. */
export async function killProcess(proc: ManagedProcess): Promise<boolean> {
  const pid = runningPid(proc)
  if (pid === undefined) return false
  signalGroup(pid, 'SIGKILL')
  await waitUntil(() => !isAlive(pid), 10_000, 20)
  rmSync(proc.pidFile, { force: true })
  return true
}

export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port })
    const done = (open: boolean) => {
      socket.destroy()
      resolve(open)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** The last lines of a log file, for error messages that say what went wrong. */
export function tailFile(path: string, lines = 15): string {
  if (!existsSync(path)) return ''
  const text = readFileSync(path, 'utf8')
  return text
    .split('\n')
    .slice(-lines - 1)
    .join('\n')
}
