// Deterministic ingested events (orders with their lifecycle, telemetry) for tests and the sink bench.
import { createHash } from 'node:crypto'
import { type IngestedEvent, uuidv7 } from '@pedepronto/contracts'

export interface GeneratedEvents {
  orders: IngestedEvent[]
  telemetry: IngestedEvent[]
}

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Orders (placed → accepted → ready → picked_up → rated) and telemetry over `hours` event hours. */
export function generateEvents(
  count: number,
  options: { seed?: number; start?: number; hours?: number } = {},
): GeneratedEvents {
  const random = rng(options.seed ?? 7)
  const start = options.start ?? Date.UTC(2026, 0, 15, 10, 0, 0)
  const span = (options.hours ?? 3) * 3_600_000
  const orders: IngestedEvent[] = []
  const telemetry: IngestedEvent[] = []
  let seq = 0
  const meta = (t: number) => ({ received_at: t + 50, gateway_id: 'gw-1', transport: 'mqtt' as const })
  for (let i = 0; orders.length + telemetry.length < count; i++) {
    const restaurant = `r${(i % 3) + 1}`
    const t = start + Math.floor((i / count) * span)
    if (i % 4 === 3) {
      telemetry.push({
        v: 1,
        event_id: uuidv7(t, random),
        type: i % 8 === 3 ? 'device.heartbeat' : 'device.telemetry',
        device_id: `fridge-${restaurant}`,
        restaurant_id: restaurant,
        event_time: t,
        seq: seq++,
        ...(i % 8 === 3
          ? { payload: { uptime_s: i, firmware: '1.2.3', battery_pct: null, rssi_dbm: -60 } }
          : { payload: { sensor: 'fridge_temp', value: 3.5 + (i % 10) / 10, unit: 'celsius' } }),
        ...meta(t),
      } as IngestedEvent)
      continue
    }
    const orderId = `o-${i}`
    const device = `kiosk-${restaurant}`
    const base = { v: 1 as const, device_id: device, restaurant_id: restaurant, ...meta(t) }
    orders.push({
      ...base,
      event_id: uuidv7(t, random),
      type: 'order.placed',
      event_time: t,
      seq: seq++,
      payload: {
        order_id: orderId,
        customer_id: `c-${i % 50}`,
        channel: 'kiosk',
        items: [{ sku: 'x-burger', name: 'X-Burger', quantity: 2, unit_price_cents: 2590 }],
        total_cents: 5180,
        currency: 'BRL',
      },
    })
    if (orders.length + telemetry.length >= count) break
    const steps: ['accepted' | 'ready', number][] = [
      ['accepted', 30_000],
      ['ready', 30_000 + 300_000 + (i % 7) * 10_000],
    ]
    let from: 'received' | 'accepted' = 'received'
    for (const [to, dt] of steps) {
      orders.push({
        ...base,
        event_id: uuidv7(t + dt, random),
        type: 'order.status_changed',
        event_time: t + dt,
        seq: seq++,
        payload: { order_id: orderId, from, to },
      } as IngestedEvent)
      from = 'accepted'
      if (orders.length + telemetry.length >= count) break
    }
    if (orders.length + telemetry.length >= count) break
    orders.push({
      ...base,
      event_id: uuidv7(t + 400_000, random),
      type: 'order.rated',
      event_time: t + 400_000,
      seq: seq++,
      payload: { order_id: orderId, rating: (i % 5) + 1 },
    })
  }
  return { orders, telemetry }
}

/** Order-independent checksum over event ids (sha256 of the sorted ids). */
export function idChecksum(ids: readonly string[]): string {
  return createHash('sha256')
    .update([...ids].sort().join('\n'))
    .digest('hex')
}
