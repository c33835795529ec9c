/**
 * `pedepronto bench outbox`: the gateway's durable outbox on this disk — appends/s with fsync and
 * group commit under 64 concurrent appenders, and append latency.
 */
import type { BenchDefinition } from '@pedepronto/common'
import { benchOutbox } from '@pedepronto/gateway'

export const outboxBench: BenchDefinition = {
  name: 'outbox',
  description: "gateway outbox: fsync'd appends/s with group commit (64 appenders) and append latency",
  async run({ quick }) {
    return { figures: await benchOutbox({ quick }) }
  },
}
