/**
 * One end-to-end run of the product, as a user deploys it: a seeded fleet of simulated devices over
 * MQTT → `pedepronto gateway` → Kafka → `pedepronto process` → `pedepronto sink` → the Parquet lake,
 * every stage a real process. Used by the pipeline test, the fault suite (`bench faults`, which
 * SIGKILLs Kafka and each stage in turn mid-load) and the end-to-end latency figure (`bench e2e`).
 *
 * A run has two phases. Phase 1 is restaurant life: customers order for `orderMinutes`, then for
 * `finishMinutes` nobody orders while kitchens finish, pagers get their "order ready", customers
 * pick up and rate. The tail is the same fleet `tailGapMs` later, ordering briskly for a few virtual
 * seconds: its only job is to move every partition's event-time watermark past phase 1, so that the
 * processor's rating timeouts fire and its KPI windows close (in production the next orders do
 * that). Then the lake is read until it holds everything (or the settle time passes) and checked by
 * `checkLake`.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { envName, percentile, round } from '@pedepronto/common'
import { KAFKA_TOPICS, parseCommand, topicName } from '@pedepronto/contracts'
import { type LiveSummary, MqttTransport, makeScenario, runLive, type Scenario } from '@pedepronto/device-sim'
import { freePort } from '@pedepronto/infra'
import { type Consumer, Kafka, logLevel } from 'kafkajs'
import { type StageName, StageProcess } from './stages.js'
import { checkLake, type LakeCheck } from './verify.js'

export type FaultTarget = 'kafka' | StageName

export interface FaultStep {
  target: FaultTarget
  /** When, as a fraction of phase 1's wall time. */
  atFraction: number
  /** How long the target stays dead before it is started again. */
  downMs: number
}

export interface E2eOptions {
  brokers: string[]
  /** The broker the fault suite may kill (a scratch Kafka of its own, never the shared one). */
  kafka?: { kill(): Promise<void>; restart(): Promise<void> }
  prefix: string
  workDir: string
  seed?: number
  restaurants?: number
  devicesPerRestaurant?: number
  /** Orders per second across the fleet, in virtual time. */
  ordersPerS?: number
  orderMinutes?: number
  finishMinutes?: number
  /** Virtual seconds per wall second (> 0: the fleet keeps time, so latencies are wall-clock true). */
  speed?: number
  /** Pagers wait for the real "order ready" command before the customer picks up. */
  pickupByCommand?: boolean
  allowedLatenessMs?: number
  ratingTimeoutMs?: number
  /** How long (event time) an order's events wait for its order.placed before an unknown_order alert. */
  unknownOrderGraceMs?: number
  windowMs?: number
  faults?: readonly FaultStep[]
  settleTimeoutMs?: number
  /** After phase 1, how long the pagers stay connected for pages still on their way (default 60 s). */
  pageWaitMs?: number
  /** Leave the run's topics on the broker afterwards (default: deleted). */
  keepTopics?: boolean
  log?: (line: string) => void
}

export interface FaultRecord {
  target: FaultTarget
  atMs: number
  ackedBefore: number
  downMs: number
  backInMs: number
}

export interface E2eResult {
  prefix: string
  lakeDir: string
  phase1: LiveSummary
  tail: LiveSummary
  emitted: number
  acked: number
  ordersPlaced: number
  /** "order ready" commands: owed, delivered (in time or expired on arrival), never delivered. */
  commands: {
    expected: number
    delivered: number
    expired: number
    missing: string[]
    /** For each missing command, when its order became ready (wall seconds into phase 1). */
    missingReadyAtS: number[]
    wrongDevice: number
    /**
     * Where the pages' time went (wall ms): kitchen "ready" → command produced by the processor, and
     * command produced → pager acknowledged. NaN when no page was delivered.
     */
    readyToCommandMs: { p50: number; p90: number; max: number }
    commandToPagerMs: { p50: number; p90: number; max: number }
  }
  /** Device event → order fact visible to a read_committed consumer, for facts a rating completed. */
  latencyMs: { samples: number; p50: number; p99: number; max: number }
  lake: LakeCheck
  faults: FaultRecord[]
  stages: Record<StageName, { starts: number; kills: number; unexpectedExits: (number | string)[] }>
  /** The last lines each stage printed (warnings and errors), for a failing check to show. */
  stageOutput: Record<StageName, string>
  settleMs: number
  wallMs: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function toEnv(flags: Record<string, string | number | boolean>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(flags)) env[envName(k)] = String(v)
  return env
}

/** Faster kitchens and customers than the defaults, so a short run sees orders end and get rated. */
const BRISK = {
  acceptTime: { dist: 'lognormal', medianS: 6, sigma: 0.4 },
  prepStartTime: { dist: 'exponential', meanS: 8 },
  prepTime: { dist: 'lognormal', medianS: 60, sigma: 0.35 },
  pickupTime: { dist: 'lognormal', medianS: 15, sigma: 0.4 },
  cancelTime: { dist: 'exponential', meanS: 30 },
  ratingTime: { dist: 'uniform', minS: 5, maxS: 40 },
  // A customer not paged two minutes after the food is ready walks up anyway (counted as unpaged).
  pagePatienceS: 120,
} as const

export async function runE2E(options: E2eOptions): Promise<E2eResult> {
  const o = {
    seed: 42,
    restaurants: 2,
    devicesPerRestaurant: 8,
    ordersPerS: 0.3,
    orderMinutes: 10,
    finishMinutes: 6,
    speed: 30,
    pickupByCommand: true,
    allowedLatenessMs: 300_000,
    ratingTimeoutMs: 60_000,
    // The runs compress time (speed 10–30): a customer device's order.placed held a few wall seconds
    // in its offline queue by a gateway restart is minutes late in event time, while the kitchen's
    // status changes went through. The default minute of grace would alert it as unknown.
    unknownOrderGraceMs: 300_000,
    windowMs: 60_000,
    faults: [] as readonly FaultStep[],
    settleTimeoutMs: 120_000,
    pageWaitMs: 60_000,
    keepTopics: false,
    log: (_line: string) => {},
    ...options,
  }
  const t0 = Date.now()
  const lakeDir = join(o.workDir, 'lake')
  mkdirSync(lakeDir, { recursive: true })
  const common = { 'kafka.brokers': o.brokers.join(','), 'kafka.topicPrefix': o.prefix }
  const mqttPort = await freePort()
  const stages: Record<StageName, StageProcess> = {
    gateway: new StageProcess({
      name: 'gateway',
      opsPort: await freePort(),
      log: o.log,
      env: toEnv({
        ...common,
        'gateway.id': 'gw-e2e',
        'gateway.mqttPort': mqttPort,
        'gateway.wsPort': 0,
        'gateway.outboxDir': join(o.workDir, 'outbox'),
        'gateway.rateLimitPerS': 1_000,
        'gateway.rateLimitBurst': 5_000,
      }),
    }),
    processor: new StageProcess({
      name: 'processor',
      opsPort: await freePort(),
      log: o.log,
      env: toEnv({
        ...common,
        'processor.groupId': `${o.prefix}-processor`,
        'processor.ratingTimeoutMs': o.ratingTimeoutMs,
        'processor.allowedLatenessMs': o.allowedLatenessMs,
        'processor.unknownOrderGraceMs': o.unknownOrderGraceMs,
        'processor.windowMs': o.windowMs,
        'processor.statusIntervalMs': 0,
      }),
    }),
    sink: new StageProcess({
      name: 'sink',
      opsPort: await freePort(),
      log: o.log,
      env: toEnv({
        ...common,
        'sink.groupId': `${o.prefix}-sink`,
        'sink.target': 'local',
        'sink.localDir': lakeDir,
        'sink.flushIntervalMs': 1_000,
        'sink.sessionTimeoutMs': 10_000,
        'sink.statusIntervalMs': 0,
      }),
    }),
  }
  const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
  const factsSeen = new Map<string, number>()
  const commandsTopic = topicName(KAFKA_TOPICS.commands.name, o.prefix)
  const commandsSeen = new Map<
    string,
    { partition: number; offset: string; producedAt: number; seenAt: number; expiresAt: number }
  >()
  let consumer: Consumer | undefined
  try {
    // Gateway first (it creates the input topics), then the processor (its output topics), then the sink.
    await stages.gateway.start()
    await stages.processor.start()
    await stages.sink.start()
    o.log(`stages ready: gateway ${mqttUrl}, processor, sink → ${lakeDir}`)

    // The latency probe: order facts as a read_committed consumer sees them (after the commit).
    const kafka = new Kafka({ brokers: o.brokers, clientId: 'pp-e2e-probe', logLevel: logLevel.NOTHING })
    consumer = kafka.consumer({ groupId: `${o.prefix}-probe`, maxWaitTimeInMs: 100 })
    await consumer.connect()
    const factsTopic = topicName(KAFKA_TOPICS.orderFacts.name, o.prefix)
    await consumer.subscribe({ topics: [factsTopic, commandsTopic], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        if (topic === commandsTopic) {
          // When each "order ready" command became visible: tells a late processor from a lost page.
          const parsed = message.value ? parseCommand(message.value) : undefined
          if (
            parsed?.ok &&
            parsed.value.type === 'order.ready' &&
            !commandsSeen.has(parsed.value.payload.order_id)
          )
            commandsSeen.set(parsed.value.payload.order_id, {
              partition,
              offset: message.offset,
              producedAt: Number(message.timestamp),
              seenAt: Date.now(),
              expiresAt: parsed.value.expires_at,
            })
          return
        }
        const id = message.key?.toString()
        if (id !== undefined && !factsSeen.has(id)) factsSeen.set(id, Date.now())
      },
    })

    const phase1Ms = (o.orderMinutes + o.finishMinutes) * 60_000
    const scenario = makeScenario({
      seed: o.seed,
      restaurants: o.restaurants,
      devicesPerRestaurant: o.devicesPerRestaurant,
      ratePerS: o.ordersPerS,
      durationMs: phase1Ms,
      // Device clocks start at the wall clock (a minute boundary), as real devices' do: commands carry
      // an expiry in device time, and the gateway drops those already expired by its own clock.
      startMs: Math.floor(Date.now() / 60_000) * 60_000,
      ordersUntilMs: o.orderMinutes * 60_000,
      behaviour: { ...BRISK, pickupTrigger: o.pickupByCommand ? 'command' : 'sim' },
    })
    // Far enough past phase 1 that every rating timeout, lateness allowance and window has passed.
    const tailGapMs =
      Math.max(o.allowedLatenessMs, o.unknownOrderGraceMs) + o.ratingTimeoutMs + 2 * o.windowMs + 120_000
    // Other restaurants (so other devices and order ids) than phase 1's.
    const tailScenario: Scenario = makeScenario({
      seed: o.seed + 1,
      restaurants: o.restaurants,
      firstRestaurant: o.restaurants,
      devicesPerRestaurant: o.devicesPerRestaurant,
      ratePerS: 6,
      durationMs: 40_000,
      ordersUntilMs: 30_000,
      startMs: scenario.startMs + phase1Ms + tailGapMs,
      behaviour: { ...BRISK },
    })

    const acked = new Set<string>()
    let emitted = 0
    const emittedAt = new Map<string, number>()
    const ratingOf = new Map<string, string>()
    const placedOrders = new Set<string>()
    const notifyOf = new Map<string, string>()
    const delivered = new Map<string, string>()
    const deliveredAt = new Map<string, number>()
    /** Orders the kitchens marked ready in phase 1 (as sent, whether or not acknowledged yet). */
    const readyOrders = new Set<string>()
    let wrongDevice = 0
    let expiredAtDevice = 0
    const deviceOpts = {
      transportFor: (spec: { deviceId: string; restaurantId: string }) =>
        new MqttTransport({ url: mqttUrl, deviceId: spec.deviceId, restaurantId: spec.restaurantId }),
      onAcked: (id: string) => {
        acked.add(id)
      },
      reconnectCapMs: 2_000,
      drainTimeoutMs: 120_000,
    }

    // The fault driver runs beside phase 1: each step at its time, one after the other.
    const faults: FaultRecord[] = []
    const phase1WallMs = phase1Ms / o.speed
    const runStart = Date.now()
    const driver = (async () => {
      for (const step of o.faults) {
        const wait = runStart + step.atFraction * phase1WallMs - Date.now()
        if (wait > 0) await sleep(wait)
        const atMs = Date.now() - runStart
        const ackedBefore = acked.size
        o.log(
          `fault: SIGKILL ${step.target} at ${(atMs / 1000).toFixed(1)} s (${ackedBefore} acknowledged so far)`,
        )
        if (step.target === 'kafka') {
          if (o.kafka === undefined) throw new Error('a Kafka fault needs a broker the run may kill')
          await o.kafka.kill()
          await sleep(step.downMs)
          await o.kafka.restart()
        } else {
          await stages[step.target].crashAndRestart(step.downMs)
        }
        const backInMs = Date.now() - runStart - atMs
        o.log(`fault: ${step.target} back after ${(backInMs / 1000).toFixed(1)} s`)
        faults.push({ target: step.target, atMs, ackedBefore, downMs: step.downMs, backInMs })
      }
    })()

    const phase1 = await runLive({
      ...deviceOpts,
      scenario,
      speed: o.speed,
      onEmission: (e) => {
        if (e.kind !== 'event') return
        emitted++
        const ev = e.event
        emittedAt.set(ev.event_id, Date.now())
        if (ev.type === 'order.placed') {
          placedOrders.add(ev.payload.order_id)
          notifyOf.set(ev.payload.order_id, ev.payload.notify_device_id ?? ev.device_id)
        } else if (ev.type === 'order.rated') ratingOf.set(ev.payload.order_id, ev.event_id)
        else if (ev.type === 'order.status_changed' && ev.payload.to === 'ready')
          readyOrders.add(ev.payload.order_id)
      },
      // Pages an outage held back are still on their way when the fleet has sent its last event:
      // the pagers stay connected until every ready order was paged (or pageWaitMs passes), so a
      // slow recovery is told apart from a lost page.
      beforeClose: async () => {
        const end = Date.now() + o.pageWaitMs
        const unpaged = () => [...readyOrders].filter((id) => !delivered.has(id)).length
        if (unpaged() > 0) o.log(`phase 1: waiting for ${unpaged()} pages still on their way`)
        while (unpaged() > 0 && Date.now() < end) await sleep(250)
      },
      onCommand: (spec, outcome, payload) => {
        const parsed = parseCommand(payload)
        if (!parsed.ok || parsed.value.type !== 'order.ready') return
        const orderId = parsed.value.payload.order_id
        if (notifyOf.has(orderId) && notifyOf.get(orderId) !== spec.deviceId) wrongDevice++
        if (outcome === 'acknowledged' || outcome === 'expired') deliveredAt.set(orderId, Date.now())
        if (outcome === 'acknowledged') delivered.set(orderId, spec.deviceId)
        else if (outcome === 'expired') {
          // Arrived, but after its validity (10 virtual minutes): an outage held it back.
          delivered.set(orderId, spec.deviceId)
          expiredAtDevice++
        }
      },
      progressEveryMs: 2_000,
      onProgress: (st) =>
        o.log(
          `phase 1: ${st.connected}/${st.devices} connected, sent ${st.sends}, acknowledged ${st.acked}, pending ${st.pending}, virtual ${(st.virtualMs / 60_000).toFixed(1)} min`,
        ),
    })
    await driver
    o.log(`phase 1 done: ${phase1.stats.acked} acknowledged, drained ${phase1.drained}; tail…`)
    const tail = await runLive({
      ...deviceOpts,
      scenario: tailScenario,
      speed: 0,
      onEmission: (e) => {
        if (e.kind === 'event') emitted++
      },
    })

    // Settle: the processor and the sink catch up; the lake is read until it holds everything.
    const settleStart = Date.now()
    let lake: LakeCheck
    let previous = ''
    for (;;) {
      await sleep(2_500)
      lake = await checkLake({
        lakeDir,
        acked,
        orders: placedOrders,
        ratingTimeoutMs: o.ratingTimeoutMs,
        windowMs: o.windowMs,
        kpiUntil: tailScenario.startMs,
      })
      const shape = JSON.stringify(lake.rows)
      const complete = lake.lost.length === 0 && lake.facts.missing.length === 0
      if ((complete && shape === previous) || Date.now() - settleStart > o.settleTimeoutMs) break
      previous = shape
    }
    const settleMs = Date.now() - settleStart

    const expectedCommands = lake.readyOrders.filter((id) => placedOrders.has(id))
    const missing = expectedCommands.filter((id) => !delivered.has(id))
    // When (wall seconds into phase 1) the orders whose pager never heard were ready: says which fault.
    const missingReadyAtS = missing
      .map((id) => round(((lake.readyAt.get(id) ?? 0) - scenario.startMs) / o.speed / 1000, 1))
      .sort((a, b) => a - b)
    // Where the pages' time went: kitchen "ready" (device clock, scaled to wall) → command produced
    // (its record timestamp: the processor's share, with the gateway's and Kafka's before it) → pager
    // acknowledged (the transaction's commit and the gateway's downlink). The probe's own receive
    // time is not used: its consumer lives through the same Kafka outage.
    const wallOf = (virtualMs: number) => runStart + (virtualMs - scenario.startMs) / o.speed
    const toCommand: number[] = []
    const toPager: number[] = []
    for (const id of expectedCommands) {
      const c = commandsSeen.get(id)
      const ready = lake.readyAt.get(id)
      const at = deliveredAt.get(id)
      if (c !== undefined && ready !== undefined) toCommand.push(c.producedAt - wallOf(ready))
      if (c !== undefined && at !== undefined) toPager.push(at - c.producedAt)
    }
    const dist = (xs: number[]) =>
      xs.length === 0
        ? { p50: Number.NaN, p90: Number.NaN, max: Number.NaN }
        : { p50: percentile(xs, 50), p90: percentile(xs, 90), max: Math.max(...xs) }
    const readyToCommandMs = dist(toCommand)
    const commandToPagerMs = dist(toPager)
    const spread = (d: { p50: number; p90: number; max: number }) => {
      const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`
      return Number.isNaN(d.max) ? 'none' : `p50 ${s(d.p50)}, p90 ${s(d.p90)}, max ${s(d.max)}`
    }
    o.log(`pages: ready → command ${spread(readyToCommandMs)}; command → pager ${spread(commandToPagerMs)}`)
    if (missing.length > 0) {
      const at = missingReadyAtS
      o.log(
        `${missing.length} "order ready" commands never reached their pager; ready at ${at.map((s) => s.toFixed(1)).join(', ')} s into phase 1`,
      )
      // Per missing page: when the processor's command became visible, on which partition, and its
      // expiry (device time, which starts at phase 1's wall clock: scaled like the ready time).
      const sec = (wallMs: number) => ((wallMs - runStart) / 1000).toFixed(1)
      const virt = (ms: number) => ((ms - scenario.startMs) / o.speed / 1000).toFixed(1)
      for (const id of missing) {
        const c = commandsSeen.get(id)
        o.log(
          c === undefined
            ? `  ${id}: ready at ${virt(lake.readyAt.get(id) ?? 0)} s, no command on ${commandsTopic}`
            : `  ${id}: ready at ${virt(lake.readyAt.get(id) ?? 0)} s, command at p${c.partition}@${c.offset} produced ${sec(c.producedAt)} s, seen ${sec(c.seenAt)} s, expires ${virt(c.expiresAt)} s`,
        )
      }
    }
    const latencies: number[] = []
    for (const [orderId, ratingId] of ratingOf) {
      const seen = factsSeen.get(orderId)
      const sent = emittedAt.get(ratingId)
      if (seen !== undefined && sent !== undefined && lake.ratedOrders.has(orderId))
        latencies.push(seen - sent)
    }
    return {
      prefix: o.prefix,
      lakeDir,
      phase1,
      tail,
      emitted,
      acked: acked.size,
      ordersPlaced: placedOrders.size,
      commands: {
        expected: expectedCommands.length,
        delivered: delivered.size,
        expired: expiredAtDevice,
        missing,
        missingReadyAtS,
        wrongDevice,
        readyToCommandMs,
        commandToPagerMs,
      },
      latencyMs: {
        samples: latencies.length,
        p50: latencies.length ? percentile(latencies, 50) : Number.NaN,
        p99: latencies.length ? percentile(latencies, 99) : Number.NaN,
        max: latencies.length ? round(Math.max(...latencies), 0) : Number.NaN,
      },
      lake,
      faults,
      stages: {
        gateway: stageStats(stages.gateway),
        processor: stageStats(stages.processor),
        sink: stageStats(stages.sink),
      },
      stageOutput: {
        gateway: stages.gateway.output.slice(-4_000),
        processor: stages.processor.output.slice(-4_000),
        sink: stages.sink.output.slice(-4_000),
      },
      settleMs,
      wallMs: Date.now() - t0,
    }
  } finally {
    await consumer?.disconnect().catch(() => undefined)
    // Reverse order, gracefully: what the gateway holds reaches Kafka, the sink flushes.
    await stages.gateway.stop().catch(() => undefined)
    await stages.processor.stop().catch(() => undefined)
    await stages.sink.stop().catch(() => undefined)
    if (!o.keepTopics) await deleteRunTopics(o.brokers, o.prefix).catch(() => undefined)
  }
}

/** The run's topics (everything under its prefix) are removed from a shared broker afterwards. */
async function deleteRunTopics(brokers: string[], prefix: string): Promise<void> {
  const admin = new Kafka({ brokers, clientId: 'pp-e2e-cleanup', logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`))
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 })
  } finally {
    await admin.disconnect()
  }
}

function stageStats(s: StageProcess) {
  return { starts: s.starts, kills: s.kills, unexpectedExits: [...s.unexpectedExits] }
}

/**
 * A run in a few lines for a test's failure message or a log: the counts, the faults, the progress
 * lines (without the periodic ones) and the stages' last output.
 */
export function describeRun(r: E2eResult, lines: readonly string[]): { summary: string; context: string } {
  const summary = JSON.stringify({
    acked: r.acked,
    orders: r.ordersPlaced,
    rows: r.lake.rows,
    edgeDuplicates: r.lake.edgeDuplicates,
    unfinished: r.lake.facts.unfinished.length,
    kpisCompared: r.lake.kpis.compared,
    alerts: r.lake.alerts.byKind,
    missingFactAlerts: r.lake.facts.missingAlerts,
    commands: { expected: r.commands.expected, delivered: r.commands.delivered, expired: r.commands.expired },
    unpaged: r.phase1.sim.orders.unpaged,
    latencyMs: r.latencyMs,
    faults: r.faults,
    stages: r.stages,
    settleMs: r.settleMs,
    wallMs: r.wallMs,
  })
  const output = Object.entries(r.stageOutput)
    .map(([stage, text]) => `--- ${stage} ---\n${text}`)
    .join('\n')
  const progress = lines.filter((l) => !l.startsWith('phase 1:')).join('\n')
  return { summary, context: `${progress}\n${summary}\n${output}` }
}
