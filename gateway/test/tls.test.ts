/**
 * Production profile: MQTT over TLS and over secure WebSocket, both with client certificates from our
 * CA. A missing, foreign or revoked certificate is refused at the handshake (a TLS alert, before any
 * MQTT); a client id that is not the certificate's device is refused at CONNECT with return code 2;
 * a valid device works on either listener, and a revoke takes effect without a restart. A tokens file
 * is configured too: on TLS the certificate is the identity, so no user name or token is asked for.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsSocket } from 'node:tls'
import { initCa, issueDevice, issueServer, revokeDevice } from '@pedepronto/certs'
import { loadConfig } from '@pedepronto/common'
import { encodeEvent, KAFKA_TOPICS, parseIngestedEvent, topicName } from '@pedepronto/contracts'
import { uniqueName } from '@pedepronto/infra'
import { Kafka, logLevel } from 'kafkajs'
import type mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { hashToken } from '../src/broker/tokens.js'
import { Gateway, GatewayConfigSchema } from '../src/index.js'
import { captureLog } from './support/gateway.js'
import { readRecords } from './support/kafka.js'
import { connectClient, refusal } from './support/mqtt.js'
import { ratedEvent } from './support-events.js'

const brokers = inject('kafkaBrokers')

function tlsOptions(
  clientId: string,
  certsDir: string,
  device?: string,
  ca = join(certsDir, 'ca', 'ca.pem'),
): mqtt.IClientOptions {
  return {
    clientId,
    ca: readFileSync(ca),
    ...(device
      ? {
          cert: readFileSync(join(certsDir, 'devices', `${device}.pem`)),
          key: readFileSync(join(certsDir, 'devices', `${device}.key`)),
        }
      : {}),
    rejectUnauthorized: true,
  }
}

function tlsConnect(url: string, clientId: string, certsDir: string, device?: string, ca?: string) {
  return connectClient(url, tlsOptions(clientId, certsDir, device, ca))
}

/**
 * The TLS alert the gateway answers a handshake with, read on a bare TLS socket that sends nothing:
 * in TLS 1.3 the server checks the client certificate after the client has finished its side, so an
 * MQTT client may already be writing CONNECT when the alert arrives and report only the closed
 * socket (mqtt.js does so now and then). Resolves with the OpenSSL error code, or 'accepted' when the
 * connection is still open after 2 s.
 */
function tlsAlert(url: string, options: mqtt.IClientOptions): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = tlsSocket({
      host: hostname,
      port: Number(port),
      ca: options.ca as Buffer,
      ...(options.cert ? { cert: options.cert as Buffer, key: options.key as Buffer } : {}),
      servername: 'localhost',
      rejectUnauthorized: true,
    })
    const timer = setTimeout(() => {
      socket.destroy()
      resolve('accepted')
    }, 2_000)
    socket.once('error', (error: Error & { code?: string }) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(error.code ?? error.message)
    })
    socket.once('close', () => {
      clearTimeout(timer)
      resolve('closed without an alert')
    })
  })
}

// OpenSSL's client-side code for the alert the server sends when a client gives no certificate at all
// (TLS 1.3, RFC 8446 §4.4.2.4). A certificate from a CA we do not trust or on our CRL fails the
// handshake too, but the client cannot tell reliably how (alert or closed socket).
const CERTIFICATE_REQUIRED = 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'

describe('gateway production profile (mTLS)', () => {
  const prefix = uniqueName('gwtls')
  const root = mkdtempSync(join(tmpdir(), 'pp-gw-tls-'))
  const certsDir = join(root, 'certs')
  const foreignDir = join(root, 'foreign')
  let gateway: Gateway
  let url: string
  let wssUrl: string
  let opsUrl: string
  const log = captureLog()

  beforeAll(async () => {
    await initCa(certsDir, {})
    await issueServer(certsDir, 'gateway', ['DNS:localhost', 'IP:127.0.0.1'])
    await issueDevice(certsDir, 'kiosk-1', 'r001', {})
    await issueDevice(certsDir, 'kiosk-2', 'r001', {})
    await issueDevice(certsDir, 'kiosk-3', 'r001', {})
    await issueDevice(certsDir, 'app-ws-1', 'r001', {})
    await initCa(foreignDir, {})
    await issueDevice(foreignDir, 'kiosk-1', 'r001', {})
    // Lists only another device: a certificate client asked for a token would be refused.
    const tokensFile = join(root, 'tokens')
    writeFileSync(tokensFile, `kiosk-other ${hashToken('not-used-on-tls').toString('hex')}\n`)
    const config = loadConfig('gateway', GatewayConfigSchema, {
      env: {},
      flags: {
        'gateway.profile': 'production',
        'gateway.mqttsPort': 0,
        'gateway.wsPort': 0,
        'gateway.wsHost': '127.0.0.1',
        'gateway.certsDir': certsDir,
        'gateway.outboxDir': join(root, 'outbox'),
        'gateway.tokensFile': tokensFile,
        'gateway.lingerMs': 2,
        'kafka.brokers': brokers,
        'kafka.topicPrefix': prefix,
        'ops.port': 0,
      },
    })
    gateway = new Gateway(config, { logger: log.logger })
    const addresses = await gateway.start()
    expect(addresses.mqtt).toBeUndefined()
    url = addresses.mqtts as string
    wssUrl = addresses.ws as string
    opsUrl = addresses.ops as string
    expect(wssUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/)
  })

  afterAll(async () => {
    await gateway?.stop()
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    await admin
      .deleteTopics({ topics: (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`)) })
      .catch(() => undefined)
    await admin.disconnect()
    rmSync(root, { recursive: true, force: true })
  })

  it('accepts a device with its own certificate and no token, and takes its events', async () => {
    const client = await tlsConnect(url, 'kiosk-1', certsDir, 'kiosk-1')
    const event = ratedEvent({ device: 'kiosk-1', order: 'o-tls-1' })
    await client.publishAsync('pp/v1/r001/kiosk-1/evt/order.rated', Buffer.from(encodeEvent(event)), {
      qos: 1,
    })
    expect(client.connected).toBe(true)
    await client.endAsync()
    const records = await readRecords(brokers, [topicName(KAFKA_TOPICS.orders.name, prefix)])
    const mine = records.filter((r) => r.key === 'o-tls-1')
    expect(mine.map((r) => r.headers)).toEqual(['pp-transport=mqtts,pp-gateway-id=gw-local'])
  })

  it('takes events over wss from a device with its certificate, with transport ws', async () => {
    const client = await connectClient(wssUrl, tlsOptions('app-ws-1', certsDir, 'app-ws-1'))
    const event = ratedEvent({ device: 'app-ws-1', order: 'o-wss-1', seq: 3 })
    // The PUBACK comes only once the event is durable, so it is readable at once.
    await client.publishAsync('pp/v1/r001/app-ws-1/evt/order.rated', Buffer.from(encodeEvent(event)), {
      qos: 1,
    })
    await client.endAsync()
    const records = (await readRecords(brokers, [topicName(KAFKA_TOPICS.orders.name, prefix)])).filter(
      (r) => r.key === 'o-wss-1',
    )
    expect(records).toHaveLength(1)
    expect(records[0]?.headers).toBe('pp-transport=ws,pp-gateway-id=gw-local')
    const ingested = parseIngestedEvent(records[0]?.value ?? '')
    expect(ingested.ok && ingested.value).toMatchObject({
      event_id: event.event_id,
      device_id: 'app-ws-1',
      transport: 'ws',
    })
  })

  it('refuses a wss client without a certificate at the handshake', async () => {
    const options = tlsOptions('app-ws-1', certsDir)
    await refusal(wssUrl, options)
    expect(await tlsAlert(wssUrl, options)).toBe(CERTIFICATE_REQUIRED)
  })

  it('refuses a client without a certificate', async () => {
    const options = tlsOptions('kiosk-1', certsDir)
    await refusal(url, options)
    expect(await tlsAlert(url, options)).toBe(CERTIFICATE_REQUIRED)
  })

  it('refuses a certificate from a foreign CA', async () => {
    const options = tlsOptions('kiosk-1', foreignDir, 'kiosk-1', join(certsDir, 'ca', 'ca.pem'))
    await refusal(url, options)
    // The handshake fails before MQTT (the client sees the socket close, with or without an alert
    // depending on timing), and the gateway logs the refusal with its listener.
    const logged = log.find('TLS handshake refused').length
    expect(await tlsAlert(url, options)).not.toBe('accepted')
    await vi.waitFor(() => expect(log.find('TLS handshake refused').length).toBeGreaterThan(logged))
    expect(log.find('TLS handshake refused').at(-1)).toMatchObject({ listener: 'mqtts' })
  })

  it('refuses a client id that is not the certificate’s device with CONNACK 2', async () => {
    const refused = await refusal(url, tlsOptions('kiosk-9', certsDir, 'kiosk-2'))
    expect(refused).toEqual({ code: 2, message: 'Connection refused: Identifier rejected' })
    const metrics = await (await fetch(`${opsUrl}/metrics`)).text()
    expect(metrics).toMatch(/pedepronto_gateway_acl_denied_total\{what="client-id",component="gateway"\} 1\n/)
  })

  it('refuses a device once it is revoked, without a restart, and keeps serving the others', async () => {
    const before = await tlsConnect(url, 'kiosk-3', certsDir, 'kiosk-3')
    await before.endAsync()
    await revokeDevice(certsDir, 'kiosk-3')
    // The gateway polls the CRL file once a second.
    const options = tlsOptions('kiosk-3', certsDir, 'kiosk-3')
    let alert = 'accepted'
    for (let i = 0; i < 20 && alert === 'accepted'; i++) {
      await new Promise((r) => setTimeout(r, 500))
      alert = await tlsAlert(url, options)
    }
    expect(alert).not.toBe('accepted')
    await refusal(url, options)
    const other = await tlsConnect(url, 'kiosk-2', certsDir, 'kiosk-2')
    expect(other.connected).toBe(true)
    await other.endAsync()
  })
})
