/**
 * A scenario: who is in the fleet and how they behave. Built from the configuration (flags, env,
 * file) plus defaults for the finer knobs (menu, distributions), which a scenario JSON may override.
 */

import { ExitCode } from '@pedepronto/common'
import { type Static, Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { SimError } from './errors.js'
import { defaultFaults, type Faults } from './faults.js'
import type { Distribution } from './random.js'

const DistributionSchema = Type.Union([
  Type.Object(
    { dist: Type.Literal('fixed'), s: Type.Number({ minimum: 0 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { dist: Type.Literal('uniform'), minS: Type.Number({ minimum: 0 }), maxS: Type.Number({ minimum: 0 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { dist: Type.Literal('exponential'), meanS: Type.Number({ exclusiveMinimum: 0 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { dist: Type.Literal('normal'), meanS: Type.Number({ minimum: 0 }), sdS: Type.Number({ minimum: 0 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      dist: Type.Literal('lognormal'),
      medianS: Type.Number({ exclusiveMinimum: 0 }),
      sigma: Type.Number({ minimum: 0 }),
    },
    { additionalProperties: false },
  ),
])

export const MenuItemSchema = Type.Object(
  {
    sku: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }),
    name: Type.String({ minLength: 1, maxLength: 80 }),
    // Integer cents, BRL (DESIGN.md "Contracts": never floating point).
    priceCents: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
    weight: Type.Number({ exclusiveMinimum: 0, default: 1 }),
  },
  { additionalProperties: false },
)

/** The behaviour knobs a scenario JSON may set; every field has a default. */
export const BehaviourSchema = Type.Object(
  {
    menu: Type.Array(MenuItemSchema, { minItems: 1, maxItems: 500 }),
    maxItemsPerOrder: Type.Integer({ minimum: 1, maximum: 50, default: 4 }),
    cancelRate: Type.Number({ minimum: 0, maximum: 1, default: 0.03 }),
    rejectRate: Type.Number({ minimum: 0, maximum: 1, default: 0.02 }),
    ratingRate: Type.Number({ minimum: 0, maximum: 1, default: 0.6 }),
    /** Weights of ratings 1..5. */
    ratingWeights: Type.Array(Type.Number({ minimum: 0 }), { minItems: 5, maxItems: 5 }),
    commentRate: Type.Number({ minimum: 0, maximum: 1, default: 0.2 }),
    acceptTime: DistributionSchema,
    prepStartTime: DistributionSchema,
    prepTime: DistributionSchema,
    pickupTime: DistributionSchema,
    cancelTime: DistributionSchema,
    ratingTime: DistributionSchema,
    /** sim: the kitchen's `ready` triggers pickup; command: pagers wait for a real order.ready command. */
    pickupTrigger: Type.Union([Type.Literal('sim'), Type.Literal('command')], { default: 'sim' }),
    /** With pickupTrigger command: how long a customer waits for the page before walking up anyway. */
    pagePatienceS: Type.Number({ minimum: 1, maximum: 86_400, default: 300 }),
    heartbeatIntervalS: Type.Number({ minimum: 1, maximum: 3600, default: 30 }),
    telemetryIntervalS: Type.Number({ minimum: 1, maximum: 3600, default: 10 }),
    /** Standard deviation of the per-device clock skew. */
    clockSkewSdMs: Type.Number({ minimum: 0, maximum: 600_000, default: 400 }),
    /** Per reading, the chance a sensor starts an excursion (door left open, oil overheating). */
    excursionRate: Type.Number({ minimum: 0, maximum: 1, default: 0.01 }),
  },
  { additionalProperties: false },
)
export type Behaviour = Static<typeof BehaviourSchema>

export const DEFAULT_MENU: Behaviour['menu'] = [
  { sku: 'x-burger', name: 'X-Burger', priceCents: 2890, weight: 5 },
  { sku: 'x-salada', name: 'X-Salada', priceCents: 3190, weight: 4 },
  { sku: 'coxinha', name: 'Coxinha', priceCents: 890, weight: 6 },
  { sku: 'pastel-queijo', name: 'Pastel de queijo', priceCents: 1150, weight: 3 },
  { sku: 'acai-500', name: 'Açaí 500 ml', priceCents: 2490, weight: 3 },
  { sku: 'pao-de-queijo', name: 'Pão de queijo (6)', priceCents: 1290, weight: 4 },
  { sku: 'guarana', name: 'Guaraná Antarctica lata', priceCents: 690, weight: 6 },
  { sku: 'suco-laranja', name: 'Suco de laranja', priceCents: 990, weight: 3 },
  { sku: 'feijoada', name: 'Feijoada individual', priceCents: 4590, weight: 1 },
  { sku: 'brigadeiro', name: 'Brigadeiro', priceCents: 450, weight: 4 },
]

export function defaultBehaviour(): Behaviour {
  return {
    menu: DEFAULT_MENU,
    maxItemsPerOrder: 4,
    cancelRate: 0.03,
    rejectRate: 0.02,
    ratingRate: 0.6,
    ratingWeights: [0.03, 0.05, 0.12, 0.35, 0.45],
    commentRate: 0.2,
    acceptTime: { dist: 'lognormal', medianS: 8, sigma: 0.5 },
    prepStartTime: { dist: 'exponential', meanS: 20 },
    prepTime: { dist: 'lognormal', medianS: 240, sigma: 0.4 },
    pickupTime: { dist: 'lognormal', medianS: 45, sigma: 0.6 },
    cancelTime: { dist: 'exponential', meanS: 60 },
    ratingTime: { dist: 'lognormal', medianS: 300, sigma: 0.7 },
    pickupTrigger: 'sim',
    pagePatienceS: 300,
    heartbeatIntervalS: 30,
    telemetryIntervalS: 10,
    clockSkewSdMs: 400,
    excursionRate: 0.01,
  }
}

/** Everything the pure simulation needs; no I/O handles. */
export interface Scenario {
  seed: number
  restaurants: number
  devicesPerRestaurant: number
  /** Number of the first restaurant (0 → rest-0001); separates fleets sharing one broker. */
  firstRestaurant?: number
  /** Mean order arrivals per second across the fleet (Poisson). */
  ratePerS: number
  durationMs: number
  /**
   * Virtual ms after the start when customers stop placing orders (default: the whole duration). A
   * run that must see every order finish ends with a quiet stretch: kitchens, pagers and ratings go on.
   */
  ordersUntilMs?: number
  /** Virtual epoch ms at which the run starts (fixed by default so a seed gives one stream). */
  startMs: number
  behaviour: Behaviour
  faults: Faults
}

/** 2026-03-02 11:30 in São Paulo: a fixed virtual start, so a seed alone fixes every id and time. */
export const DEFAULT_START_MS = Date.UTC(2026, 2, 2, 14, 30, 0)

export function makeScenario(
  partial: Partial<Omit<Scenario, 'behaviour'>> & { behaviour?: Partial<Behaviour> },
): Scenario {
  const behaviour = { ...defaultBehaviour(), ...(partial.behaviour ?? {}) }
  return {
    seed: partial.seed ?? 42,
    restaurants: partial.restaurants ?? 2,
    devicesPerRestaurant: partial.devicesPerRestaurant ?? 8,
    firstRestaurant: partial.firstRestaurant ?? 0,
    ratePerS: partial.ratePerS ?? 1,
    durationMs: partial.durationMs ?? 60_000,
    ...(partial.ordersUntilMs === undefined ? {} : { ordersUntilMs: partial.ordersUntilMs }),
    startMs: partial.startMs ?? DEFAULT_START_MS,
    behaviour: parseBehaviour(behaviour),
    faults: partial.faults ?? defaultFaults(),
  }
}

export function parseBehaviour(value: unknown, source = 'scenario behaviour'): Behaviour {
  const merged = Value.Default(BehaviourSchema, { ...defaultBehaviour(), ...(value as object) })
  const errors = [...Value.Errors(BehaviourSchema, merged)]
  if (errors.length > 0) {
    const lines = errors
      .slice(0, 20)
      .map((e) => `  - ${e.path}: ${e.message}, got ${JSON.stringify(e.value)}`)
    throw new SimError(
      'SIM_SCENARIO_INVALID',
      `invalid ${source} (${errors.length} problems):\n${lines.join('\n')}`,
      {
        exitCode: ExitCode.CONFIG,
      },
    )
  }
  return merged as Behaviour
}

export type { Distribution }
