/**
 * Stage 1, one partition of `pp.telemetry.v1` (keyed by device, so a device's readings and heartbeats
 * arrive in its own order): sensor range alerts and device-offline alerts, both in event time.
 */
import type { IngestedEvent, Sensor } from '@pedepronto/contracts'
import {
  admit,
  type CoreConfig,
  type CoreCounters,
  DedupStore,
  MinHeap,
  newCounters,
  type Output,
  Watermark,
} from './common.js'
import { deterministicUuidv7 } from './ids.js'

/** Safe operating ranges per sensor kind (food-safety practice: fridge ≤ 5 °C, frozen ≤ −15 °C, fryer oil 150–190 °C). */
export const SENSOR_RANGES: { readonly [S in Sensor]: { min: number; max: number } } = {
  fridge_temp: { min: 0, max: 5 },
  freezer_temp: { min: -25, max: -15 },
  fryer_oil_temp: { min: 150, max: 190 },
  ambient_temp: { min: 10, max: 40 },
  humidity: { min: 20, max: 80 },
}

interface HeartbeatTimer {
  deviceId: string
  restaurantId: string
  lastAt: number
}

export class TelemetryTask {
  readonly counters: CoreCounters = newCounters()
  readonly #c: CoreConfig
  readonly #dedup: DedupStore
  readonly #wm: Watermark
  readonly #timers = new MinHeap<HeartbeatTimer>()
  /** Latest heartbeat event time per device (a reordered older one does not lower it). */
  readonly #lastHeartbeat = new Map<string, number>()
  /** Whether a device's sensor was out of range at its previous reading: alerts fire on entry only. */
  readonly #outOfRange = new Map<string, boolean>()

  constructor(config: CoreConfig) {
    this.#c = config
    this.#dedup = new DedupStore(config.dedupHorizonMs)
    this.#wm = new Watermark(config.allowedLatenessMs)
  }

  get watermark(): number {
    return this.#wm.value
  }

  process(input: IngestedEvent | null): Output[] {
    const event = admit(input, this.#dedup, this.#wm.value, this.counters)
    if (event === null) return []
    const out: Output[] = []
    if (event.type === 'device.telemetry') {
      const { sensor, value, unit } = event.payload
      const range = SENSOR_RANGES[sensor]
      const out_ = value < range.min || value > range.max
      const key = `${event.device_id}\u0000${sensor}`
      if (out_ && this.#outOfRange.get(key) !== true) {
        out.push(
          alert(
            'sensor_out_of_range',
            event.event_time,
            event.restaurant_id,
            event.device_id,
            event.event_id,
            [`${sensor} ${value} ${unit} outside ${range.min}..${range.max}`],
          ),
        )
      }
      this.#outOfRange.set(key, out_)
    } else if (event.type === 'device.heartbeat') {
      const last = this.#lastHeartbeat.get(event.device_id)
      if (last === undefined || event.event_time > last) {
        this.#lastHeartbeat.set(event.device_id, event.event_time)
        const deadline = event.event_time + this.#c.missedHeartbeats * this.#c.heartbeatIntervalMs
        this.#timers.push(deadline, `${event.device_id}:${event.event_time}`, {
          deviceId: event.device_id,
          restaurantId: event.restaurant_id,
          lastAt: event.event_time,
        })
      }
    } else {
      this.counters.invalid++
      return out
    }
    this.#wm.observe(event.event_time)
    const wm = this.#wm.value
    for (let at = this.#timers.peekAt(); at !== undefined && at < wm; at = this.#timers.peekAt()) {
      const { value: t } = this.#timers.pop()!
      if (this.#lastHeartbeat.get(t.deviceId) !== t.lastAt) continue
      out.push(
        alert('device_offline', at, t.restaurantId, t.deviceId, String(t.lastAt), [
          `no heartbeat from ${t.deviceId} since ${t.lastAt} (${this.#c.missedHeartbeats} × ${this.#c.heartbeatIntervalMs} ms missed)`,
        ]),
      )
    }
    this.#dedup.evict(wm)
    return out
  }
}

function alert(
  kind: 'sensor_out_of_range' | 'device_offline',
  eventTime: number,
  restaurantId: string,
  deviceId: string,
  discriminator: string,
  detail: string[],
): Output {
  return {
    kind: 'alert',
    key: restaurantId,
    value: {
      v: 1,
      alert_id: deterministicUuidv7(eventTime, kind, deviceId, discriminator),
      kind,
      restaurant_id: restaurantId,
      device_id: deviceId,
      order_id: null,
      event_time: eventTime,
      detail: detail.join('; ').slice(0, 500),
    },
  }
}
