/**
 * The downlink against the real Kafka: commands are delivered at least once up to the device's
 * acknowledgement. The downlink group's committed offset never passes a command that is held for an
 * offline device or written but not yet PUBACKed, so such a command survives the device going away
 * and the gateway being SIGKILLed (the restarted gateway consumes it again).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, seededRandom } from '@pedepronto/common'
import {
  type Command,
  commandSubscription,
  encodeCommand,
  KAFKA_TOPICS,
  parseCommand,
  topicName,
  uuidv7,
} from '@pedepronto/contracts'
import { freePort, uniqueName } from '@pedepronto/infra'
import { type Admin, Kafka, logLevel, type Producer } from 'kafkajs'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Gateway, GatewayConfigSchema } from '../src/index.js'
import { type ChildGateway, metricValue, startChildGateway } from './support/child-gateway.js'
import { waitFor } from './support/fleet.js'

const brokers = inject('kafkaBrokers')
const random = seededRandom(77)

function orderReady(device: string, order: string): Command {
  const now = Date.now()
  return {
    v: 1,
    command_id: uuidv7(now, random),
    type: 'order.ready',
    device_id: device,
    restaurant_id: 'r001',
    issued_at: now,
    expires_at: now + 600_000,
    payload: { order_id: order, message: 'Pede pronto!' },
  }
}

interface Produced {
  command: Command
  partition: number
  offset: number
}

async function produce(producer: Producer, topic: string, command: Command): Promise<Produced> {
  const [meta] = await producer.send({
    topic,
    acks: -1,
    messages: [{ key: command.device_id, value: Buffer.from(encodeCommand(command)) }],
  })
  return { command, partition: meta!.partition, offset: Number(meta!.baseOffset) }
}

/** The downlink group's committed offset of one partition (-1: none). */
async function committedOffset(admin: Admin, groupId: string, topic: string, partition: number) {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] })
  return Number(t?.partitions.find((p) => p.partition === partition)?.offset ?? -1)
}

async function waitCommitted(admin: Admin, groupId: string, topic: string, p: Produced, expected: number) {
  let last = Number.NaN
  await waitFor(
    async () => {
      last = await committedOffset(admin, groupId, topic, p.partition)
      return last === expected
    },
    20_000,
    `committed offset ${expected} on partition ${p.partition}`,
    200,
  ).catch((error: Error) => {
    throw new Error(`${error.message} (last seen ${last})`)
  })
}

/** A pager: mqtt.js with a clean session, subscribed to its command topic; records command ids. */
interface Pager {
  client: mqtt.MqttClient
  received: { id: string; qos: number }[]
}

async function pager(
  url: string,
  deviceId: string,
  options: { qos?: 0 | 1; withholdPuback?: boolean } = {},
): Promise<Pager> {
  const client = await mqtt.connectAsync(url, {
    clientId: deviceId,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
  })
  const received: Pager['received'] = []
  const record = (packet: mqtt.IPublishPacket) => {
    const parsed = parseCommand(packet.payload as Buffer)
    received.push({ id: parsed.ok ? parsed.value.command_id : 'invalid', qos: packet.qos })
  }
  if (options.withholdPuback) {
    // mqtt.js sends the PUBACK from handleMessage's callback (lib/handlers/publish.js): never calling
    // it is a device that received the command but died before acknowledging it.
    client.handleMessage = (packet) => record(packet as mqtt.IPublishPacket)
  } else {
    client.on('message', (_topic, _payload, packet) => record(packet))
  }
  await client.subscribeAsync(commandSubscription('r001', deviceId), { qos: options.qos ?? 1 })
  return { client, received }
}

const cleanups: (() => Promise<unknown>)[] = []
let admin: Admin
let producer: Producer

beforeAll(async () => {
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING })
  admin = kafka.admin()
  producer = kafka.producer()
  await admin.connect()
  await producer.connect()
})

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
  await producer?.disconnect()
  await admin?.disconnect()
}, 90_000)

function deleteTopicsLater(prefix: string): void {
  cleanups.push(async () => {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`))
    if (mine.length > 0) await admin.deleteTopics({ topics: mine })
  })
}

describe('downlink: settled only by the device (in-process gateway)', () => {
  const prefix = uniqueName('dlk')
  const gatewayId = uniqueName('gw-dl')
  const groupId = `pedepronto-gw-${gatewayId}-downlink`
  const outboxDir = mkdtempSync(join(tmpdir(), 'pp-dl-outbox-'))
  let gateway: Gateway
  let url: string
  let commandsTopic: string

  const metric = async (m: { get(): Promise<{ values: { value: number }[] }> }) =>
    (await m.get()).values.reduce((s, v) => s + v.value, 0)

  beforeAll(async () => {
    const config = loadConfig('gateway', GatewayConfigSchema, {
      env: {},
      flags: {
        'gateway.id': gatewayId,
        'gateway.mqttPort': 0,
        'gateway.wsPort': 0,
        'gateway.outboxDir': outboxDir,
        'gateway.lingerMs': 2,
        'kafka.brokers': brokers,
        'kafka.topicPrefix': prefix,
        'ops.port': 0,
      },
    })
    gateway = new Gateway(config)
    url = (await gateway.start()).mqtt as string
    commandsTopic = topicName(KAFKA_TOPICS.commands.name, prefix)
    cleanups.push(async () => rmSync(outboxDir, { recursive: true, force: true }))
    deleteTopicsLater(prefix)
    cleanups.push(() => gateway.stop())
  })

  it('holds back the commit while the device is offline, and commits past it once the device PUBACKed', async () => {
    const held = await produce(producer, commandsTopic, orderReady('dl-pager-1', 'o-1'))
    // Consumed (the downlink group joins asynchronously) and held: one unsettled command.
    await waitFor(async () => (await metric(gateway.metrics.commandsUnsettled)) === 1, 30_000, 'held')
    // Two commit ticks later the group's offset still points at the held command, not past it.
    await new Promise((r) => setTimeout(r, 2_500))
    expect(await committedOffset(admin, groupId, commandsTopic, held.partition)).toBe(held.offset)
    expect(await metric(gateway.metrics.commandsDelivered)).toBe(0)

    const p = await pager(url, 'dl-pager-1')
    cleanups.push(() => p.client.endAsync(true))
    await waitFor(() => p.received.length >= 1, 10_000, 'the held command at the pager')
    expect(p.received).toEqual([{ id: held.command.command_id, qos: 1 }])
    await waitCommitted(admin, groupId, commandsTopic, held, held.offset + 1)
    expect(await metric(gateway.metrics.commandsUnsettled)).toBe(0)
    expect(await metric(gateway.metrics.commandsAcknowledged)).toBe(1)
    await p.client.endAsync()
  })

  it('sends a command again to a device that disconnected before its PUBACK', async () => {
    const deaf = await pager(url, 'dl-pager-2', { withholdPuback: true })
    cleanups.push(() => deaf.client.endAsync(true))
    const sent = await produce(producer, commandsTopic, orderReady('dl-pager-2', 'o-2'))
    await waitFor(() => deaf.received.length >= 1, 20_000, 'the command at the deaf pager')
    expect(deaf.received).toEqual([{ id: sent.command.command_id, qos: 1 }])
    // Written, never acknowledged: still unsettled, and the commit stays at its offset.
    await new Promise((r) => setTimeout(r, 2_500))
    expect(await metric(gateway.metrics.commandsUnsettled)).toBe(1)
    expect(await committedOffset(admin, groupId, commandsTopic, sent.partition)).toBe(sent.offset)
    const redeliveredBefore = await metric(gateway.metrics.commandsRedelivered)

    // The connection drops (no DISCONNECT): the command goes back to the hold.
    const closed = new Promise<void>((resolve) => deaf.client.once('close', () => resolve()))
    deaf.client.stream.destroy()
    await closed
    await waitFor(async () => (await metric(gateway.metrics.connected)) === 0, 10_000, 'the disconnect')

    const again = await pager(url, 'dl-pager-2')
    cleanups.push(() => again.client.endAsync(true))
    await waitFor(() => again.received.length >= 1, 10_000, 'the command sent again')
    expect(again.received).toEqual([{ id: sent.command.command_id, qos: 1 }])
    await waitCommitted(admin, groupId, commandsTopic, sent, sent.offset + 1)
    expect(await metric(gateway.metrics.commandsUnsettled)).toBe(0)
    expect((await metric(gateway.metrics.commandsRedelivered)) - redeliveredBefore).toBe(1)
    await again.client.endAsync()
  })

  it('settles a command on the write when the device subscribed at QoS 0', async () => {
    const p = await pager(url, 'dl-pager-3', { qos: 0 })
    cleanups.push(() => p.client.endAsync(true))
    const ackedBefore = await metric(gateway.metrics.commandsAcknowledged)
    const sent = await produce(producer, commandsTopic, orderReady('dl-pager-3', 'o-3'))
    await waitFor(() => p.received.length >= 1, 20_000, 'the command at the QoS 0 pager')
    // Downgraded to the subscription's QoS (MQTT 3.1.1 §3.8.4): no PUBACK will come.
    expect(p.received).toEqual([{ id: sent.command.command_id, qos: 0 }])
    await waitCommitted(admin, groupId, commandsTopic, sent, sent.offset + 1)
    expect(await metric(gateway.metrics.commandsUnsettled)).toBe(0)
    expect((await metric(gateway.metrics.commandsAcknowledged)) - ackedBefore).toBe(1)
    await p.client.endAsync()
  })

  it('delivers a held command to a persistent session that reconnects without subscribing again', async () => {
    const options = { clientId: 'dl-pager-5', clean: false, protocolVersion: 4, reconnectPeriod: 0 } as const
    const first = await mqtt.connectAsync(url, options)
    await first.subscribeAsync(commandSubscription('r001', 'dl-pager-5'), { qos: 1 })
    await first.endAsync()
    await waitFor(async () => (await metric(gateway.metrics.connected)) === 0, 10_000, 'the disconnect')
    const sent = await produce(producer, commandsTopic, orderReady('dl-pager-5', 'o-5'))
    await waitFor(async () => (await metric(gateway.metrics.commandsUnsettled)) === 1, 20_000, 'held')
    // The session (and its subscription) is restored at CONNECT; no SUBSCRIBE, so no 'subscribe' event.
    const received: string[] = []
    const again = mqtt.connect(url, { ...options, resubscribe: false })
    cleanups.push(() => again.endAsync(true))
    again.on('message', (_topic, payload) => {
      const parsed = parseCommand(payload)
      received.push(parsed.ok ? parsed.value.command_id : 'invalid')
    })
    await waitFor(() => received.length >= 1, 10_000, 'the held command at the restored session')
    expect(received).toEqual([sent.command.command_id])
    // Its PUBACK is matched by the command in the packet aedes kept for the session.
    await waitCommitted(admin, groupId, commandsTopic, sent, sent.offset + 1)
    expect(await metric(gateway.metrics.commandsUnsettled)).toBe(0)
    await again.endAsync()
  })

  it('skips an invalid record without holding back the commit', async () => {
    const [meta] = await producer.send({
      topic: commandsTopic,
      acks: -1,
      messages: [{ key: 'dl-pager-4', value: Buffer.from('{"not":"a command"}') }],
    })
    const offset = Number(meta!.baseOffset)
    const at: Produced = { command: orderReady('dl-pager-4', 'x'), partition: meta!.partition, offset }
    await waitCommitted(admin, groupId, commandsTopic, at, offset + 1)
    expect(await metric(gateway.metrics.commandsInvalid)).toBe(1)
    expect(await metric(gateway.metrics.commandsUnsettled)).toBe(0)
  })
})

describe('downlink: a SIGKILLed gateway loses no command it had not handed over', () => {
  it('delivers after a restart what was held for an offline device or written but never PUBACKed', async () => {
    const prefix = uniqueName('dlk-kill')
    const gatewayId = uniqueName('gw-dlk')
    const groupId = `pedepronto-gw-${gatewayId}-downlink`
    const outboxDir = mkdtempSync(join(tmpdir(), 'pp-dlk-outbox-'))
    cleanups.push(async () => rmSync(outboxDir, { recursive: true, force: true }))
    deleteTopicsLater(prefix)
    const topic = topicName(KAFKA_TOPICS.commands.name, prefix)
    const flags = {
      'gateway-id': gatewayId,
      'gateway-mqtt-port': await freePort(),
      'gateway-ws-port': 0,
      'ops-port': 0,
      'gateway-outbox-dir': outboxDir,
      'kafka-brokers': brokers.join(','),
      'kafka-topic-prefix': prefix,
    }
    let gw: ChildGateway = await startChildGateway(flags)
    cleanups.push(() => gw.kill())
    const unsettled = (g: ChildGateway) => metricValue(g.opsUrl, 'pedepronto_gateway_commands_unsettled')

    const forOffline = await produce(producer, topic, orderReady('dk-pager-off', 'o-off'))
    await waitFor(async () => (await unsettled(gw)) === 1, 30_000, 'the command held for the offline pager')
    const deaf = await pager(gw.mqttUrl, 'dk-pager-deaf', { withholdPuback: true })
    cleanups.push(() => deaf.client.endAsync(true))
    const unacked = await produce(producer, topic, orderReady('dk-pager-deaf', 'o-deaf'))
    await waitFor(() => deaf.received.length >= 1, 20_000, 'the command at the deaf pager')
    expect(deaf.received).toEqual([{ id: unacked.command.command_id, qos: 1 }])
    expect(await unsettled(gw)).toBe(2)
    // Let the commit timer run: it must not commit past either command.
    await new Promise((r) => setTimeout(r, 2_500))
    for (const p of [forOffline, unacked]) {
      expect(await committedOffset(admin, groupId, topic, p.partition)).toBeLessThanOrEqual(p.offset)
    }

    await gw.kill()
    await waitFor(() => !deaf.client.connected, 10_000, 'the deaf pager to see the crash')
    gw = await startChildGateway(flags)
    const restarted = gw

    // Both pagers come (back) and are owed their command; the restarted gateway's consumer joins
    // once the dead member's session (15 s) has timed out.
    const off = await pager(restarted.mqttUrl, 'dk-pager-off')
    const back = await pager(restarted.mqttUrl, 'dk-pager-deaf')
    cleanups.push(() => off.client.endAsync(true))
    cleanups.push(() => back.client.endAsync(true))
    await waitFor(
      () => off.received.length >= 1 && back.received.length >= 1,
      60_000,
      `both commands after the restart (off: ${off.received.length}, deaf: ${back.received.length})`,
    )
    expect(off.received).toEqual([{ id: forOffline.command.command_id, qos: 1 }])
    expect(back.received).toEqual([{ id: unacked.command.command_id, qos: 1 }])
    await waitFor(async () => (await unsettled(restarted)) === 0, 10_000, 'both commands acknowledged')
    for (const p of [forOffline, unacked]) {
      let last = -1
      await waitFor(
        async () => {
          last = await committedOffset(admin, groupId, topic, p.partition)
          return last > p.offset
        },
        20_000,
        `the commit past offset ${p.offset} on partition ${p.partition} (last ${last})`,
      )
    }
    await off.client.endAsync()
    await back.client.endAsync()
    expect(await restarted.stop(), restarted.log().slice(-2000)).toBe('exit 0')
  }, 180_000)
})
