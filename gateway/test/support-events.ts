/** Valid device events for gateway tests, built with the contracts' own helpers. */
import { seededRandom } from '@pedepronto/common'
import { type DeviceEvent, uuidv7, validateEvent } from '@pedepronto/contracts'

export function ratedEvent(
  overrides: {
    device?: string
    restaurant?: string
    seq?: number
    order?: string
    time?: number
    random?: () => number
  } = {},
): DeviceEvent {
  const time = overrides.time ?? Date.UTC(2026, 11, 3, 12, 0, 0)
  const random = overrides.random ?? seededRandom(overrides.seq ?? 1)
  const event = {
    v: 1,
    event_id: uuidv7(time, random),
    type: 'order.rated',
    device_id: overrides.device ?? 'kiosk-1',
    restaurant_id: overrides.restaurant ?? 'r001',
    event_time: time,
    seq: overrides.seq ?? 1,
    payload: { order_id: overrides.order ?? 'o-1', rating: 5 },
  }
  const checked = validateEvent(event)
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors))
  return checked.value
}

export function telemetryEvent(
  device: string,
  restaurant: string,
  seq: number,
  random: () => number,
): DeviceEvent {
  const time = Date.UTC(2026, 11, 3, 12, 0, 0) + seq * 1000
  const checked = validateEvent({
    v: 1,
    event_id: uuidv7(time, random),
    type: 'device.telemetry',
    device_id: device,
    restaurant_id: restaurant,
    event_time: time,
    seq,
    payload: { sensor: 'fridge_temp', value: 4.5, unit: 'celsius' },
  })
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors))
  return checked.value
}
