import { KafkaSection, OpsSection } from '@pedepronto/common'
import { type Static, Type } from '@sinclair/typebox'

/** Configuration of `pedepronto gateway` (issue #4 builds the gateway on it). */
export const GatewayConfigSchema = Type.Object(
  {
    gateway: Type.Object(
      {
        id: Type.String({
          pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
          default: 'gw-local',
          description: 'Gateway id, written into every ingested event.',
        }),
        profile: Type.Union([Type.Literal('local'), Type.Literal('production')], {
          default: 'local',
          description:
            'local: plaintext MQTT on loopback only; production: TLS with client certificates and the per-device ACL.',
        }),
        brokerEnabled: Type.Boolean({
          default: true,
          description:
            'Serve MQTT (TCP/TLS/WebSocket). `pedepronto attach` turns it off to bridge serial ports only.',
        }),
        mqttHost: Type.String({
          default: '127.0.0.1',
          description: 'Address of the plaintext MQTT listener (local profile: loopback only).',
        }),
        mqttPort: Type.Integer({
          minimum: 0,
          maximum: 65535,
          default: 1883,
          description: 'Plaintext MQTT port.',
        }),
        mqttsPort: Type.Integer({
          minimum: 0,
          maximum: 65535,
          default: 8883,
          description: 'MQTT over TLS port (client certificates required).',
        }),
        wsPort: Type.Integer({
          minimum: 0,
          maximum: 65535,
          default: 8080,
          description: 'MQTT over WebSocket port for app clients.',
        }),
        maxPayloadBytes: Type.Integer({
          minimum: 256,
          maximum: 1_048_576,
          default: 16_384,
          description: 'Largest accepted event payload; larger ones go to the dead-letter topic.',
        }),
        outboxDir: Type.String({
          default: '.pedepronto/outbox',
          description: 'Folder of the durable on-disk outbox.',
        }),
        outboxMaxBytes: Type.Integer({
          minimum: 1_048_576,
          default: 268_435_456,
          description: 'Outbox bound; when full the gateway stops acknowledging.',
        }),
        lingerMs: Type.Integer({
          minimum: 0,
          maximum: 10_000,
          default: 5,
          description: 'How long the producer waits to fill a batch.',
        }),
        batchBytes: Type.Integer({
          minimum: 1_024,
          maximum: 16_777_216,
          default: 1_048_576,
          description: 'Batch size that sends at once without waiting for the linger.',
        }),
        producerLanes: Type.Integer({
          minimum: 1,
          maximum: 16,
          default: 2,
          description:
            'Kafka batches in flight at once, each on an idempotent producer of its own; one key always uses the same lane, so per-key order holds.',
        }),
        mqttsHost: Type.String({
          default: '127.0.0.1',
          description: 'Address of the TLS listener (0.0.0.0 to serve a network in production).',
        }),
        wsHost: Type.String({ default: '127.0.0.1', description: 'Address of the WebSocket listener.' }),
        certsDir: Type.String({
          default: '',
          description:
            'Folder made by `pedepronto certs` (ca/ca.pem, ca/crl.pem, server/gateway.pem|.key); empty means certs/out.',
        }),
        serverCertName: Type.String({
          minLength: 1,
          default: 'gateway',
          description: 'Name of the server certificate in certsDir/server/.',
        }),
        revokedFile: Type.String({
          default: '',
          description:
            'Optional deny-list file (one device id per line) checked at every connect, re-read when it changes.',
        }),
        tokensFile: Type.String({
          default: '',
          description:
            'Optional file of `device_id sha256(token)` lines. When set, a connection without a client certificate (plaintext and ws) must give user name = its device id and password = its token; re-read when it changes. Empty means off.',
        }),
        maxConnections: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          default: 50_000,
          description: 'Connections beyond this are refused (server unavailable).',
        }),
        maxSubscriptionsPerClient: Type.Integer({
          minimum: 1,
          maximum: 1_000,
          default: 8,
          description: 'Subscriptions one client may hold.',
        }),
        rateLimitPerS: Type.Number({
          exclusiveMinimum: 0,
          maximum: 1_000_000,
          default: 50,
          description: 'Sustained messages per second per device (token bucket).',
        }),
        rateLimitBurst: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          default: 200,
          description: 'Messages a device may send at once before the rate limit applies.',
        }),
        compression: Type.Union([Type.Literal('none'), Type.Literal('gzip')], {
          default: 'gzip',
          description: 'Kafka batch compression.',
        }),
        directTimeoutMs: Type.Integer({
          minimum: 50,
          maximum: 60_000,
          default: 3_000,
          description: 'A Kafka batch not acknowledged by then is committed to the outbox instead.',
        }),
        commandRetentionMs: Type.Integer({
          minimum: 0,
          maximum: 86_400_000,
          default: 600_000,
          description: 'How long commands for offline devices are kept for delivery at reconnect.',
        }),
        serialPorts: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description: 'Serial ports to attach at start (comma-separated in env).',
        }),
      },
      { additionalProperties: false },
    ),
    kafka: KafkaSection,
    ops: OpsSection,
  },
  { additionalProperties: false },
)

export type GatewayConfig = Static<typeof GatewayConfigSchema>
