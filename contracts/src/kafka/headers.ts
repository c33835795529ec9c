// Kafka record headers set by the gateway, so consumers can route and filter without parsing JSON.
import type { IngestedEvent } from '../events/schemas.js'

export const KAFKA_HEADERS = {
  transport: 'pp-transport',
  gatewayId: 'pp-gateway-id',
  eventType: 'pp-event-type',
  schemaVersion: 'pp-schema-version',
  deviceId: 'pp-device-id',
} as const
export type KafkaHeaderName = (typeof KAFKA_HEADERS)[keyof typeof KAFKA_HEADERS]

/** Header values for an ingested event; all strings (Kafka headers are bytes, UTF-8 here). */
export function kafkaHeadersFor(event: IngestedEvent): Record<KafkaHeaderName, string> {
  return {
    [KAFKA_HEADERS.transport]: event.transport,
    [KAFKA_HEADERS.gatewayId]: event.gateway_id,
    [KAFKA_HEADERS.eventType]: event.type,
    [KAFKA_HEADERS.schemaVersion]: String(event.v),
    [KAFKA_HEADERS.deviceId]: event.device_id,
  }
}
