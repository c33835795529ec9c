/**
 * From configuration to a runnable fleet: reads the scenario and fault files, resolves the start
 * time, and picks each device's transport (serial port i for device i, MQTT for the rest).
 */
import { readFileSync } from 'node:fs'
import { ExitCode } from '@pedepronto/common'
import type { SimConfig } from './config.js'
import { SimError, usageError } from './errors.js'
import { defaultFaults, type Faults, loadFaultsFile } from './faults.js'
import type { DeviceSpec } from './fleet.js'
import { deviceRandom, STREAM } from './random.js'
import { makeScenario, parseBehaviour, type Scenario } from './scenario.js'
import { MqttTransport } from './transport/mqtt.js'
import { SerialTransport } from './transport/serial.js'
import type { DeviceTransport } from './transport/types.js'

export function parseStart(text: string, nowMs: number): number {
  if (text === 'now') return nowMs
  const ms = Date.parse(text)
  if (!Number.isFinite(ms)) throw usageError(`--start must be an ISO 8601 time or "now", got "${text}"`)
  return ms
}

export function scenarioFromConfig(
  sim: SimConfig['sim'],
  nowMs = Date.now(),
  faultsOverride?: Partial<Faults>,
): Scenario {
  let behaviour: unknown = {}
  if (sim.scenario) {
    try {
      behaviour = JSON.parse(readFileSync(sim.scenario, 'utf8'))
    } catch (error) {
      throw new SimError(
        'SIM_SCENARIO_INVALID',
        `cannot read scenario file ${sim.scenario}: ${(error as Error).message}`,
        {
          exitCode: ExitCode.CONFIG,
          cause: error,
        },
      )
    }
  }
  const parsed = parseBehaviour(
    { ...(behaviour as object), pickupTrigger: sim.pickupTrigger },
    `scenario ${sim.scenario || '(defaults)'}`,
  )
  const faults = { ...(sim.faults ? loadFaultsFile(sim.faults) : defaultFaults()), ...(faultsOverride ?? {}) }
  return makeScenario({
    seed: sim.seed,
    restaurants: sim.restaurants,
    devicesPerRestaurant: sim.devicesPerRestaurant,
    ratePerS: sim.rate,
    durationMs: Math.round(sim.durationS * 1000),
    startMs: parseStart(sim.start, nowMs),
    behaviour: parsed,
    faults,
  })
}

export interface TransportChoice {
  /** Send the devices without a serial port over MQTT (false: simulate them without sending). */
  mqtt: boolean
}

export function transportFactory(
  sim: SimConfig['sim'],
  scenario: Scenario,
  choice: TransportChoice,
): (spec: DeviceSpec) => DeviceTransport | null {
  return (spec) => {
    const path = sim.serial[spec.index]
    if (path !== undefined) {
      const f = scenario.faults
      const noisy = f.serial_ber > 0 || f.serial_garbage > 0
      return new SerialTransport({
        path,
        deviceId: spec.deviceId,
        restaurantId: spec.restaurantId,
        firmware: spec.firmware,
        ackTimeoutMs: Math.min(sim.ackTimeoutMs, 1000),
        ...(noisy
          ? {
              noise: {
                ber: f.serial_ber,
                garbage: f.serial_garbage,
                random: deviceRandom(scenario.seed, spec.index, STREAM.serialNoise),
              },
            }
          : {}),
      })
    }
    if (!choice.mqtt) return null
    return new MqttTransport({
      url: sim.broker,
      deviceId: spec.deviceId,
      restaurantId: spec.restaurantId,
      ...(sim.tlsDir ? { tlsDir: sim.tlsDir } : {}),
    })
  }
}
