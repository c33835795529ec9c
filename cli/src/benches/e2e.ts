/**
 * `pedepronto bench e2e`: the whole product's latency, device event → order fact. A seeded fleet
 * keeps time (30 virtual seconds per wall second) through `pedepronto gateway`, Kafka,
 * `pedepronto process` and `pedepronto sink`, each a real process; a read_committed probe consumer
 * notes when each order's fact becomes visible. The latency is measured for the facts a customer's
 * rating completes: from the moment the simulator handed the rating to the device to the moment
 * the fact committed (PUBACK, gateway linger, Kafka, the processor's two stages and transaction).
 * The lake is checked as in the pipeline test, and its verdict is part of the figures.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BenchDefinition, round } from '@pedepronto/common'
import { loadServices, servicesUp, uniqueName } from '@pedepronto/infra'
import { type E2eResult, runE2E } from '../e2e/pipeline.js'

/** Figures every end-to-end bench reports about what reached the lake. */
export function lakeFigures(r: E2eResult) {
  const dupAfterDedup =
    r.lake.facts.duplicated.length +
    r.lake.kpis.duplicated +
    r.lake.alerts.duplicated +
    r.lake.fileOverlaps.length
  return [
    { name: 'events_acknowledged', value: r.acked, unit: 'events' },
    { name: 'lost', value: r.lake.lost.length, unit: 'events' },
    { name: 'duplicated_after_dedup', value: dupAfterDedup, unit: 'records' },
    { name: 'edge_duplicates_in_raw', value: r.lake.edgeDuplicates, unit: 'events' },
    { name: 'orders_placed', value: r.ordersPlaced, unit: 'orders' },
    { name: 'orders_missing_a_fact', value: r.lake.facts.missing.length, unit: 'orders' },
    { name: 'orders_unfinished_at_end', value: r.lake.facts.unfinished.length, unit: 'orders' },
    {
      name: 'fact_or_kpi_mismatches',
      value: r.lake.facts.mismatches.length + r.lake.kpis.mismatches.length,
      unit: 'records',
    },
    { name: 'order_ready_commands_missing', value: r.commands.missing.length, unit: 'commands' },
    { name: 'order_ready_commands_expired_on_arrival', value: r.commands.expired, unit: 'commands' },
    { name: 'customers_never_paged', value: r.phase1.sim.orders.unpaged, unit: 'orders' },
  ]
}

export const e2eBench: BenchDefinition = {
  name: 'e2e',
  description:
    'device event → order fact latency (p50/p99) through gateway, Kafka, processor and sink processes',
  async run({ quick, log }) {
    const services = loadServices()
    await servicesUp(services, ['kafka'])
    const work = mkdtempSync(join(tmpdir(), 'pp-bench-e2e-'))
    try {
      const r = await runE2E({
        brokers: services.kafkaBrokers,
        prefix: uniqueName('bench-e2e'),
        workDir: work,
        seed: 808,
        restaurants: quick ? 2 : 5,
        devicesPerRestaurant: 8,
        ordersPerS: quick ? 0.3 : 1,
        orderMinutes: quick ? 8 : 20,
        finishMinutes: 6,
        speed: 30,
        log: (line) => log.info(line),
      })
      return {
        figures: [
          { name: 'e2e_latency_p50_ms', value: round(r.latencyMs.p50, 0), unit: 'ms' },
          { name: 'e2e_latency_p99_ms', value: round(r.latencyMs.p99, 0), unit: 'ms' },
          { name: 'e2e_latency_samples', value: r.latencyMs.samples, unit: 'facts' },
          ...lakeFigures(r),
          { name: 'wall_time', value: round(r.wallMs / 1000, 1), unit: 's' },
        ],
      }
    } finally {
      rmSync(work, { recursive: true, force: true })
    }
  },
}
