/**
 * The pipeline's stages as real processes: `pedepronto gateway`, `pedepronto process` and
 * `pedepronto sink` started from the binary a user runs, configured through `PEDEPRONTO_*`
 * environment variables, ready when their `/readyz` answers 200, killed with SIGKILL as a crash
 * would, and supervised the way docker-compose's `restart: unless-stopped` does: a stage that exits
 * on its own is started again after a pause (the fault suite counts those restarts).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { PedeProntoError } from '@pedepronto/common'

export const PEDEPRONTO_BIN = fileURLToPath(new URL('../../bin/pedepronto.js', import.meta.url))

export type StageName = 'gateway' | 'processor' | 'sink'

const COMMAND: Record<StageName, string> = { gateway: 'gateway', processor: 'process', sink: 'sink' }

/** The last bytes a stage printed (enough to say why it failed, bounded for long runs). */
const OUTPUT_TAIL = 16_384

export interface StageOptions {
  name: StageName
  /** `PEDEPRONTO_*` variables (configuration keys) on top of the parent's non-PEDEPRONTO environment. */
  env: Record<string, string>
  opsPort: number
  readyTimeoutMs?: number
  /** Restart after an exit nobody asked for (default true). */
  supervise?: boolean
  log?: (line: string) => void
}

function readyz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', timeout: 2_000 }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('error', () => resolve(false))
    req.on('timeout', () => {
      req.destroy()
      resolve(false)
    })
    req.end()
  })
}

export class StageProcess {
  readonly name: StageName
  readonly #o: Required<Omit<StageOptions, 'log'>> & Pick<StageOptions, 'log'>
  #child: ChildProcess | undefined
  #wanted = false
  #restartTimer: NodeJS.Timeout | undefined
  output = ''
  /** Starts, including supervisor restarts. */
  starts = 0
  /** Exits nobody asked for (crashes or give-ups, e.g. while Kafka was down), by exit code. */
  readonly unexpectedExits: (number | string)[] = []
  kills = 0

  constructor(options: StageOptions) {
    this.name = options.name
    this.#o = { readyTimeoutMs: 60_000, supervise: true, ...options }
  }

  get pid(): number | undefined {
    return this.#child?.pid
  }

  get running(): boolean {
    const c = this.#child
    return c !== undefined && c.exitCode === null && c.signalCode === null
  }

  /** Starts the process and waits until `/readyz` says 200. */
  async start(): Promise<void> {
    this.#wanted = true
    this.#spawn()
    await this.waitReady()
  }

  async waitReady(timeoutMs = this.#o.readyTimeoutMs): Promise<void> {
    const end = Date.now() + timeoutMs
    for (;;) {
      if (this.running && (await readyz(this.#o.opsPort))) return
      if (Date.now() > end) {
        throw new PedeProntoError(
          'E2E_STAGE_NOT_READY',
          `${this.name} did not become ready within ${timeoutMs} ms; its last output:\n${this.output.slice(-3_000)}`,
        )
      }
      await new Promise((r) => setTimeout(r, 200))
    }
  }

  #spawn(): void {
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !k.startsWith('PEDEPRONTO_')) env[k] = v
    }
    Object.assign(env, this.#o.env, {
      PEDEPRONTO_OPS_PORT: String(this.#o.opsPort),
      PEDEPRONTO_LOG_LEVEL: this.#o.env.PEDEPRONTO_LOG_LEVEL ?? 'warn',
    })
    const child = spawn(process.execPath, [PEDEPRONTO_BIN, COMMAND[this.name]], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.starts++
    this.#child = child
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-OUTPUT_TAIL)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    child.once('exit', (code, signal) => {
      if (this.#child !== child) return
      if (!this.#wanted) return
      // Not asked for: note it and start again after a pause, as a container runtime would.
      const why = code ?? signal ?? 'unknown'
      this.unexpectedExits.push(why)
      this.#o.log?.(`${this.name} exited by itself (${why}); restarting in 1 s`)
      this.#restartTimer = setTimeout(() => {
        this.#restartTimer = undefined
        if (this.#wanted && !this.running) this.#spawn()
      }, 1_000)
    })
  }

  /** SIGKILL, as a crash or a pulled plug would; the process is reaped before this returns. */
  async kill(): Promise<void> {
    this.kills++
    await this.#terminate('SIGKILL')
  }

  /** SIGKILL and start again at once (the supervisor's job after a crash), waiting until ready. */
  async crashAndRestart(downMs = 0): Promise<void> {
    await this.kill()
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs))
    await this.start()
  }

  /** SIGTERM: the stage drains (commits, flushes, leaves its group) and exits. */
  async stop(timeoutMs = 30_000): Promise<void> {
    await this.#terminate('SIGTERM', timeoutMs)
  }

  async #terminate(signal: 'SIGKILL' | 'SIGTERM', timeoutMs = 30_000): Promise<void> {
    this.#wanted = false
    if (this.#restartTimer !== undefined) {
      clearTimeout(this.#restartTimer)
      this.#restartTimer = undefined
    }
    const child = this.#child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    await exited
    clearTimeout(timer)
  }
}
