/**
 * The gateway's listeners: plaintext MQTT (local profile, loopback only), MQTT over TLS with client
 * certificates from our CA (and its CRL), and MQTT over WebSocket for app clients (plain on loopback
 * in the local profile, over TLS with client certificates in production).
 */
import { existsSync, readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { type AddressInfo, createServer as createNetServer, isIPv4, type Server as NetServer } from 'node:net'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { createServer as createTlsServer, type TlsOptions } from 'node:tls'
import { createWebSocketStream, WebSocketServer } from 'ws'
import { GatewayError } from '../errors.js'

export type Handle = (stream: Duplex, request?: IncomingMessage) => unknown

export interface TlsMaterial {
  options: TlsOptions
  crlPath: string | undefined
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'))
}

/** Reads the CA, server certificate and CRL made by `pedepronto certs`. */
export function loadTlsMaterial(certsDir: string, serverName: string): TlsMaterial {
  const ca = join(certsDir, 'ca', 'ca.pem')
  const cert = join(certsDir, 'server', `${serverName}.pem`)
  const key = join(certsDir, 'server', `${serverName}.key`)
  const missing = [ca, cert, key].filter((p) => !existsSync(p))
  if (missing.length > 0) {
    throw new GatewayError('GW_TLS_CONFIG', `TLS material missing: ${missing.join(', ')}`, {
      hint: 'run `pedepronto certs init` and `pedepronto certs issue-server`, or point gateway.certsDir at them',
    })
  }
  const crlPath = join(certsDir, 'ca', 'crl.pem')
  const options: TlsOptions = {
    ca: readFileSync(ca),
    cert: readFileSync(cert),
    key: readFileSync(key),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  }
  if (existsSync(crlPath)) options.crl = readFileSync(crlPath)
  return { options, crlPath: existsSync(crlPath) ? crlPath : undefined }
}

export interface Listener {
  name: 'mqtt' | 'mqtts' | 'ws' | 'wss'
  host: string
  port: number
  close(): Promise<void>
  /** New TLS material (a re-signed CRL after a revoke) for new handshakes; no-op without TLS. */
  reload(tls: TlsMaterial): void
}

function listen(server: NetServer | HttpServer, host: string, port: number, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new GatewayError(
          'GW_LISTEN_FAILED',
          `cannot listen for ${name} on ${host}:${port}: ${(error as Error).message}`,
          {
            hint: `choose another port (gateway.${name === 'mqtt' ? 'mqttPort' : name === 'mqtts' ? 'mqttsPort' : 'wsPort'}) or stop what uses it`,
            cause: error,
          },
        ),
      ),
    )
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port))
  })
}

function closer(server: NetServer | HttpServer, extra?: () => void): () => Promise<void> {
  return () => {
    extra?.()
    // Stop accepting now. A net.Server's close callback waits for every open connection, and those
    // are ended by aedes.close() later in Gateway.stop(): waiting here would deadlock the stop.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    if ('closeAllConnections' in server && typeof server.closeAllConnections === 'function')
      server.closeAllConnections()
    void closed
    return Promise.resolve()
  }
}

export async function listenMqtt(handle: Handle, host: string, port: number): Promise<Listener> {
  const server = createNetServer((socket) => handle(socket))
  const actual = await listen(server, host, port, 'mqtt')
  return { name: 'mqtt', host, port: actual, close: closer(server), reload: () => {} }
}

/**
 * Called for a TLS handshake the server refused: no client certificate (the client gets a
 * certificate_required alert), one from another CA or a revoked one (Node checks these after the
 * handshake and closes the connection without an alert), or no TLS at all. The device never reaches
 * MQTT, so this is the only place its refusal can be logged.
 */
export type TlsRefused = (error: Error & { code?: string }, remote: string | undefined) => void

function watchHandshakes(server: NetServer | HttpServer, onRefused: TlsRefused | undefined): void {
  if (!onRefused) return
  server.on('tlsClientError', (error: Error & { code?: string }, socket: { remoteAddress?: string }) =>
    onRefused(error, socket.remoteAddress),
  )
}

export async function listenMqtts(
  handle: Handle,
  host: string,
  port: number,
  tls: TlsMaterial,
  onRefused?: TlsRefused,
): Promise<Listener> {
  const server = createTlsServer(tls.options, (socket) => handle(socket))
  watchHandshakes(server, onRefused)
  const actual = await listen(server, host, port, 'mqtts')
  return {
    name: 'mqtts',
    host,
    port: actual,
    close: closer(server),
    reload: (next) => server.setSecureContext(next.options),
  }
}

export async function listenWs(
  handle: Handle,
  host: string,
  port: number,
  tls: TlsMaterial | undefined,
  onRefused?: TlsRefused,
): Promise<Listener> {
  const server = tls ? createHttpsServer(tls.options) : createHttpServer()
  if (tls) watchHandshakes(server, onRefused)
  const wss = new WebSocketServer({ server, perMessageDeflate: false })
  wss.on('connection', (socket, request) => {
    handle(createWebSocketStream(socket), request)
  })
  const actual = await listen(server, host, port, 'ws')
  return {
    name: tls ? 'wss' : 'ws',
    host,
    port: actual,
    close: closer(server, () => wss.close()),
    reload: (next) => {
      if ('setSecureContext' in server) server.setSecureContext(next.options)
    },
  }
}
