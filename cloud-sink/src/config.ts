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
