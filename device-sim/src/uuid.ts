/**
 * UUIDv7 (RFC 9562 §5.7) for the simulator's hot path: the same bits, the same ten draws in the same
 * order and the same text as `uuidv7` of @pedepronto/contracts (a test checks them equal), but built
 * from a byte-to-hex table without a byte array, because the fleet mints one per event.
 */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const MAX_UNIX_TS_MS = 2 ** 48 - 1

export function fastUuidv7(nowMs: number, random: () => number): string {
  if (!Number.isInteger(nowMs) || nowMs < 0 || nowMs > MAX_UNIX_TS_MS) {
    throw new RangeError(`uuidv7: nowMs must be an integer in 0..2^48-1, got ${nowMs}`)
  }
  const ts = nowMs.toString(16).padStart(12, '0')
  const b6 = Math.floor(random() * 256) & 0xff
  const b7 = Math.floor(random() * 256) & 0xff
  const b8 = Math.floor(random() * 256) & 0xff
  const b9 = Math.floor(random() * 256) & 0xff
  let tail = ''
  for (let i = 0; i < 6; i++) tail += HEX[Math.floor(random() * 256) & 0xff]
  // Version 7 in the high nibble of byte 6, variant 10 in the top bits of byte 8.
  return `${ts.slice(0, 8)}-${ts.slice(8)}-${HEX[0x70 | (b6 & 0x0f)]}${HEX[b7]}-${HEX[0x80 | (b8 & 0x3f)]}${HEX[b9]}-${tail}`
}
