/**
 * `pedepronto bench services`: start-to-ready times of the local services, measured on scratch
 * instances (own ports, own data) so a running stack is not disturbed. Ready means what
 * `services up` waits for: a Kafka create/produce/consume/delete round trip through a consumer
 * group, and an S3 ListBuckets answered by moto.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BenchDefinition, median, round } from '@pedepronto/common'
import {
  ensureKafkaJars,
  ensureMotoVenv,
  freePort,
  LocalKafka,
  LocalMoto,
  servicePaths,
  servicesHome,
} from '@pedepronto/infra'

export const servicesBench: BenchDefinition = {
  name: 'services',
  description: 'start-to-ready seconds of local Kafka (cold: format + start; warm: restart) and moto',
  async run({ quick, log }) {
    const runs = quick ? 1 : 3
    const main = servicePaths(servicesHome())
    ensureKafkaJars(main)
    ensureMotoVenv(main)
    const cold: number[] = []
    const warm: number[] = []
    const moto: number[] = []
    for (let i = 0; i < runs; i++) {
      const home = mkdtempSync(join(tmpdir(), 'pp-bench-services-'))
      try {
        const kafka = new LocalKafka({
          home,
          port: await freePort(),
          controllerPort: await freePort(),
          heapMb: 512,
          readyTimeoutMs: 120_000,
          libsDir: main.kafkaLibs,
        })
        cold.push((await kafka.up()).readyMs / 1000)
        await kafka.down()
        const t0 = Date.now()
        await kafka.start()
        await kafka.waitReady()
        warm.push((Date.now() - t0) / 1000)
        await kafka.down()
        // moto installs into the shared venv; a scratch home only holds its pid and log.
        const m = new LocalMoto({ home, port: await freePort(), readyTimeoutMs: 60_000, venvDir: main.venv })
        moto.push((await m.up()).readyMs / 1000)
        await m.down()
        log.info(
          { run: i + 1, cold: cold.at(-1), warm: warm.at(-1), moto: moto.at(-1) },
          'services bench run',
        )
      } finally {
        rmSync(home, { recursive: true, force: true })
      }
    }
    return {
      figures: [
        { name: 'kafka_cold_start_to_ready', value: round(median(cold)), unit: 's' },
        { name: 'kafka_warm_restart_to_ready', value: round(median(warm)), unit: 's' },
        { name: 'moto_start_to_ready', value: round(median(moto)), unit: 's' },
        { name: 'runs', value: runs, unit: 'count' },
      ],
    }
  },
}
