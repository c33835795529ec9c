/**
 * `pedepronto bench sim`: how many MQTT devices one process holds connected to a local mosquitto
 * (started here on a free port, its own config), how many events/s they publish at QoS 1 (each
 * resolved on its PUBACK), the ack latency, and the memory each connected device costs.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BenchDefinition, ExitCode, PedeProntoError, round } from '@pedepronto/common'
import { MqttTransport, makeScenario, runLive } from '@pedepronto/device-sim'
import { freePort, portOpen } from '@pedepronto/infra'

async function startMosquitto(dir: string, port: number): Promise<ChildProcess> {
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'max_connections -1',
      'max_inflight_messages 0',
      'max_queued_messages 1000',
      // PUBACKs are tiny: without TCP_NODELAY, Nagle holds each one until the previous is ACKed.
      'set_tcp_nodelay true',
      'log_dest none',
      '',
    ].join('\n'),
  )
  const proc = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' })
  const end = Date.now() + 10_000
  while (Date.now() < end) {
    if (await portOpen('127.0.0.1', port)) return proc
    if (proc.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 50))
  }
  proc.kill('SIGKILL')
  throw new PedeProntoError('SVC_START_FAILED', `mosquitto did not open port ${port}`, {
    exitCode: ExitCode.UNAVAILABLE,
    hint: 'sudo apt-get install -y mosquitto',
  })
}

export const simBench: BenchDefinition = {
  name: 'sim',
  description:
    'simulated MQTT devices one process holds, QoS 1 events/s into a local mosquitto, memory per device',
  async run({ quick, log }) {
    const devices = quick ? 1_000 : 10_000
    const seconds = quick ? 10 : 30
    const dir = mkdtempSync(join(tmpdir(), 'pp-bench-sim-'))
    const port = await freePort()
    const broker = await startMosquitto(dir, port)
    try {
      const url = `mqtt://127.0.0.1:${port}`
      const perRestaurant = 8
      const scenario = makeScenario({
        seed: 42,
        restaurants: Math.ceil(devices / perRestaurant),
        devicesPerRestaurant: perRestaurant,
        // Enough orders that virtual time never runs out before the wall limit.
        ratePerS: devices * 2,
        durationMs: 24 * 3600_000,
        behaviour: { heartbeatIntervalS: 5, telemetryIntervalS: 2 },
      })
      global.gc?.()
      const rss0 = process.memoryUsage().rss
      let rssConnected = rss0
      let connectedAt = 0
      const t0 = Date.now()
      let maxConnected = 0
      const summary = await runLive({
        scenario,
        speed: 0,
        // A kitchen terminal sends most of its restaurant's events: a window of 4 capped it at
        // 4 / RTT messages per second and left the other devices idle (Little's law).
        window: 8,
        connectBatch: 500,
        maxPending: devices * 8,
        wallLimitMs: seconds * 1000,
        drainTimeoutMs: 15_000,
        progressEveryMs: 250,
        transportFor: (spec) =>
          new MqttTransport({
            url,
            deviceId: spec.deviceId,
            restaurantId: spec.restaurantId,
            keepaliveS: 120,
          }),
        onProgress: (s) => {
          maxConnected = Math.max(maxConnected, s.connected)
          if (connectedAt === 0 && s.connected >= s.transmitting) {
            connectedAt = Date.now()
            rssConnected = process.memoryUsage().rss
          }
        },
        log,
      })
      if (connectedAt === 0) rssConnected = process.memoryUsage().rss
      const connected = Math.max(maxConnected, summary.stats.connected)
      const publishS = Math.max(0.001, (Date.now() - (connectedAt || t0)) / 1000)
      log.info({ stats: summary.stats, latency: summary.ackLatencyMs }, 'sim bench')
      return {
        figures: [
          { name: 'connected_devices', value: connected, unit: 'devices' },
          { name: 'connect_all_s', value: round(((connectedAt || Date.now()) - t0) / 1000, 2), unit: 's' },
          { name: 'events_per_s_qos1', value: round(summary.stats.acked / publishS, 0), unit: 'events/s' },
          { name: 'events_acked', value: summary.stats.acked, unit: 'events' },
          {
            name: 'rss_per_device_kb',
            value: round((rssConnected - rss0) / 1024 / Math.max(1, connected), 1),
            unit: 'KiB',
          },
          { name: 'ack_latency_p50_ms', value: summary.ackLatencyMs.p50, unit: 'ms' },
          { name: 'ack_latency_p99_ms', value: summary.ackLatencyMs.p99, unit: 'ms' },
          { name: 'connect_failures', value: summary.stats.connectFailures, unit: 'count' },
        ],
      }
    } finally {
      broker.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  },
}
