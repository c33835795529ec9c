// The receiving side of live tests: an MQTT subscriber that keeps every message the broker delivered
// (topic and exact payload bytes), in delivery order. A clean session, so nothing is left queued in
// the shared broker after the test.
import { connect, type IClientOptions, type MqttClient } from 'mqtt'
import { type Emission, MqttTransport, runLive, type Scenario } from '../src/index.js'

export interface Delivered {
  topic: string
  payload: Buffer
}

export interface Receiver {
  client: MqttClient
  messages: Delivered[]
  close(): Promise<void>
}

export async function receiver(
  url: string,
  filters: string | string[],
  clientId: string,
  extra: IClientOptions = {},
): Promise<Receiver> {
  const messages: Delivered[] = []
  const client = connect(url, { clientId, clean: true, reconnectPeriod: 0, protocolVersion: 4, ...extra })
  client.on('message', (topic, payload) => messages.push({ topic, payload: Buffer.from(payload) }))
  await new Promise<void>((resolve, reject) => {
    client.once('error', reject)
    client.once('connect', () =>
      client.subscribe(filters, { qos: 1 }, (error) => (error ? reject(error) : resolve())),
    )
  })
  client.on('error', () => {})
  return {
    client,
    messages,
    close: () => client.endAsync(true),
  }
}

/** Waits until `check` holds, then a further `settleMs` so that anything extra would have arrived. */
export async function settle(check: () => boolean, timeoutMs: number, what: string, settleMs = 300) {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
  await new Promise((r) => setTimeout(r, settleMs))
}

/** The device-id level of an event topic pp/v1/{restaurant}/{device}/evt/{type}. */
export function topicDevice(topic: string): string {
  return topic.split('/')[3] ?? ''
}

/** A restaurant id for this file, far from the ranges the other test files pick. */
export function restaurantBase(lo: number, span: number): number {
  return lo + Math.floor(Math.random() * span)
}

export function restaurantIdOf(index: number): string {
  return `rest-${String(index + 1).padStart(4, '0')}`
}

/** A live run of `scenario` as fast as acknowledgements allow, every device over MQTT to `url`. */
export function runOverMqtt(url: string, scenario: Scenario, onEmission: (e: Emission) => void) {
  return runLive({
    scenario,
    speed: 0,
    transportFor: (spec) =>
      new MqttTransport({ url, deviceId: spec.deviceId, restaurantId: spec.restaurantId }),
    onEmission,
  })
}
