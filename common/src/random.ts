/**
 * Seeded randomness (STYLE.md, convention 6): simulations and tests are reproducible from a seed.
 * sfc32 (Chris Doty-Humphrey's Small Fast Counter, from PractRand) — tiny, fast, and passes
 * PractRand to many terabytes, unlike Math.random it can be replayed.
 */
export type Random = () => number

export function seededRandom(seed: number): Random {
  // Spread one 32-bit seed over the four words with splitmix32, then warm up.
  let s = seed >>> 0
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = split()
  let b = split()
  let c = split()
  let d = split()
  const next = () => {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  for (let i = 0; i < 12; i++) next()
  return next
}

/** An integer in [min, max]. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1))
}

export function pick<T>(random: Random, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('pick from an empty list')
  return items[Math.floor(random() * items.length)] as T
}

/** Exponentially distributed waiting time with the given rate (events per unit): Poisson arrivals. */
export function exponential(random: Random, rate: number): number {
  return -Math.log(1 - random()) / rate
}
