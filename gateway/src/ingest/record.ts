/** A Kafka record as the gateway produces it: what the outbox stores and the producer sends. */
export interface GatewayRecord {
  topic: string
  key: string | null
  value: Buffer
  headers: Record<string, string>
  /** Kafka record timestamp (ms): the device's event time for events, receive time for dead letters. */
  timestamp: number
}

export function recordBytes(record: GatewayRecord): number {
  let n = record.value.length + record.topic.length + (record.key?.length ?? 0) + 16
  for (const [k, v] of Object.entries(record.headers)) n += k.length + v.length
  return n
}
