/**
 * Production profile: MQTT over TLS with client certificates from our CA. A missing, foreign or
 * revoked certificate is refused at the handshake; a client id that is not the certificate's device
 * is refused at CONNECT; a valid device works, and a revoke takes effect without a restart.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initCa, issueDevice, issueServer, revokeDevice } from '@pedepronto/certs'
import { loadConfig } from '@pedepronto/common'
import { encodeEvent } from '@pedepronto/contracts'
import { uniqueName } from '@pedepronto/infra'
import { Kafka, logLevel } from 'kafkajs'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Gateway, GatewayConfigSchema } from '../src/index.js'
import { ratedEvent } from './support-events.js'

const brokers = inject('kafkaBrokers')

function tlsConnect(
  url: string,
  clientId: string,
  certsDir: string,
  device?: string,
  ca = join(certsDir, 'ca', 'ca.pem'),
) {
  return new Promise<mqtt.MqttClient>((resolve, reject) => {
    const client = mqtt.connect(url, {
      clientId,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      ca: readFileSync(ca),
      ...(device
        ? {
            cert: readFileSync(join(certsDir, 'devices', `${device}.pem`)),
            key: readFileSync(join(certsDir, 'devices', `${device}.key`)),
          }
        : {}),
      rejectUnauthorized: true,
    })
    client.once('connect', () => resolve(client))
    client.once('error', (error) => {
      client.end(true)
      reject(error)
    })
    client.once('close', () => reject(new Error('closed before CONNACK')))
  })
}

describe('gateway production profile (mTLS)', () => {
  const prefix = uniqueName('gwtls')
  const root = mkdtempSync(join(tmpdir(), 'pp-gw-tls-'))
  const certsDir = join(root, 'certs')
  const foreignDir = join(root, 'foreign')
  let gateway: Gateway
  let url: string

  beforeAll(async () => {
    await initCa(certsDir, {})
    await issueServer(certsDir, 'gateway', ['DNS:localhost', 'IP:127.0.0.1'])
    await issueDevice(certsDir, 'kiosk-1', 'r001', {})
    await issueDevice(certsDir, 'kiosk-2', 'r001', {})
    await issueDevice(certsDir, 'kiosk-3', 'r001', {})
    await initCa(foreignDir, {})
    await issueDevice(foreignDir, 'kiosk-1', 'r001', {})
    const config = loadConfig('gateway', GatewayConfigSchema, {
      env: {},
      flags: {
        'gateway.profile': 'production',
        'gateway.mqttsPort': 0,
        'gateway.wsPort': 0,
        'gateway.wsHost': '127.0.0.1',
        'gateway.certsDir': certsDir,
        'gateway.outboxDir': join(root, 'outbox'),
        'kafka.brokers': brokers,
        'kafka.topicPrefix': prefix,
        'ops.port': 0,
      },
    })
    gateway = new Gateway(config)
    const addresses = await gateway.start()
    expect(addresses.mqtt).toBeUndefined()
    url = addresses.mqtts as string
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

  it('accepts a device with its own certificate and takes its events', async () => {
    const client = await tlsConnect(url, 'kiosk-1', certsDir, 'kiosk-1')
    await client.publishAsync(
      'pp/v1/r001/kiosk-1/evt/order.rated',
      Buffer.from(encodeEvent(ratedEvent({ device: 'kiosk-1' }))),
      { qos: 1 },
    )
    expect(client.connected).toBe(true)
    await client.endAsync()
  })

  it('refuses a client without a certificate', async () => {
    await expect(tlsConnect(url, 'kiosk-1', certsDir)).rejects.toThrow()
  })

  it('refuses a certificate from a foreign CA', async () => {
    await expect(
      tlsConnect(url, 'kiosk-1', foreignDir, 'kiosk-1', join(certsDir, 'ca', 'ca.pem')),
    ).rejects.toThrow()
  })

  it('refuses a client id that is not the certificate’s device', async () => {
    await expect(tlsConnect(url, 'kiosk-9', certsDir, 'kiosk-2')).rejects.toThrow(
      /Identifier rejected|identifier/i,
    )
  })

  it('refuses a device once it is revoked, without a restart, and keeps serving the others', async () => {
    const before = await tlsConnect(url, 'kiosk-3', certsDir, 'kiosk-3')
    await before.endAsync()
    await revokeDevice(certsDir, 'kiosk-3')
    // The gateway polls the CRL file once a second.
    let refused = false
    for (let i = 0; i < 20 && !refused; i++) {
      await new Promise((r) => setTimeout(r, 500))
      refused = await tlsConnect(url, 'kiosk-3', certsDir, 'kiosk-3').then(
        async (c) => {
          await c.endAsync()
          return false
        },
        () => true,
      )
    }
    expect(refused).toBe(true)
    const other = await tlsConnect(url, 'kiosk-2', certsDir, 'kiosk-2')
    expect(other.connected).toBe(true)
    await other.endAsync()
  })
})
