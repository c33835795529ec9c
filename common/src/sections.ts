/**
 * Configuration sections shared by several components. A component's schema composes these with
 * its own section, so `kafka.brokers` means the same thing (and the same env variable) everywhere.
 */
import { Type } from '@sinclair/typebox'

const hostPort = Type.String({
  pattern: '^[A-Za-z0-9.\\-\\[\\]:]+:[0-9]{1,5}$',
  examples: ['127.0.0.1:9092'],
})

export const KafkaSection = Type.Object(
  {
    brokers: Type.Array(hostPort, {
      minItems: 1,
      default: ['127.0.0.1:9092'],
      description:
        'Kafka bootstrap servers (host:port, comma-separated in env). The local services listen on 127.0.0.1:9092.',
    }),
    clientId: Type.String({ minLength: 1, default: 'pedepronto', description: 'Kafka client id prefix.' }),
    topicPrefix: Type.String({
      pattern: '^[a-zA-Z0-9._-]*$',
      default: '',
      description:
        'Prefix for every topic name, joined with a dot (isolates tests and tenants); empty in production.',
    }),
    connectTimeoutMs: Type.Integer({
      minimum: 100,
      maximum: 120_000,
      default: 5_000,
      description: 'How long to wait for a broker connection before reporting Kafka unreachable.',
    }),
  },
  { additionalProperties: false },
)

export const AwsSection = Type.Object(
  {
    endpoint: Type.String({
      default: 'http://127.0.0.1:4566',
      description:
        'AWS endpoint override (the local moto server). Set it to an empty string to use real AWS endpoints.',
    }),
    region: Type.String({ minLength: 1, default: 'us-east-1', description: 'AWS region.' }),
  },
  { additionalProperties: false },
)

export const OpsSection = Type.Object(
  {
    host: Type.String({
      minLength: 1,
      default: '127.0.0.1',
      description: 'Address of the /healthz, /readyz and /metrics server.',
    }),
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 0,
      description: 'Port of the operations server (0 picks a free port and logs it).',
    }),
  },
  { additionalProperties: false },
)
