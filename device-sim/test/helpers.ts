// Test helpers: a private mosquitto (killed and restarted by the test that owns it), a socat pty
// pair, and a recording MQTT subscriber.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type MqttClient } from 'mqtt'

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const a = server.address()
      const port = typeof a === 'object' && a ? a.port : 0
      server.close(() => resolve(port))
    })
  })
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket()
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
    s.connect(port, '127.0.0.1')
  })
}

/** A mosquitto of our own on a free port, with persistence so a graceful stop keeps sessions. */
export class ScratchMosquitto {
  readonly dir = mkdtempSync(join(tmpdir(), 'pp-sim-mosq-'))
  port = 0
  #proc: ChildProcess | undefined

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort()
    const conf = join(this.dir, 'mosquitto.conf')
    writeFileSync(
      conf,
      [
        `listener ${this.port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${this.dir}/`,
        'max_queued_messages 100000',
        'log_dest none',
        '',
      ].join('\n'),
    )
    this.#proc = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' })
    await waitFor(() => portOpen(this.port), 10_000, `mosquitto on ${this.port}`)
  }

  /** SIGTERM: mosquitto writes its persistence file and exits, as a broker restart would. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.#proc
    this.#proc = undefined
    if (!p || p.exitCode !== null) return
    const exited = new Promise((r) => p.once('exit', r))
    p.kill(signal)
    await exited
  }

  async destroy(): Promise<void> {
    await this.stop('SIGKILL')
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** socat linking two ptys; the paths exist once both links are there. */
export class PtyPair {
  readonly dir = mkdtempSync(join(tmpdir(), 'pp-sim-pty-'))
  readonly a = join(this.dir, 'device')
  readonly b = join(this.dir, 'gateway')
  #proc: ChildProcess | undefined

  async start(): Promise<void> {
    this.#proc = spawn(
      'socat',
      ['-d', '-d', `pty,raw,echo=0,link=${this.a}`, `pty,raw,echo=0,link=${this.b}`],
      {
        stdio: 'ignore',
      },
    )
    await waitFor(() => existsSync(this.a) && existsSync(this.b), 10_000, 'socat ptys')
  }

  async destroy(): Promise<void> {
    const p = this.#proc
    if (p && p.exitCode === null) {
      const exited = new Promise((r) => p.once('exit', r))
      p.kill('SIGTERM')
      await exited
    }
    rmSync(this.dir, { recursive: true, force: true })
  }
}

export interface Received {
  topic: string
  text: string
}

/** Subscribes (QoS 1) and records every message; `clean: false` keeps its session across restarts. */
export async function recorder(
  url: string,
  filter: string,
  clientId: string,
): Promise<{ client: MqttClient; messages: Received[] }> {
  const messages: Received[] = []
  const client = connect(url, { clientId, clean: false, reconnectPeriod: 100, protocolVersion: 4 })
  client.on('message', (topic, payload) => messages.push({ topic, text: payload.toString('utf8') }))
  client.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe(filter, { qos: 1 }, (e) => (e ? reject(e) : resolve())))
  })
  return { client, messages }
}

export async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  await waitFor(check, timeoutMs, what)
}
