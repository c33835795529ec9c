/**
 * Fault injection, configured by flags or a JSON file (`--faults FILE`). Every fault has a rate so
 * that a test can check the injected count against its binomial bounds. Per-event faults are decided
 * from the device's own fault stream with a fixed number of draws per event, so enabling one fault
 * never changes which events another fault hits, nor the clean events themselves.
 */
import { readFileSync } from 'node:fs'
import { ExitCode } from '@pedepronto/common'
import { type Static, Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { SimError } from './errors.js'

/** Per-event faults, in the order their draws are made. */
export const EVENT_FAULTS = [
  'duplicate',
  'reorder',
  'clock_jump',
  'malformed',
  'oversized',
  'foreign_topic',
] as const
export type EventFault = (typeof EVENT_FAULTS)[number]
export type FaultName = EventFault | 'disconnect' | 'serial_noise'

const Probability = (description: string) => Type.Number({ minimum: 0, maximum: 1, default: 0, description })

export const FaultsSchema = Type.Object(
  {
    duplicate: Probability('Per event: send it twice (same event_id).'),
    reorder: Probability('Per event: hold it back and send it after the next event of the device.'),
    clock_jump: Probability('Per event: the device clock jumps by ±clock_jump_ms before this event.'),
    clock_jump_ms: Type.Integer({ minimum: 1, maximum: 86_400_000, default: 300_000 }),
    malformed: Probability('Per event: the payload is cut in half (invalid JSON).'),
    oversized: Probability('Per event: the payload is padded beyond oversized_bytes.'),
    oversized_bytes: Type.Integer({ minimum: 1024, maximum: 10_000_000, default: 65_536 }),
    foreign_topic: Probability("Per event: published on another device's topic."),
    disconnect_storms_per_min: Type.Number({
      minimum: 0,
      maximum: 600,
      default: 0,
      description: 'Fleet-wide disconnect storms per minute (Poisson).',
    }),
    disconnect_fraction: Probability('Share of devices a storm disconnects.'),
    disconnect_ms: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 2_000 }),
    serial_ber: Probability('Serial line: bit error rate applied to every byte sent.'),
    serial_garbage: Probability('Serial line: per frame, probability of garbage bytes before it.'),
  },
  { additionalProperties: false },
)

export type Faults = Static<typeof FaultsSchema>

export function defaultFaults(): Faults {
  return Value.Default(FaultsSchema, {}) as Faults
}

/** Validates a faults object, reporting every problem at once. */
export function parseFaults(value: unknown, source = 'faults'): Faults {
  const withDefaults = Value.Default(FaultsSchema, structuredClone(value ?? {}))
  const errors = [...Value.Errors(FaultsSchema, withDefaults)]
  if (errors.length > 0) {
    const lines = errors
      .slice(0, 20)
      .map((e) => `  - ${e.path || '/'}: ${e.message}, got ${JSON.stringify(e.value)}`)
    throw new SimError(
      'SIM_SCENARIO_INVALID',
      `invalid ${source} (${errors.length} problems):\n${lines.join('\n')}`,
      {
        exitCode: ExitCode.CONFIG,
        hint: `keys: ${Object.keys(FaultsSchema.properties).join(', ')}; rates are probabilities from 0 to 1`,
      },
    )
  }
  return withDefaults as Faults
}

export function loadFaultsFile(path: string): Faults {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new SimError(
      'SIM_SCENARIO_INVALID',
      `cannot read faults file ${path}: ${(error as Error).message}`,
      {
        exitCode: ExitCode.CONFIG,
        cause: error,
        hint: 'pass a readable JSON file to --faults',
      },
    )
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new SimError(
      'SIM_SCENARIO_INVALID',
      `faults file ${path} is not JSON: ${(error as Error).message}`,
      {
        exitCode: ExitCode.CONFIG,
        cause: error,
      },
    )
  }
  return parseFaults(json, `faults file ${path}`)
}
