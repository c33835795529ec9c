// Kafka message keys. All events of one order share the order id as key, hence one partition, so the
// lifecycle stays ordered for the processor (DESIGN.md "Contracts"); device data is keyed by device.
import type { DeviceEvent, IngestedEvent } from './schemas.js'

export function kafkaKeyFor(event: DeviceEvent | IngestedEvent): string {
  switch (event.type) {
    case 'order.placed':
    case 'order.status_changed':
    case 'order.rated':
      return event.payload.order_id
    case 'device.telemetry':
    case 'device.heartbeat':
      return event.device_id
  }
}
