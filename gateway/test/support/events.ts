/**
 * Valid device events for fault tests and the gateway bench: built and checked with contracts'
 * helpers, reproducible from a seed, each with its MQTT topic and encoded payload.
 */
import { seededRandom } from '@pedepronto/common'
import { type DeviceEvent, encodeEvent, eventTopic, uuidv7, validateEvent } from '@pedepronto/contracts'

export interface TestEvent {
  id: string
  deviceId: string
  restaurantId: string
  /** MQTT topic the device publishes it on. */
  topic: string
  payload: Buffer
}

/** A device id that satisfies the id pattern: `d` + index, zero-padded so names sort. */
export function deviceName(prefix: string, index: number): string {
  return `${prefix}-${String(index).padStart(5, '0')}`
}

/**
 * `count` telemetry events of one device (seq from `firstSeq`), ids UUIDv7 from the seeded random
 * source so two runs with the same seed publish the same ids.
 */
export function telemetryEvents(
  deviceId: string,
  restaurantId: string,
  count: number,
  seed: number,
  firstSeq = 0,
  startMs = Date.now(),
): TestEvent[] {
  const random = seededRandom(seed)
  const events: TestEvent[] = []
  for (let i = 0; i < count; i++) {
    const time = startMs + i
    const event = {
      v: 1,
      event_id: uuidv7(time, random),
      type: 'device.telemetry',
      device_id: deviceId,
      restaurant_id: restaurantId,
      event_time: time,
      seq: firstSeq + i,
      payload: { sensor: 'fridge_temp', value: Math.round((2 + random() * 4) * 10) / 10, unit: 'celsius' },
    }
    const checked = validateEvent(event)
    if (!checked.ok) throw new Error(`test event is invalid: ${JSON.stringify(checked.errors)}`)
    const valid: DeviceEvent = checked.value
    events.push({
      id: valid.event_id,
      deviceId,
      restaurantId,
      topic: eventTopic(restaurantId, deviceId, valid.type),
      payload: Buffer.from(encodeEvent(valid)),
    })
  }
  return events
}
