import { AwsSection, KafkaSection, OpsSection } from '@pedepronto/common'
import { type Static, Type } from '@sinclair/typebox'

/** Configuration of `pedepronto sink` (issue #6 builds the sink on it). */
export const SinkConfigSchema = Type.Object(
  {
    sink: Type.Object(
      {
        groupId: Type.String({
          minLength: 1,
          default: 'pp-cloud-sink',
          description: 'Kafka consumer group of the sink.',
        }),
        target: Type.Union([Type.Literal('local'), Type.Literal('s3')], {
          default: 'local',
          description: 'Where Parquet files go: a local folder or S3.',
        }),
        localDir: Type.String({ default: 'lake', description: 'Lake folder for the local target.' }),
        bucket: Type.String({
          default: 'pedepronto-lake',
          pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
          description: 'S3 bucket for the s3 target.',
        }),
        prefix: Type.String({ default: 'lake', description: 'Key prefix inside the bucket or folder.' }),
        rotateRecords: Type.Integer({
          minimum: 1,
          maximum: 100_000_000,
          default: 100_000,
          description: 'Records per file before rotating.',
        }),
        rotateBytes: Type.Integer({
          minimum: 1_024,
          default: 67_108_864,
          description: 'Uncompressed bytes per file before rotating.',
        }),
        rotateSpanMs: Type.Integer({
          minimum: 1_000,
          maximum: 3_600_000,
          default: 3_600_000,
          description:
            'Largest event-time distance between the first and any record of one file (files never cross an hour anyway).',
        }),
        flushIntervalMs: Type.Integer({
          minimum: 100,
          maximum: 3_600_000,
          default: 60_000,
          description:
            'Wall-clock age after which an open file of a quiet partition is uploaded anyway (its cut is remembered through the lake listing, see README).',
        }),
        compression: Type.Union([Type.Literal('zstd'), Type.Literal('snappy')], {
          default: 'zstd',
          description: 'Parquet compression codec (zstd: smaller and, with parquet-wasm, faster here).',
        }),
        tables: Type.Array(
          Type.Union([
            Type.Literal('order_events'),
            Type.Literal('telemetry'),
            Type.Literal('order_facts'),
            Type.Literal('restaurant_kpis'),
            Type.Literal('alerts'),
          ]),
          {
            minItems: 1,
            default: ['order_events', 'telemetry', 'order_facts', 'restaurant_kpis', 'alerts'],
            description:
              "Tables to fill; each reads its Kafka topic. Topics that do not exist yet (the processor's) are skipped.",
          },
        ),
        fromBeginning: Type.Boolean({
          default: true,
          description: 'Start at the earliest offset when the group has no committed offset.',
        }),
        createBucket: Type.Boolean({
          default: false,
          description: 'Create the S3 bucket if it is missing (handy with the local emulator).',
        }),
        glue: Type.Boolean({
          default: false,
          description: 'Register tables and partitions in the Glue catalog as files land.',
        }),
        iotPush: Type.Boolean({
          default: false,
          description:
            'Push each restaurant’s latest KPIs to its thing shadow and publish alerts to AWS IoT topics.',
        }),
        sessionTimeoutMs: Type.Integer({
          minimum: 6_000,
          maximum: 300_000,
          default: 30_000,
          description:
            'Kafka group session timeout: how soon a crashed sink’s partitions move to another member.',
        }),
        statusIntervalMs: Type.Integer({
          minimum: 0,
          default: 10_000,
          description: 'How often a status line goes to stderr (0: never).',
        }),
        glueDatabase: Type.String({
          default: 'pedepronto',
          pattern: '^[a-z0-9_]+$',
          description: 'Glue database for the lake tables.',
        }),
      },
      { additionalProperties: false },
    ),
    kafka: KafkaSection,
    aws: AwsSection,
    ops: OpsSection,
  },
  { additionalProperties: false },
)

export type SinkConfig = Static<typeof SinkConfigSchema>
