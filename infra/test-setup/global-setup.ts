/**
 * Vitest global setup: the local services every integration test talks to. Reuses what runs (or
 * the external Kafka/AWS given in the environment), starts the rest, and stops at the end only
 * what it started — so `npm test` leaves no process behind and a developer's running services stay.
 */
import type { TestProject } from 'vitest/node'
import { ALL_SERVICES, loadServices, type ServiceName, servicesDown, servicesUp } from '../src/index.js'

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[]
    awsEndpoint: string
    mosquittoUrl: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const services = loadServices()
  const t0 = Date.now()
  // What already ran is the developer's; only what this run starts is ours to stop.
  const runningBefore = new Set(ALL_SERVICES.filter((name) => services[name].pid() !== undefined))
  let results: Awaited<ReturnType<typeof servicesUp>>
  try {
    results = await servicesUp(services, ALL_SERVICES, (line) => process.stderr.write(`[services] ${line}\n`))
  } catch (error) {
    // One service failed to start: leave none of those we started behind.
    await servicesDown(
      services,
      ALL_SERVICES.filter((name) => !runningBefore.has(name)),
    ).catch(() => undefined)
    throw error
  }
  for (const r of results) {
    process.stderr.write(`[services] ${r.service} ${r.action} at ${r.endpoint}, ready in ${r.readyMs} ms\n`)
  }
  process.stderr.write(`[services] all ready in ${Date.now() - t0} ms\n`)
  project.provide('kafkaBrokers', services.kafkaBrokers)
  project.provide('awsEndpoint', services.awsEndpoint)
  project.provide('mosquittoUrl', services.mosquitto.url)
  const started = results.filter((r) => r.action === 'started').map((r) => r.service as ServiceName)
  return async () => {
    if (started.length === 0) return
    const down = await servicesDown(services, started)
    process.stderr.write(`[services] ${down.map((d) => `${d.service} ${d.action}`).join(', ')}\n`)
  }
}
