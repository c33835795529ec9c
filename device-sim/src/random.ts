/**
 * Seeded streams and the distributions the scenario names. Every device draws from its own stream,
 * derived from (seed, device index, purpose), so one device's events do not depend on how many
 * draws another device made or on the order the scheduler happened to run them.
 */
import { type Random, seededRandom } from '@pedepronto/common'

export type { Random }

/** Purposes get separate streams so that turning a fault on does not change the clean events. */
export const STREAM = { behaviour: 1, faults: 2, storms: 3, serialNoise: 4, backoff: 5 } as const

/** A 32-bit mix of (seed, index, purpose): splitmix-style, stable across platforms. */
export function deriveSeed(seed: number, index: number, purpose: number): number {
  let h = (seed >>> 0) ^ Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(purpose + 1, 0x85ebca77)
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d)
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b)
  return (h ^ (h >>> 16)) >>> 0
}

export function deviceRandom(seed: number, index: number, purpose: number): Random {
  return seededRandom(deriveSeed(seed, index, purpose))
}

/** Standard normal by Box–Muller (two uniforms per draw, so the number of draws is fixed). */
export function normal(random: Random, mean = 0, sd = 1): number {
  const u = 1 - random()
  const v = random()
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}

/** A weighted choice; weights need not sum to 1. */
export function weighted<T>(random: Random, items: readonly T[], weights: readonly number[]): T {
  const total = weights.reduce((a, b) => a + b, 0)
  let x = random() * total
  for (let i = 0; i < items.length; i++) {
    x -= weights[i] ?? 0
    if (x < 0) return items[i] as T
  }
  return items[items.length - 1] as T
}

/** A duration distribution in seconds, as written in the scenario. */
export type Distribution =
  | { dist: 'fixed'; s: number }
  | { dist: 'uniform'; minS: number; maxS: number }
  | { dist: 'exponential'; meanS: number }
  | { dist: 'normal'; meanS: number; sdS: number }
  | { dist: 'lognormal'; medianS: number; sigma: number }

/** Draws milliseconds (integer, ≥ 0). Every branch uses exactly two draws, keeping streams aligned. */
export function sampleMs(random: Random, d: Distribution): number {
  const a = random()
  const b = random()
  let s: number
  switch (d.dist) {
    case 'fixed':
      s = d.s
      break
    case 'uniform':
      s = d.minS + a * (d.maxS - d.minS)
      break
    case 'exponential':
      s = -Math.log(1 - a) * d.meanS
      break
    case 'normal':
      s = d.meanS + d.sdS * boxMuller(a, b)
      break
    case 'lognormal':
      s = d.medianS * Math.exp(d.sigma * boxMuller(a, b))
      break
  }
  return Math.max(0, Math.round(s * 1000))
}

function boxMuller(a: number, b: number): number {
  return Math.sqrt(-2 * Math.log(1 - a)) * Math.cos(2 * Math.PI * b)
}

/** Exponential backoff with full jitter, capped: uniform in [0, min(cap, base · 2^attempt)]. */
export function backoffMs(random: Random, attempt: number, baseMs: number, capMs: number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30))
  return Math.floor(random() * ceiling)
}
