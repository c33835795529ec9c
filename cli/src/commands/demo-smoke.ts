/**
 * The smoke run behind `pedepronto demo` until the simulator, gateway, processor and sink exist
 * (issues #3–#8 grow it): a seeded stream of order lifecycles and telemetry, validated by
 * contracts/, written to the contracts' Kafka topics (idempotent, acks=all, keyed as the contracts
 * say), read back through a consumer group, and landed as JSON lines in the S3 lake bucket.
 */
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { pick, type Random, randomInt, seededRandom } from '@pedepronto/common'
import {
  type DeviceEvent,
  encodeEvent,
  type IngestedEvent,
  kafkaHeadersFor,
  kafkaKeyFor,
  type OrderStatus,
  parseIngestedEvent,
  toIngested,
  topicForEvent,
  topicName,
  uuidv7,
  validateEvent,
} from '@pedepronto/contracts'
import { Kafka, logLevel, type Producer } from 'kafkajs'

const MENU = [
  { sku: 'xburger', name: 'X-Burger', unit_price_cents: 2890 },
  { sku: 'xsalada', name: 'X-Salada', unit_price_cents: 3190 },
  { sku: 'coxinha', name: 'Coxinha', unit_price_cents: 890 },
  { sku: 'pastel-queijo', name: 'Pastel de queijo', unit_price_cents: 1190 },
  { sku: 'guarana', name: 'Guaraná 350ml', unit_price_cents: 690 },
  { sku: 'acai-300', name: 'Açaí 300ml', unit_price_cents: 1990 },
] as const

export interface SmokeStream {
  events: DeviceEvent[]
  orders: number
}

/** A reproducible stream: same seed, same events (ids, contents, order). */
export function smokeStream(seed: number, orders: number, startMs: number): SmokeStream {
  const random: Random = seededRandom(seed)
  let clock = startMs
  const seqs = new Map<string, number>()
  const events: DeviceEvent[] = []
  const restaurants = ['r001', 'r002']
  const emit = (
    device: string,
    restaurant: string,
    type: DeviceEvent['type'],
    payload: DeviceEvent['payload'],
  ) => {
    clock += randomInt(random, 50, 4_000)
    const seq = seqs.get(device) ?? 0
    seqs.set(device, seq + 1)
    const event = {
      v: 1,
      event_id: uuidv7(clock, random),
      type,
      device_id: device,
      restaurant_id: restaurant,
      event_time: clock,
      seq,
      payload,
    }
    const checked = validateEvent(event)
    if (!checked.ok)
      throw new Error(`smoke stream built an invalid ${type}: ${JSON.stringify(checked.errors)}`)
    events.push(checked.value)
  }
  for (let i = 0; i < orders; i++) {
    const restaurant = pick(random, restaurants)
    const kiosk = `${restaurant}-kiosk-${randomInt(random, 1, 2)}`
    const kitchen = `${restaurant}-kitchen-1`
    const orderId = `o-${seed}-${i}`
    const items = Array.from({ length: randomInt(random, 1, 3) }, () => {
      const m = pick(random, MENU)
      return {
        sku: m.sku,
        name: m.name,
        quantity: randomInt(random, 1, 3),
        unit_price_cents: m.unit_price_cents,
      }
    })
    const total = items.reduce((s, it) => s + it.quantity * it.unit_price_cents, 0)
    emit(kiosk, restaurant, 'order.placed', {
      order_id: orderId,
      customer_id: `c-${randomInt(random, 1, 500)}`,
      channel: pick(random, ['kiosk', 'table', 'app'] as const),
      items,
      total_cents: total,
      currency: 'BRL',
      notify_device_id: `${restaurant}-pager-${randomInt(random, 1, 9)}`,
    })
    const path: OrderStatus[] =
      random() < 0.1 ? ['received', 'cancelled'] : ['received', 'accepted', 'preparing', 'ready', 'picked_up']
    let from: OrderStatus | null = null
    for (const to of path) {
      emit(kitchen, restaurant, 'order.status_changed', {
        order_id: orderId,
        from,
        to,
        ...(to === 'cancelled' ? { reason: 'customer changed their mind' } : {}),
      })
      from = to
    }
    if (from === 'picked_up')
      emit(kiosk, restaurant, 'order.rated', { order_id: orderId, rating: randomInt(random, 3, 5) })
    emit(`${restaurant}-fridge-1`, restaurant, 'device.telemetry', {
      sensor: 'fridge_temp',
      value: Math.round((3 + random() * 2) * 10) / 10,
      unit: 'celsius',
    })
    emit(kitchen, restaurant, 'device.heartbeat', {
      uptime_s: 60 * i,
      firmware: '1.0.0',
      battery_pct: null,
      rssi_dbm: -50,
    })
  }
  return { events, orders }
}

export interface SmokeResult {
  produced: Record<string, number>
  consumed: number
  missing: number
  invalid: number
  produceMs: number
  roundTripMs: number
  s3Key: string
  s3Bytes: number
}

export async function runSmoke(options: {
  brokers: string[]
  s3: S3Client
  bucket: string
  stream: SmokeStream
  topicPrefix?: string
  timeoutMs?: number
}): Promise<SmokeResult> {
  const { stream } = options
  const kafka = new Kafka({
    brokers: options.brokers,
    clientId: 'pedepronto-demo',
    logLevel: logLevel.NOTHING,
  })
  const ingested: IngestedEvent[] = stream.events.map((e) =>
    toIngested(e, { receivedAt: e.event_time + 5, gatewayId: 'demo', transport: 'mqtt' }),
  )
  const topicOf = (e: IngestedEvent) => topicName(topicForEvent(e.type), options.topicPrefix)
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    allowAutoTopicCreation: false,
  })
  await producer.connect()
  const t0 = Date.now()
  const byTopic = new Map<string, IngestedEvent[]>()
  for (const e of ingested) byTopic.set(topicOf(e), [...(byTopic.get(topicOf(e)) ?? []), e])
  await producer.sendBatch({
    acks: -1,
    topicMessages: [...byTopic].map(([topic, events]) => ({
      topic,
      messages: events.map((e) => ({
        key: kafkaKeyFor(e),
        value: Buffer.from(encodeEvent(e)),
        headers: kafkaHeadersFor(e),
      })),
    })),
  })
  const produceMs = Date.now() - t0
  await producer.disconnect()

  const wanted = new Set(ingested.map((e) => e.event_id))
  let consumed = 0
  let invalid = 0
  const consumer = kafka.consumer({
    groupId: `pedepronto-demo-${Date.now()}`,
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
  })
  await consumer.connect()
  await consumer.subscribe({ topics: [...byTopic.keys()], fromBeginning: true })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => resolve(), options.timeoutMs ?? 60_000)
    consumer
      .run({
        eachMessage: async ({ message }) => {
          const parsed = parseIngestedEvent(message.value ?? new Uint8Array())
          if (!parsed.ok) {
            invalid++
            return
          }
          if (wanted.delete(parsed.value.event_id)) consumed++
          if (wanted.size === 0) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
      .catch(reject)
  })
  const roundTripMs = Date.now() - t0
  await consumer.disconnect()

  await options.s3.send(new CreateBucketCommand({ Bucket: options.bucket })).catch((error: unknown) => {
    const name = (error as { name?: string }).name
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error
  })
  const first = ingested[0]?.event_time ?? Date.now()
  const day = new Date(first).toISOString().slice(0, 10)
  const s3Key = `smoke/raw_events/dt=${day}/smoke-${ingested[0]?.event_id ?? 'empty'}.jsonl`
  const body = `${ingested.map((e) => JSON.stringify(e)).join('\n')}\n`
  await options.s3.send(
    new PutObjectCommand({
      Bucket: options.bucket,
      Key: s3Key,
      Body: body,
      ContentType: 'application/x-ndjson',
    }),
  )
  const head = await options.s3.send(new HeadObjectCommand({ Bucket: options.bucket, Key: s3Key }))

  return {
    produced: Object.fromEntries([...byTopic].map(([t, es]) => [t, es.length])),
    consumed,
    missing: wanted.size,
    invalid,
    produceMs,
    roundTripMs,
    s3Key,
    s3Bytes: head.ContentLength ?? 0,
  }
}
