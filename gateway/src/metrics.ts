/** The gateway's Prometheus metrics (`pedepronto_gateway_*`, units in the names). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export function gatewayMetrics(registry: Registry) {
  return {
    connected: new Gauge({
      name: 'pedepronto_gateway_connected_devices',
      help: 'Devices connected now, by transport',
      labelNames: ['transport'],
      registers: [registry],
    }),
    messagesIn: new Counter({
      name: 'pedepronto_gateway_messages_in_total',
      help: 'Messages received from devices',
      labelNames: ['transport'],
      registers: [registry],
    }),
    eventsOut: new Counter({
      name: 'pedepronto_gateway_events_durable_total',
      help: 'Events made durable (Kafka or outbox) and acknowledged',
      labelNames: ['transport'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'pedepronto_gateway_messages_rejected_total',
      help: 'Messages dead-lettered, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    aclDenied: new Counter({
      name: 'pedepronto_gateway_acl_denied_total',
      help: 'ACL and authentication refusals',
      labelNames: ['what'],
      registers: [registry],
    }),
    outboxDepth: new Gauge({
      name: 'pedepronto_gateway_outbox_records',
      help: 'Records waiting in the outbox',
      registers: [registry],
    }),
    outboxBytes: new Gauge({
      name: 'pedepronto_gateway_outbox_bytes',
      help: 'Bytes waiting in the outbox',
      registers: [registry],
    }),
    produceLatency: new Histogram({
      name: 'pedepronto_gateway_kafka_produce_seconds',
      help: 'Latency of one batch to Kafka (acks=all) or the outbox (fsync)',
      labelNames: ['mode'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    batchRecords: new Histogram({
      name: 'pedepronto_gateway_batch_records',
      help: 'Records per produced batch',
      buckets: [1, 10, 50, 100, 500, 1000, 5000],
      registers: [registry],
    }),
    serialFrameErrors: new Counter({
      name: 'pedepronto_gateway_serial_frame_errors_total',
      help: 'Corrupt serial frames, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    commandsDelivered: new Counter({
      name: 'pedepronto_gateway_commands_delivered_total',
      help: 'Downlink commands delivered',
      labelNames: ['transport'],
      registers: [registry],
    }),
    commandsExpired: new Counter({
      name: 'pedepronto_gateway_commands_expired_total',
      help: 'Downlink commands dropped because they expired before delivery',
      registers: [registry],
    }),
    commandsAcknowledged: new Counter({
      name: 'pedepronto_gateway_commands_acknowledged_total',
      help: 'Downlink commands their device acknowledged (MQTT PUBACK, serial ACK; QoS 0: written)',
      labelNames: ['transport'],
      registers: [registry],
    }),
    commandsUnsettled: new Gauge({
      name: 'pedepronto_gateway_commands_unsettled',
      help: 'Commands consumed since the last group join and not yet acknowledged, expired or dropped (they hold back the committed offset)',
      registers: [registry],
    }),
    commandsRedelivered: new Counter({
      name: 'pedepronto_gateway_commands_redelivered_total',
      help: 'Downlink commands written again after their device disconnected without acknowledging them',
      registers: [registry],
    }),
    commandsDropped: new Counter({
      name: 'pedepronto_gateway_commands_dropped_total',
      help: "Downlink commands dropped undelivered because their device's hold was full",
      registers: [registry],
    }),
    commandsInvalid: new Counter({
      name: 'pedepronto_gateway_commands_invalid_total',
      help: 'Records on the commands topic that are not a valid command (skipped)',
      registers: [registry],
    }),
    downlinkCommits: new Counter({
      name: 'pedepronto_gateway_downlink_commits_total',
      help: 'Offset commits of the downlink consumer, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    downlinkRestarts: new Counter({
      name: 'pedepronto_gateway_downlink_restarts_total',
      help: 'Downlink consumers replaced after they failed to join or crashed',
      registers: [registry],
    }),
  }
}

export type GatewayMetrics = ReturnType<typeof gatewayMetrics>
