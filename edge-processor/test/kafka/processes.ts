// Processor child processes for the fault tests: started with the test's configuration, killed with
// SIGKILL (a crash) or SIGTERM (a drain), always reaped.
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ProcessorConfig } from '../../src/index.js'

const SCRIPT = fileURLToPath(new URL('./run-processor.mjs', import.meta.url))

export class ProcessorProcess {
  readonly #config: ProcessorConfig
  #child: ChildProcess | undefined
  output = ''

  constructor(config: ProcessorConfig) {
    this.#config = config
  }

  async start(timeoutMs = 30_000): Promise<void> {
    const child = spawn(process.execPath, [SCRIPT, JSON.stringify(this.#config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.#child = child
    child.stdout!.on('data', (d: Buffer) => {
      this.output += d.toString()
    })
    child.stderr!.on('data', (d: Buffer) => {
      this.output += d.toString()
    })
    const end = Date.now() + timeoutMs
    while (!this.output.includes('ready')) {
      if (child.exitCode !== null) throw new Error(`processor exited ${child.exitCode}: ${this.output}`)
      if (Date.now() > end) throw new Error(`processor not ready in ${timeoutMs} ms: ${this.output}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL', timeoutMs = 20_000): Promise<void> {
    const child = this.#child
    this.#child = undefined
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    await exited
    clearTimeout(timer)
  }
}
