import { AwsSection, KafkaSection } from '@pedepronto/common'
import { type Static, Type } from '@sinclair/typebox'

/** Configuration of `pedepronto services`: the local Kafka and moto it starts. */
export const ServicesConfigSchema = Type.Object(
  {
    services: Type.Object(
      {
        home: Type.String({
          default: '',
          description:
            'Folder for jars, data, venv, logs and pid files; empty means <repo>/.pedepronto (or PEDEPRONTO_HOME).',
        }),
        kafkaPort: Type.Integer({
          minimum: 1,
          maximum: 65535,
          default: 9092,
          description: 'Local Kafka client listener port.',
        }),
        kafkaControllerPort: Type.Integer({
          minimum: 1,
          maximum: 65535,
          default: 9093,
          description: 'Local Kafka KRaft controller listener port.',
        }),
        kafkaHeapMb: Type.Integer({
          minimum: 256,
          maximum: 8192,
          default: 512,
          description: 'Kafka JVM heap (-Xmx) in MiB.',
        }),
        mosquittoPort: Type.Integer({
          minimum: 1,
          maximum: 65535,
          default: 1884,
          description: 'Local mosquitto port (1884, so that the gateway keeps 1883).',
        }),
        motoPort: Type.Integer({
          minimum: 1,
          maximum: 65535,
          default: 4566,
          description: 'Local moto (AWS emulator) port.',
        }),
        readyTimeoutMs: Type.Integer({
          minimum: 1_000,
          maximum: 600_000,
          default: 120_000,
          description: 'How long `up` waits for each service to become ready.',
        }),
      },
      { additionalProperties: false },
    ),
    kafka: KafkaSection,
    aws: AwsSection,
  },
  { additionalProperties: false },
)

export type ServicesConfig = Static<typeof ServicesConfigSchema>
