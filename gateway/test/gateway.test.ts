/**
 * The gateway against the real Kafka from the services, spoken to by clients we did not write
 * (mosquitto_pub, kcat) as well as mqtt.js.
 */
import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { loadConfig, seededRandom } from '@pedepronto/common'
import {
  type Command,
  commandTopic,
  encodeCommand,
  encodeEvent,
  KAFKA_TOPICS,
  parseDeadLetter,
  parseIngestedEvent,
  topicName,
  uuidv7,
} from '@pedepronto/contracts'
import { uniqueName } from '@pedepronto/infra'
import { Kafka, logLevel, Partitioners } from 'kafkajs'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Gateway, GatewayConfigSchema } from '../src/index.js'
import { ratedEvent } from './support-events.js'

const brokers = inject('kafkaBrokers')
const execFileAsync = promisify(execFile)

function kcat(topic: string): { key: string; partition: number; headers: string; value: string }[] {
  const r = spawnSync(
    'kcat',
    ['-C', '-b', brokers.join(','), '-t', topic, '-e', '-q', '-f', '%k\t%p\t%h\t%s\n'],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  )
  if (r.status !== 0) throw new Error(`kcat failed: ${r.stderr}`)
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [key, partition, headers, ...value] = l.split('\t')
      return {
        key: key as string,
        partition: Number(partition),
        headers: headers as string,
        value: value.join('\t'),
      }
    })
}

async function waitFor<T>(fn: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = fn()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 200))
  }
}

function connect(url: string, clientId: string): Promise<mqtt.MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { clientId, reconnectPeriod: 0, connectTimeout: 5_000 })
    client.once('connect', () => resolve(client))
    client.once('error', reject)
  })
}

function closed(client: mqtt.MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve()
    client.once('close', () => resolve())
  })
}

describe('gateway (local profile) against the real Kafka', () => {
  const prefix = uniqueName('gwt')
  const outboxDir = mkdtempSync(join(tmpdir(), 'pp-gw-outbox-'))
  let gateway: Gateway
  let mqttUrl: string
  let opsUrl: string

  beforeAll(async () => {
    const config = loadConfig('gateway', GatewayConfigSchema, {
      env: {},
      flags: {
        'gateway.mqttPort': 0,
        'gateway.wsPort': 0,
        'gateway.outboxDir': outboxDir,
        'gateway.maxPayloadBytes': 4096,
        'gateway.lingerMs': 2,
        'kafka.brokers': brokers,
        'kafka.topicPrefix': prefix,
        'ops.port': 0,
      },
    })
    gateway = new Gateway(config)
    const addresses = await gateway.start()
    mqttUrl = addresses.mqtt as string
    opsUrl = addresses.ops as string
  })

  afterAll(async () => {
    await gateway?.stop()
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`))
    await admin.deleteTopics({ topics: mine }).catch(() => undefined)
    await admin.disconnect()
    rmSync(outboxDir, { recursive: true, force: true })
  })

  it('turns a QoS 1 publish from mosquitto_pub into one Kafka record with topic, key, partition and headers', async () => {
    const event = ratedEvent({ order: 'o-mosq-1', device: 'kiosk-7', seq: 42 })
    const [host, port] = mqttUrl.replace('mqtt://', '').split(':')
    // Not spawnSync: the gateway runs in this process and must answer while mosquitto_pub waits.
    const pub = await execFileAsync(
      'mosquitto_pub',
      [
        '-h',
        host as string,
        '-p',
        port as string,
        '-i',
        'kiosk-7',
        '-q',
        '1',
        '-t',
        'pp/v1/r001/kiosk-7/evt/order.rated',
        '-m',
        Buffer.from(encodeEvent(event)).toString(),
      ],
      { encoding: 'utf8', timeout: 10_000 },
    )
    expect(pub.stderr).toBe('')
    const topic = topicName(KAFKA_TOPICS.orders.name, prefix)
    // PUBACK came after acks=all: the record is readable at once.
    const records = kcat(topic).filter((r) => r.key === 'o-mosq-1')
    expect(records).toHaveLength(1)
    const record = records[0]!
    const partitioner = Partitioners.DefaultPartitioner()
    const expected = partitioner({
      topic,
      partitionMetadata: Array.from({ length: KAFKA_TOPICS.orders.partitions }, (_, i) => ({
        partitionId: i,
        leader: 1,
        partitionErrorCode: 0,
        replicas: [1],
        isr: [1],
      })),
      message: { key: 'o-mosq-1', value: '' },
    })
    expect(record.partition).toBe(expected)
    expect(record.headers).toBe('pp-transport=mqtt,pp-gateway-id=gw-local')
    const ingested = parseIngestedEvent(record.value)
    expect(ingested.ok).toBe(true)
    if (ingested.ok) {
      expect(ingested.value.event_id).toBe(event.event_id)
      expect(ingested.value.transport).toBe('mqtt')
      expect(ingested.value.gateway_id).toBe('gw-local')
    }
  })

  it('refuses a spoofed topic and a foreign subscription by disconnecting, while others keep working', async () => {
    const honest = await connect(mqttUrl, 'kiosk-honest')
    const spoofer = await connect(mqttUrl, 'kiosk-spoof')
    const spoofClosed = closed(spoofer)
    spoofer.publish(
      'pp/v1/r001/kiosk-honest/evt/order.rated',
      Buffer.from(encodeEvent(ratedEvent({ device: 'kiosk-honest' }))),
      { qos: 1 },
    )
    await spoofClosed
    const snoop = await connect(mqttUrl, 'pager-snoop')
    const snoopClosed = closed(snoop)
    snoop.subscribe('pp/v1/r001/pager-other/cmd/+', { qos: 1 })
    await snoopClosed
    const event = ratedEvent({ device: 'kiosk-honest', order: 'o-honest', seq: 9 })
    await honest.publishAsync('pp/v1/r001/kiosk-honest/evt/order.rated', Buffer.from(encodeEvent(event)), {
      qos: 1,
    })
    expect(honest.connected).toBe(true)
    const found = kcat(topicName(KAFKA_TOPICS.orders.name, prefix)).filter((r) => r.key === 'o-honest')
    expect(found).toHaveLength(1)
    await honest.endAsync()
    const metrics = await (await fetch(`${opsUrl}/metrics`)).text()
    expect(metrics).toMatch(/pedepronto_gateway_acl_denied_total\{what="publish",component="gateway"\} [1-9]/)
    expect(metrics).toMatch(
      /pedepronto_gateway_acl_denied_total\{what="subscribe",component="gateway"\} [1-9]/,
    )
  })

  it('puts malformed, schema-violating, mismatched and oversized payloads in the dead-letter topic with reasons', async () => {
    const client = await connect(mqttUrl, 'kiosk-bad')
    const topic = 'pp/v1/r001/kiosk-bad/evt/order.rated'
    await client.publishAsync(topic, Buffer.from('{"v":1,"event_id":'), { qos: 1 })
    const wrong = { ...ratedEvent({ device: 'kiosk-bad' }), payload: { order_id: 'o-1', rating: 9 } }
    await client.publishAsync(topic, Buffer.from(JSON.stringify(wrong)), { qos: 1 })
    await client.publishAsync(topic, Buffer.from(encodeEvent(ratedEvent({ device: 'kiosk-other' }))), {
      qos: 1,
    })
    await client.publishAsync(topic, Buffer.alloc(5000, 0x41), { qos: 1 })
    // A bad payload does not cost the connection.
    expect(client.connected).toBe(true)
    await client.endAsync()
    const letters = kcat(topicName(KAFKA_TOPICS.deadLetter.name, prefix))
      .map((r) => parseDeadLetter(r.value))
      .flatMap((p) => (p.ok && p.value.device_id === 'kiosk-bad' ? [p.value] : []))
    expect(letters.map((l) => l.reason).sort()).toEqual([
      'malformed_json',
      'oversized',
      'schema',
      'topic_mismatch',
    ])
    const oversized = letters.find((l) => l.reason === 'oversized')!
    expect(oversized.original_size).toBe(5000)
    expect(oversized.mqtt_topic).toBe(topic)
    const schema = letters.find((l) => l.reason === 'schema')!
    expect(schema.detail).toContain('/payload/rating')
    expect(Buffer.from(schema.original_b64, 'base64').toString()).toBe(JSON.stringify(wrong))
  })

  it('delivers commands from the commands topic to online devices, and to offline ones when they subscribe', async () => {
    const random = seededRandom(5)
    const now = Date.now()
    const command = (device: string, order: string): Command => ({
      v: 1,
      command_id: uuidv7(now, random),
      type: 'order.ready',
      device_id: device,
      restaurant_id: 'r001',
      issued_at: now,
      expires_at: now + 60_000,
      payload: { order_id: order, message: 'Pede pronto!' },
    })
    const online = await connect(mqttUrl, 'pager-1')
    await online.subscribeAsync(
      commandTopic('r001', 'pager-1', 'order.ready').replace(/order\.ready$/, '+'),
      { qos: 1 },
    )
    const received: string[] = []
    online.on('message', (_t, payload) => received.push(JSON.parse(payload.toString()).payload.order_id))
    // The downlink consumer joins its group asynchronously at start.
    const producer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).producer()
    await producer.connect()
    const commandsTopic = topicName(KAFKA_TOPICS.commands.name, prefix)
    await waitFor(() => undefined, 3_000).catch(() => undefined)
    await producer.send({
      topic: commandsTopic,
      acks: -1,
      messages: [
        { key: 'pager-1', value: Buffer.from(encodeCommand(command('pager-1', 'o-ready-1'))) },
        { key: 'pager-2', value: Buffer.from(encodeCommand(command('pager-2', 'o-ready-2'))) },
      ],
    })
    await waitFor(() => (received.includes('o-ready-1') ? true : undefined), 30_000)
    const later = await connect(mqttUrl, 'pager-2')
    const laterReceived: string[] = []
    later.on('message', (_t, payload) => laterReceived.push(JSON.parse(payload.toString()).payload.order_id))
    await later.subscribeAsync('pp/v1/r001/pager-2/cmd/#', { qos: 1 })
    await waitFor(() => (laterReceived.includes('o-ready-2') ? true : undefined), 30_000)
    expect(received).toEqual(['o-ready-1'])
    expect(laterReceived).toEqual(['o-ready-2'])
    await producer.disconnect()
    await online.endAsync()
    await later.endAsync()
  })

  it('serves /healthz, /readyz and /metrics', async () => {
    expect((await fetch(`${opsUrl}/healthz`)).status).toBe(200)
    const ready = await fetch(`${opsUrl}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({
      ready: true,
      checks: [
        { name: 'kafka', ok: true },
        { name: 'outbox-below-high-water', ok: true },
      ],
    })
    const metrics = await (await fetch(`${opsUrl}/metrics`)).text()
    expect(metrics).toContain('pedepronto_gateway_kafka_produce_seconds_bucket')
    expect(metrics).toMatch(
      /pedepronto_gateway_events_durable_total\{transport="mqtt",component="gateway"\} [1-9]/,
    )
  })
})
