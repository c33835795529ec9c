import { KafkaSection, OpsSection } from '@pedepronto/common'
import { type Static, Type } from '@sinclair/typebox'

/** Configuration of `pedepronto process` (issue #5 builds the processor on it). */
export const ProcessorConfigSchema = Type.Object(
  {
    processor: Type.Object(
      {
        groupId: Type.String({
          minLength: 1,
          default: 'pp-edge-processor',
          description: 'Kafka consumer group; instances in one group split the partitions.',
        }),
        windowMs: Type.Integer({
          minimum: 1_000,
          maximum: 86_400_000,
          default: 60_000,
          description: 'Tumbling KPI window length (event time).',
        }),
        allowedLatenessMs: Type.Integer({
          minimum: 0,
          maximum: 86_400_000,
          default: 120_000,
          description: 'Lateness accepted after the watermark before an event counts as late.',
        }),
        dedupHorizonMs: Type.Integer({
          minimum: 1_000,
          maximum: 604_800_000,
          default: 3_600_000,
          description: 'How long an event id is remembered for de-duplication.',
        }),
        ratingTimeoutMs: Type.Integer({
          minimum: 0,
          maximum: 86_400_000,
          default: 600_000,
          description: 'How long a finished order waits for its rating before its fact is written.',
        }),
      },
      { additionalProperties: false },
    ),
    kafka: KafkaSection,
    ops: OpsSection,
  },
  { additionalProperties: false },
)

export type ProcessorConfig = Static<typeof ProcessorConfigSchema>
