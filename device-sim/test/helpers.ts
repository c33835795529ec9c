// Test helpers: an in-process aedes broker that records every publish it acknowledges (and can be
// restarted), a socat pty pair, and a recording MQTT subscriber.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '@pedepronto/infra'
import { Aedes } from 'aedes'
import { connect, type MqttClient } from 'mqtt'

export { freePort }

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

export interface Recorded {
  clientId: string
  topic: string
  text: string
}

/**
 * An aedes broker in the test process on a fixed port that records every client publish in
 * `authorizePublish`, before calling back: aedes writes a QoS 1 PUBACK only after that callback
 * (aedes lib/handlers/publish.js), so every message a device saw acknowledged is in `received`.
 * Observing here instead of through a second MQTT session makes the record authoritative.
 * `stop()` is a crash of the broker (sockets destroyed, sessions gone); `start()` brings up a fresh
 * one on the same port.
 */
export class RecordingBroker {
  port = 0
  readonly received: Recorded[] = []
  #broker: Aedes | undefined
  #server: Server | undefined
  readonly #sockets = new Set<Socket>()

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort()
    const broker = await Aedes.createBroker({
      authorizePublish: (client, packet, callback) => {
        if (client)
          this.received.push({
            clientId: client.id,
            topic: packet.topic,
            text: Buffer.from(packet.payload).toString('utf8'),
          })
        callback(null)
      },
    })
    const server = createServer((socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
      broker.handle(socket)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.#broker = broker
    this.#server = server
  }

  async stop(): Promise<void> {
    const broker = this.#broker
    const server = this.#server
    this.#broker = undefined
    this.#server = undefined
    if (!broker || !server) return
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
    await new Promise<void>((resolve) => broker.close(() => resolve()))
    await closed
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
