/**
 * `pedepronto bench faults`: the fault suite. The pipeline of `bench e2e` on a private Kafka broker;
 * during phase 1 the broker, the gateway, the processor and the sink are SIGKILLed in turn, each
 * started again after a short pause (a supervisor's job; a stage that gives up while Kafka is away is
 * restarted too, and counted). Afterwards the lake is read: acknowledged, lost, duplicated after the
 * de-duplication stage (facts, KPI windows, alerts, overlapping sink files), edge duplicates in the
 * raw tables (allowed: devices resend what a dead gateway never acknowledged), orders missing a fact.
 * Goal: lost = 0, duplicated after de-duplication = 0.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BenchDefinition, round } from '@pedepronto/common'
import { startScratchKafka, uniqueName } from '@pedepronto/infra'
import { type E2eOptions, type E2eResult, type FaultStep, runE2E } from '../e2e/pipeline.js'
import { lakeFigures } from './e2e.js'

export const FAULT_PLAN: readonly FaultStep[] = [
  { target: 'kafka', atFraction: 0.1, downMs: 2_000 },
  { target: 'gateway', atFraction: 0.35, downMs: 1_000 },
  { target: 'processor', atFraction: 0.55, downMs: 1_000 },
  { target: 'sink', atFraction: 0.75, downMs: 1_000 },
]

/** One fault run on a scratch broker of its own (never the shared one: it gets killed). */
export async function runFaultSuite(
  options: Omit<E2eOptions, 'brokers' | 'kafka' | 'prefix' | 'workDir'>,
): Promise<E2eResult> {
  const kafka = await startScratchKafka()
  const work = mkdtempSync(join(tmpdir(), 'pp-faults-'))
  try {
    return await runE2E({
      faults: FAULT_PLAN,
      ...options,
      brokers: kafka.brokers,
      kafka,
      prefix: uniqueName('faults'),
      workDir: work,
    })
  } finally {
    await kafka.destroy().catch(() => undefined)
    rmSync(work, { recursive: true, force: true })
  }
}

export const faultsBench: BenchDefinition = {
  name: 'faults',
  description:
    'SIGKILL Kafka, gateway, processor and sink in turn under load; acknowledged, lost, duplicated',
  async run({ quick, log }) {
    const r = await runFaultSuite({
      seed: 909,
      restaurants: quick ? 2 : 3,
      devicesPerRestaurant: quick ? 8 : 10,
      ordersPerS: quick ? 0.3 : 0.8,
      orderMinutes: quick ? 6 : 16,
      finishMinutes: quick ? 5 : 6,
      // Slow enough that a command delayed by an outage (Kafka back in ~15 s, a consumer group
      // rebalancing) is still inside its 10 virtual minutes of validity when it reaches the pager.
      speed: 10,
      log: (line) => log.info(line),
    })
    const restarts = Object.values(r.stages).reduce((n, s) => n + s.unexpectedExits.length, 0)
    return {
      figures: [
        ...lakeFigures(r),
        { name: 'faults_injected', value: r.faults.length, unit: 'SIGKILLs' },
        { name: 'stage_exits_while_kafka_away', value: restarts, unit: 'restarts' },
        ...r.faults.map((f) => ({
          name: `${f.target}_back_after`,
          value: round(f.backInMs / 1000, 1),
          unit: 's',
        })),
        ...(['p90', 'max'] as const).flatMap((stat) => [
          {
            name: `page_ready_to_command_${stat}`,
            value: round(r.commands.readyToCommandMs[stat] / 1000, 1),
            unit: 's',
          },
          {
            name: `page_command_to_pager_${stat}`,
            value: round(r.commands.commandToPagerMs[stat] / 1000, 1),
            unit: 's',
          },
        ]),
        { name: 'settle_time', value: round(r.settleMs / 1000, 1), unit: 's' },
        { name: 'wall_time', value: round(r.wallMs / 1000, 1), unit: 's' },
      ],
    }
  },
}
