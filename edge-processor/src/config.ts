import { KafkaSection, OpsSection } from '@pedepronto/common'
import { type Static, Type } from '@sinclair/typebox'

/** Most bytes one fetch takes from a partition (4 MiB; bench processor: 8 MiB measured slower). */
export const DEFAULT_FETCH_MAX_BYTES_PER_PARTITION = 4_194_304

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
        unknownOrderGraceMs: Type.Integer({
          minimum: 0,
          maximum: 86_400_000,
          default: 60_000,
          description:
            'How far the watermark may pass an event of an order never placed before it is alerted as unknown.',
        }),
        slaPlacedMs: Type.Integer({
          minimum: 1_000,
          default: 60_000,
          description: 'SLA for an order placed but not yet received by the kitchen (event time).',
        }),
        slaReceivedMs: Type.Integer({
          minimum: 1_000,
          default: 180_000,
          description: 'SLA for state received.',
        }),
        slaAcceptedMs: Type.Integer({
          minimum: 1_000,
          default: 300_000,
          description: 'SLA for state accepted.',
        }),
        slaPreparingMs: Type.Integer({
          minimum: 1_000,
          default: 1_200_000,
          description: 'SLA for state preparing.',
        }),
        slaReadyMs: Type.Integer({ minimum: 1_000, default: 600_000, description: 'SLA for state ready.' }),
        heartbeatIntervalMs: Type.Integer({
          minimum: 1_000,
          default: 30_000,
          description: 'Expected device heartbeat interval.',
        }),
        missedHeartbeats: Type.Integer({
          minimum: 1,
          maximum: 100,
          default: 3,
          description: 'Missed heartbeats (by event-time watermark) before a device is alerted offline.',
        }),
        repartitionPartitions: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 6,
          description: 'Partitions of the internal restaurant-keyed repartition topic (created if missing).',
        }),
        fetchMaxBytesPerPartition: Type.Integer({
          minimum: 65_536,
          maximum: 67_108_864,
          default: DEFAULT_FETCH_MAX_BYTES_PER_PARTITION,
          description:
            'Most bytes one fetch takes from a partition, so most a transaction covers (bigger: fewer transactions; 8 MiB measured slower).',
        }),
        statusIntervalMs: Type.Integer({
          minimum: 0,
          default: 10_000,
          description: 'Interval of the status line on stderr (0 turns it off).',
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
