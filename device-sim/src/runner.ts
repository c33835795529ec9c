/**
 * Runs a scenario: `dryRun` writes the pure stream as JSON lines; `runLive` pulls the same stream and
 * hands each emission to its device's firmware at the wall time its virtual time maps to (or as fast
 * as the acks allow with speed 0), then drains, closes and summarises.
 */
import { type Logger, percentile, round } from '@pedepronto/common'
import { type EventType, parseCommand } from '@pedepronto/contracts'
import { DeviceFirmware, type Outgoing } from './firmware.js'
import { type DeviceSpec, type Emission, FleetSimulation, type SimCounters } from './fleet.js'
import { deviceRandom, STREAM } from './random.js'
import type { Scenario } from './scenario.js'
import { SharedTimers } from './timers.js'
import type { DeviceTransport } from './transport/types.js'

/** The JSON line of one emission in a dry run. */
export function emissionLine(e: Emission): string {
  if (e.kind === 'disconnect')
    return JSON.stringify({ at: e.at, control: 'disconnect', device: e.device, ms: e.durationMs })
  const head = { at: e.at, topic: e.topic, faults: e.faults }
  return e.raw === undefined
    ? JSON.stringify({ ...head, event: e.event })
    : JSON.stringify({ ...head, event_id: e.event.event_id, raw: e.raw })
}

export interface DryRunResult {
  lines: number
  counters: SimCounters
}

/** The whole stream, instantly, as JSON lines `{at, topic, faults, event | raw}` (see emissionLine). */
export function dryRun(scenario: Scenario, write: (line: string) => void): DryRunResult {
  const sim = new FleetSimulation(scenario)
  let lines = 0
  for (let e = sim.next(); e !== undefined; e = sim.next()) {
    write(`${emissionLine(e)}\n`)
    lines++
  }
  return { lines, counters: sim.counters }
}

export interface LiveRunOptions {
  scenario: Scenario
  /** The device's transport, or null to simulate it without sending (its events still drive others). */
  transportFor: (spec: DeviceSpec) => DeviceTransport | null
  /** Virtual seconds per wall second; 0 runs as fast as acknowledgements allow. */
  speed?: number
  /** Messages in flight per device (QoS 1 window). */
  window?: number
  offlineQueueMax?: number
  ackTimeoutMs?: number
  reconnectBaseMs?: number
  reconnectCapMs?: number
  /** Devices connecting at once at boot. */
  connectBatch?: number
  /**
   * With speed 0: stop generating while this many messages are pending fleet-wide, or while the
   * next event's device, online, has offlineQueueMax pending.
   */
  maxPending?: number
  /** Stop generating after this much wall time even if virtual time is left (benchmarks). */
  wallLimitMs?: number
  drainTimeoutMs?: number
  progressEveryMs?: number
  onProgress?: (stats: LiveStats) => void
  /** Every emission as it is handed to a device (tests record the stream). */
  onEmission?: (e: Emission) => void
  /** Every acknowledgement (PUBACK or serial ACK) with the event's id and its latency from first send. */
  onAcked?: (eventId: string, type: string, latencyMs: number) => void
  onCommand?: (spec: DeviceSpec, outcome: string, payload: Uint8Array) => void
  /**
   * Runs after the drain, with every device still connected, before they close: a caller waiting
   * for downlink commands still on their way (end-to-end runs: pages an outage held back).
   */
  beforeClose?: () => Promise<void>
  signal?: AbortSignal
  log?: Logger
}

export interface LiveStats {
  devices: number
  transmitting: number
  connected: number
  connects: number
  connectFailures: number
  disconnects: number
  handedOver: number
  sends: number
  acked: number
  retransmits: number
  ackTimeouts: number
  rejected: number
  offlineDropped: number
  pending: number
  errors: number
  virtualMs: number
  /** The restaurants' orders so far (placed, ready, picked up, cancelled, rejected, open). */
  orders: {
    placed: number
    ready: number
    pickedUp: number
    cancelled: number
    rejected: number
    open: number
  }
}

export interface LiveSummary {
  stats: LiveStats
  ackedByType: Record<string, number>
  sim: SimCounters
  ackLatencyMs: { p50: number; p99: number; max: number; samples: number }
  wallMs: number
  drained: boolean
}

const LATENCY_RESERVOIR = 200_000

export async function runLive(options: LiveRunOptions): Promise<LiveSummary> {
  const o = {
    speed: 1,
    window: 8,
    offlineQueueMax: 1000,
    ackTimeoutMs: 10_000,
    reconnectBaseMs: 250,
    reconnectCapMs: 15_000,
    connectBatch: 200,
    maxPending: 50_000,
    drainTimeoutMs: 15_000,
    progressEveryMs: 500,
    ...options,
  }
  const sim = new FleetSimulation(o.scenario)
  const timers = new SharedTimers()
  const stats: LiveStats = {
    devices: sim.devices.length,
    transmitting: 0,
    connected: 0,
    connects: 0,
    connectFailures: 0,
    disconnects: 0,
    handedOver: 0,
    sends: 0,
    acked: 0,
    retransmits: 0,
    ackTimeouts: 0,
    rejected: 0,
    offlineDropped: 0,
    pending: 0,
    errors: 0,
    virtualMs: 0,
    orders: { placed: 0, ready: 0, pickedUp: 0, cancelled: 0, rejected: 0, open: 0 },
  }
  const ackedByType: Record<string, number> = {}
  const latencies: number[] = []
  let latencySeen = 0
  const latencyRandom = deviceRandom(o.scenario.seed, 0, STREAM.backoff)
  let maxLatency = 0
  const t0 = timers.now()
  const v0 = o.scenario.startMs
  const virtualNow = () => (o.speed > 0 ? v0 + (timers.now() - t0) * o.speed : sim.now)

  const firmwares: (DeviceFirmware | undefined)[] = sim.devices.map((spec) => {
    const transport = o.transportFor(spec)
    if (transport === null) return undefined
    stats.transmitting++
    const fw = new DeviceFirmware(
      transport,
      {
        timers,
        random: deviceRandom(o.scenario.seed, spec.index, STREAM.backoff),
        window: o.window,
        offlineQueueMax: o.offlineQueueMax,
        ackTimeoutMs: o.ackTimeoutMs,
        reconnectBaseMs: o.reconnectBaseMs,
        reconnectCapMs: o.reconnectCapMs,
      },
      {
        onConnected: () => {
          stats.connected++
          stats.connects++
        },
        onDisconnected: () => {
          stats.connected--
          stats.disconnects++
        },
        onConnectFailed: (error) => {
          stats.connectFailures++
          o.log?.debug({ device: spec.deviceId, err: error.message }, 'connect failed')
        },
        onSent: (item: Outgoing) => {
          stats.sends++
          if (item.sends > 1) stats.retransmits++
        },
        onAcked: (item, latency) => {
          stats.acked++
          ackedByType[item.type] = (ackedByType[item.type] ?? 0) + 1
          o.onAcked?.(item.eventId, item.type, latency)
          if (latency > maxLatency) maxLatency = latency
          // Reservoir sampling keeps percentiles honest on long runs with bounded memory.
          latencySeen++
          if (latencies.length < LATENCY_RESERVOIR) latencies.push(latency)
          else {
            const j = Math.floor(latencyRandom() * latencySeen)
            if (j < LATENCY_RESERVOIR) latencies[j] = latency
          }
        },
        onRejected: (item, error) => {
          stats.rejected++
          stats.errors++
          o.log?.warn({ device: spec.deviceId, event_id: item.eventId, err: error.message }, 'rejected')
        },
        onDropped: () => {
          stats.offlineDropped++
        },
        onAckTimeout: () => {
          stats.ackTimeouts++
        },
      },
    )
    transport.onCommand((payload) => {
      const parsed = parseCommand(payload)
      let outcome: string
      if (!parsed.ok) {
        outcome = `invalid:${parsed.reason}`
        stats.errors++
      } else {
        outcome = sim.deliverCommand(spec.index, parsed.value, Math.round(virtualNow()))
        o.log?.info({ device: spec.deviceId, command: parsed.value.type, outcome }, 'command')
      }
      o.onCommand?.(spec, outcome, payload)
    })
    return fw
  })

  let progressTimer: NodeJS.Timeout | undefined
  const report = () => {
    stats.pending = firmwares.reduce((acc, fw) => acc + (fw?.pending ?? 0), 0)
    stats.virtualMs = Math.round(virtualNow() - v0)
    const c = sim.counters.orders
    stats.orders = {
      placed: c.placed,
      ready: c.ready,
      pickedUp: c.pickedUp,
      cancelled: c.cancelled,
      rejected: c.rejected,
      open: c.placed - c.pickedUp - c.cancelled - c.rejected,
    }
    o.onProgress?.({ ...stats })
  }
  if (o.onProgress) progressTimer = setInterval(report, o.progressEveryMs)

  try {
    // Boot: connect in batches so ten thousand TLS/TCP handshakes do not all start in one tick.
    const live = firmwares.filter((f): f is DeviceFirmware => f !== undefined)
    for (let i = 0; i < live.length && !o.signal?.aborted; i += o.connectBatch) {
      await Promise.all(live.slice(i, i + o.connectBatch).map((fw) => fw.start()))
    }
    const start = timers.now()
    const wallEnd = o.wallLimitMs === undefined ? Number.POSITIVE_INFINITY : start + o.wallLimitMs
    let pendingApprox = 0
    let n = 0
    for (let e = sim.next(); e !== undefined; e = sim.next()) {
      if (o.signal?.aborted || timers.now() > wallEnd) break
      if (o.speed > 0) {
        const due = start + (e.at - v0) / o.speed
        const wait = due - timers.now()
        if (wait > 2) await sleep(wait)
      } else if (++n % 512 === 0) {
        pendingApprox = firmwares.reduce((acc, fw) => acc + (fw?.pending ?? 0), 0)
        while (pendingApprox > o.maxPending && !o.signal?.aborted && timers.now() <= wallEnd) {
          await sleep(5)
          pendingApprox = firmwares.reduce((acc, fw) => acc + (fw?.pending ?? 0), 0)
        }
        await new Promise((r) => setImmediate(r))
      }
      const fw = firmwares[e.device]
      // As fast as acknowledgements allow means that, too, per device: the fleet-wide cap alone let
      // one online device's queue pass offlineQueueMax and drop events no fault asked for. Only an
      // offline device (a disconnect fault) drops, as its firmware would.
      if (o.speed === 0 && fw !== undefined && e.kind !== 'disconnect') {
        while (fw.pending >= o.offlineQueueMax && fw.state === 'online' && !o.signal?.aborted) {
          if (timers.now() > wallEnd) break
          await sleep(2)
        }
      }
      o.onEmission?.(e)
      if (fw === undefined) continue
      if (e.kind === 'disconnect') {
        fw.disconnectFor(e.durationMs)
        continue
      }
      stats.handedOver++
      fw.submit(
        // A Buffer is a Uint8Array; Buffer.from on a string is cheaper than TextEncoder (pooled
        // allocation) and the MQTT transport hands it to the socket without another copy.
        { topic: e.topic, payload: Buffer.from(e.raw ?? JSON.stringify(e.event), 'utf8') },
        e.event.type,
        e.event.event_id,
      )
    }
    // Drain: every device empties its queue (or the timeout passes).
    let drained = true
    const all = Promise.all(firmwares.map((fw) => fw?.idle()))
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), o.drainTimeoutMs).unref())
    if ((await Promise.race([all, timeout])) === 'timeout') drained = false
    await o.beforeClose?.()
    report()
    return {
      stats: { ...stats },
      ackedByType,
      sim: sim.counters,
      ackLatencyMs: {
        p50: round(percentile(latencies, 50), 2),
        p99: round(percentile(latencies, 99), 2),
        max: round(maxLatency, 2),
        samples: latencySeen,
      },
      wallMs: Math.round(timers.now() - t0),
      drained,
    }
  } finally {
    if (progressTimer) clearInterval(progressTimer)
    timers.close()
    const live = firmwares.filter((f): f is DeviceFirmware => f !== undefined)
    for (let i = 0; i < live.length; i += 500) {
      await Promise.all(live.slice(i, i + 500).map((fw) => fw.close().catch(() => {})))
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export type { EventType }
