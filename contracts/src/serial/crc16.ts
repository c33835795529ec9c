// CRC-16/CCITT-FALSE, the checksum that closes every serial frame (see frame.ts for the layout).
// Parameters as catalogued in Greg Cook's "Catalogue of parametrised CRC algorithms" (CRC-16/IBM-3740,
// alias CRC-16/CCITT-FALSE): width 16, poly 0x1021, init 0xFFFF, refin false, refout false,
// xorout 0x0000, check ("123456789") 0x29B1. The C firmware must use exactly these parameters.

/** Initial register value of CRC-16/CCITT-FALSE. */
export const CRC16_CCITT_FALSE_INIT = 0xffff

const POLY = 0x1021

// One table lookup per byte instead of eight shifts: the gateway checks every byte it reads.
const TABLE: Uint16Array = (() => {
  const table = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let crc = i << 8
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ POLY) & 0xffff : (crc << 1) & 0xffff
    }
    table[i] = crc
  }
  return table
})()

/**
 * CRC-16/CCITT-FALSE of `bytes`.
 *
 * `init` lets a caller continue a running checksum: because xorout is 0,
 * `crc16CcittFalse(b, crc16CcittFalse(a)) === crc16CcittFalse(concat(a, b))`.
 */
export function crc16CcittFalse(bytes: Uint8Array, init: number = CRC16_CCITT_FALSE_INIT): number {
  let crc = init & 0xffff
  for (let i = 0; i < bytes.length; i++) {
    crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >>> 8) ^ bytes[i]!) & 0xff]!
  }
  return crc
}
