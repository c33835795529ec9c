/**
 * The operations endpoint every long-running command exposes (STYLE.md, convention 9):
 * `/healthz` (the process is alive), `/readyz` (its dependencies answer), `/metrics` (Prometheus).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { collectDefaultMetrics, Registry } from 'prom-client'

export interface ReadinessCheck {
  name: string
  check: () => Promise<boolean> | boolean
}

export function createRegistry(component: string): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ component })
  collectDefaultMetrics({ register: registry, prefix: 'pedepronto_' })
  return registry
}

export class OpsServer {
  readonly #registry: Registry
  readonly #checks: ReadinessCheck[]
  #server: Server | undefined

  constructor(registry: Registry, checks: ReadinessCheck[] = []) {
    this.#registry = registry
    this.#checks = checks
  }

  async start(host: string, port: number): Promise<{ host: string; port: number }> {
    const server = createServer((req, res) => {
      void this.#handle(req.url ?? '/').then(
        ({ status, type, body }) => {
          res.writeHead(status, { 'content-type': type })
          res.end(body)
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' })
          res.end(String(error))
        },
      )
    })
    this.#server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => resolve())
    })
    const address = server.address() as AddressInfo
    return { host: address.address, port: address.port }
  }

  async #handle(url: string): Promise<{ status: number; type: string; body: string }> {
    const path = url.split('?')[0]
    if (path === '/healthz') return { status: 200, type: 'text/plain', body: 'ok\n' }
    if (path === '/readyz') {
      const results = await Promise.all(
        this.#checks.map(async (c) => {
          try {
            return { name: c.name, ok: await c.check() }
          } catch {
            return { name: c.name, ok: false }
          }
        }),
      )
      const ready = results.every((r) => r.ok)
      return {
        status: ready ? 200 : 503,
        type: 'application/json',
        body: `${JSON.stringify({ ready, checks: results })}\n`,
      }
    }
    if (path === '/metrics') {
      return { status: 200, type: this.#registry.contentType, body: await this.#registry.metrics() }
    }
    return { status: 404, type: 'text/plain', body: 'not found: try /healthz, /readyz or /metrics\n' }
  }

  async stop(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    if (!server) return
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
