/**
 * MQTT adapter (mqtt.js v5) behind DeviceTransport. mqtt.js's own reconnect is off
 * (`reconnectPeriod: 0`): the firmware owns backoff with jitter, and a dead connection rejects every
 * pending publish here so the firmware can put those messages back at the head of its queue.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { commandSubscription } from '@pedepronto/contracts'
import { connect, type IClientOptions, type MqttClient } from 'mqtt'
import { SimError } from '../errors.js'
import type { DeviceTransport, OutboundMessage } from './types.js'

export interface MqttTransportOptions {
  url: string
  deviceId: string
  restaurantId: string
  /** Folder with ca.pem, <device_id>.pem and <device_id>.key; mutual TLS when given. */
  tlsDir?: string
  connectTimeoutMs?: number
  keepaliveS?: number
  /** MQTT clean session (3.1.1 §3.1.2.4); false keeps the broker-side session across reconnects. */
  clean?: boolean
}

/** Reads a device's TLS material, failing with the path that is missing. */
export function deviceTls(tlsDir: string, deviceId: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  const read = (name: string) => {
    const path = join(tlsDir, name)
    try {
      return readFileSync(path)
    } catch (error) {
      throw new SimError('SIM_TLS_MISSING', `cannot read ${path} for device ${deviceId}`, {
        cause: error,
        hint: `create it with \`pedepronto certs device ${deviceId} --out ${tlsDir}\` or leave --tls-dir out`,
      })
    }
  }
  return { ca: read('ca.pem'), cert: read(`${deviceId}.pem`), key: read(`${deviceId}.key`) }
}

/** mqtt.js copies these into each packet; one shared object spares an allocation per publish. */
const QOS1 = { qos: 1 } as const

/**
 * mqtt.js logs through `debug` on every packet (several calls per publish); even disabled that
 * costs a few per cent of a loaded fleet's CPU. Keep it only when someone asked for it.
 */
const MQTT_DEBUG = /mqttjs/.test(process.env.DEBUG ?? '')
const noLog = () => {}

/** The payload as a Buffer without copying when it already is one (the runner hands Buffers). */
function asBuffer(payload: Uint8Array): Buffer {
  return Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
}

export class MqttTransport implements DeviceTransport {
  readonly kind: 'mqtt' | 'mqtts'
  readonly #options: MqttTransportOptions
  #client: MqttClient | undefined
  readonly #pending = new Set<(error: Error) => void>()
  #commandHandler: (payload: Uint8Array, topic: string) => void = () => {}
  #disconnectHandler: (error: Error) => void = () => {}
  #closed = false
  #corked = false

  constructor(options: MqttTransportOptions) {
    this.#options = options
    this.kind = options.tlsDir || options.url.startsWith('mqtts:') ? 'mqtts' : 'mqtt'
  }

  connect(): Promise<void> {
    const o = this.#options
    const opts: IClientOptions = {
      clientId: o.deviceId,
      clean: o.clean ?? true,
      reconnectPeriod: 0,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      keepalive: o.keepaliveS ?? 60,
      protocolVersion: 4,
      resubscribe: false,
      // By default mqtt.js clears and re-creates its keepalive interval on every packet it sends
      // or receives; a fixed ping schedule is enough for a device (MQTT 3.1.1 §3.1.2.10) and saves
      // two timer operations per message.
      reschedulePings: false,
    }
    if (!MQTT_DEBUG) opts.log = noLog
    if (o.tlsDir) Object.assign(opts, deviceTls(o.tlsDir, o.deviceId), { rejectUnauthorized: true })
    return new Promise((resolve, reject) => {
      const client = connect(o.url, opts)
      this.#client = client
      // Nagle's algorithm holds a small PUBLISH back until the previous segment is acknowledged;
      // with delayed ACKs that costs up to 40 ms per message on a busy link. mqtt.js creates the
      // socket synchronously in connect() and does not expose the option; Node applies it once
      // the socket connects.
      const stream = client.stream as { setNoDelay?: (noDelay: boolean) => unknown } | undefined
      stream?.setNoDelay?.(true)
      let up = false
      const fail = (error: Error) => {
        if (up) return
        up = true
        client.end(true)
        reject(
          new SimError(
            'SIM_CONNECT_FAILED',
            `device ${o.deviceId} cannot connect to ${o.url}: ${error.message}`,
            {
              cause: error,
              canRetry: true,
            },
          ),
        )
      }
      client.once('error', fail)
      client.once('close', () => {
        if (!up) fail(new Error('connection closed before CONNACK'))
        else this.#lost(client, new Error('connection closed'))
      })
      client.on('message', (topic, payload) => this.#commandHandler(payload, topic))
      client.once('connect', () => {
        client.removeListener('error', fail)
        client.on('error', () => {})
        client.subscribe(commandSubscription(o.restaurantId, o.deviceId), { qos: 1 }, (error) => {
          if (error) {
            fail(error)
            return
          }
          up = true
          resolve()
        })
      })
    })
  }

  publish(message: OutboundMessage): Promise<void> {
    const client = this.#client
    if (client === undefined || !client.connected) {
      return Promise.reject(new SimError('SIM_DISCONNECTED', 'not connected', { canRetry: true }))
    }
    return new Promise((resolve, reject) => {
      let settled = false
      const onLost = (error: Error) => {
        if (settled) return
        settled = true
        reject(error)
      }
      this.#pending.add(onLost)
      this.#corkForTurn(client)
      // With QoS 1 mqtt.js calls back when the PUBACK arrives (MQTT 3.1.1 §4.3.2).
      client.publish(message.topic, asBuffer(message.payload), QOS1, (error) => {
        this.#pending.delete(onLost)
        if (settled) return
        settled = true
        if (error) reject(new SimError('SIM_DISCONNECTED', error.message, { cause: error, canRetry: true }))
        else resolve()
      })
    })
  }

  /**
   * mqtt-packet corks the socket per packet and uncorks on the next tick, so one packet is one
   * write syscall. Holding the cork until the end of this event-loop turn lets every message this
   * device sends in the turn (several acks read at once free several window slots) share one.
   */
  #corkForTurn(client: MqttClient): void {
    if (this.#corked) return
    const stream = client.stream as { cork?: () => void; uncork?: () => void } | undefined
    if (!stream?.cork || !stream.uncork) return
    this.#corked = true
    stream.cork()
    setImmediate(() => {
      this.#corked = false
      stream.uncork?.()
    })
  }

  onCommand(handler: (payload: Uint8Array, topic: string) => void): void {
    this.#commandHandler = handler
  }

  onDisconnect(handler: (error: Error) => void): void {
    this.#disconnectHandler = handler
  }

  drop(): void {
    const client = this.#client
    if (client === undefined) return
    // Destroying the socket is what a Wi-Fi drop looks like to the broker: no DISCONNECT packet.
    client.stream?.destroy()
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#rejectPending(new SimError('SIM_CLOSED', 'transport closed'))
    const client = this.#client
    this.#client = undefined
    if (client) await new Promise<void>((resolve) => client.end(true, {}, () => resolve()))
  }

  #lost(client: MqttClient, error: Error): void {
    if (this.#client !== client) return
    this.#client = undefined
    // Messages mqtt.js still holds would only be resent by this client object; we drop it and let
    // the firmware resend them on the next connection, ahead of newer messages.
    client.end(true)
    this.#rejectPending(new SimError('SIM_DISCONNECTED', error.message, { cause: error, canRetry: true }))
    if (!this.#closed) this.#disconnectHandler(error)
  }

  #rejectPending(error: Error): void {
    const pending = [...this.#pending]
    this.#pending.clear()
    for (const reject of pending) reject(error)
  }
}
