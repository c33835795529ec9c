/**
 * Per-device token bucket: `ratePerS` sustained, `burst` at once. Defined behaviour when empty: the
 * message is not ingested as an event but dead-lettered with reason `rate_limited` and its original
 * bytes, and then acknowledged like any durable message (MQTT PUBACK, serial ACK). MQTT 3.1.1 has no
 * negative PUBACK (§3.4); a withheld one would not slow the device down but stall its own connection
 * (its inflight window fills) and bring the same messages back at every reconnect (§4.4). The dead
 * letter keeps the bytes, so nothing is silently lost, and a chatty device cannot starve the others.
 * The clock is injected.
 */
export interface TokenBucketOptions {
  ratePerS: number
  burst: number
  now: () => number
  /** Buckets idle this long are forgotten, bounding memory to active devices. */
  idleMs?: number
}

interface Bucket {
  tokens: number
  at: number
}

export class RateLimiter {
  readonly #options: TokenBucketOptions
  readonly #buckets = new Map<string, Bucket>()
  #lastSweep = 0

  constructor(options: TokenBucketOptions) {
    this.#options = options
  }

  /** Takes one token for `id`; false when the bucket is empty. */
  take(id: string): boolean {
    const { ratePerS, burst, now } = this.#options
    const t = now()
    let bucket = this.#buckets.get(id)
    if (!bucket) {
      bucket = { tokens: burst, at: t }
      this.#buckets.set(id, bucket)
    } else {
      bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1000) * ratePerS)
      bucket.at = t
    }
    this.#sweep(t)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  get size(): number {
    return this.#buckets.size
  }

  #sweep(t: number): void {
    const idle = this.#options.idleMs ?? 600_000
    if (t - this.#lastSweep < idle) return
    this.#lastSweep = t
    for (const [id, b] of this.#buckets) if (t - b.at > idle) this.#buckets.delete(id)
  }
}
