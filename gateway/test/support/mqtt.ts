/**
 * mqtt.js clients for broker tests: connect and get the client, or connect and get how the gateway
 * refused — a CONNACK return code (MQTT 3.1.1 §3.2.2.3; mqtt.js puts it in `error.code`), or the
 * TLS alert / socket error when the refusal came before MQTT.
 */
import mqtt from 'mqtt'

export type ClientOptions = mqtt.IClientOptions

/** Connects once (no reconnect); rejects with the first error, or when closed before CONNACK. */
export function connectClient(url: string, options: ClientOptions): Promise<mqtt.MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options })
    client.once('connect', () => resolve(client))
    client.once('error', (error) => {
      client.end(true)
      reject(error)
    })
    client.once('close', () => reject(new Error('closed before CONNACK')))
  })
}

export interface Refusal {
  /** The CONNACK return code (a number), or the Node/OpenSSL error code (a string). */
  code: number | string | undefined
  message: string
}

/** Connects expecting a refusal; fails the test if the connection is accepted. */
export async function refusal(url: string, options: ClientOptions): Promise<Refusal> {
  let client: mqtt.MqttClient
  try {
    client = await connectClient(url, options)
  } catch (error) {
    const e = error as Error & { code?: number | string }
    return { code: e.code, message: e.message }
  }
  await client.endAsync()
  throw new Error(`expected ${options.clientId} to be refused by ${url}, but it connected`)
}

/** Resolves when the client's connection is closed (at once if it is already). */
export function closed(client: mqtt.MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve()
    client.once('close', () => resolve())
  })
}

/** Records every message that arrives on `client` from now on (topic and payload as text). */
export function collect(client: mqtt.MqttClient): { topic: string; payload: string }[] {
  const received: { topic: string; payload: string }[] = []
  client.on('message', (topic, payload) => received.push({ topic, payload: payload.toString() }))
  return received
}
