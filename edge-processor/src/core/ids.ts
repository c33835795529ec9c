// Deterministic ids: an output re-derived after a crash or on another instance must carry the same id,
// so ids are UUIDv7 (RFC 9562 §5.7) whose time is an event time and whose "random" bits are a hash
// of what identifies the output. Consumers that dedup by id then see one record, not two.
import { createHash } from 'node:crypto'
import { EPOCH_MS_MAX, EPOCH_MS_MIN, uuidv7 } from '@pedepronto/contracts'

export function deterministicUuidv7(timeMs: number, ...parts: readonly string[]): string {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest()
  let i = 0
  const t = Math.min(EPOCH_MS_MAX, Math.max(EPOCH_MS_MIN, Math.trunc(timeMs)))
  return uuidv7(t, () => (digest[i++ % digest.length] as number) / 256)
}
