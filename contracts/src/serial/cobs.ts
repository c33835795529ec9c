// Consistent Overhead Byte Stuffing: S. Cheshire and M. Baker, "Consistent Overhead Byte Stuffing",
// IEEE/ACM Transactions on Networking 7(2), 1999. COBS removes every 0x00 from a message so that 0x00
// can delimit frames on the serial line, at a cost of at most ceil(n / 254) bytes (and exactly one
// byte for an empty or short message).
//
// The encoding is a sequence of blocks `code, data[code - 1]`. Each block stands for its data bytes
// followed by an implicit 0x00, except that a block with code 0xFF (254 data bytes, the maximum) has
// no implicit zero, and the implicit zero of the last block is dropped (the paper's rule: a zero is
// appended to the message before encoding and removed after decoding).

/** Largest COBS encoding of an `n`-byte message (no delimiter): n + max(1, ceil(n / 254)). */
export function cobsMaxEncodedLength(n: number): number {
  return n + Math.max(1, Math.ceil(n / 254))
}

/**
 * Encodes `bytes` into `out` starting at `offset`; returns the index after the last byte written.
 * `out` must have room for `cobsMaxEncodedLength(bytes.length)` bytes. Writes no delimiter.
 */
export function cobsEncodeInto(bytes: Uint8Array, out: Uint8Array, offset = 0): number {
  let codeIndex = offset
  let write = offset + 1
  let code = 1
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    if (b === 0) {
      out[codeIndex] = code
      codeIndex = write++
      code = 1
      continue
    }
    out[write++] = b
    code++
    // A full block (254 data bytes) ends without an implicit zero. Only open a new block if more
    // input follows, so that 254 non-zero bytes encode to 255 bytes, not 256 (paper, section 3).
    if (code === 0xff && i + 1 < bytes.length) {
      out[codeIndex] = code
      codeIndex = write++
      code = 1
    }
  }
  out[codeIndex] = code
  return write
}

/** COBS-encodes `bytes`. The result contains no 0x00 and no delimiter. */
export function cobsEncode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxEncodedLength(bytes.length))
  const end = cobsEncodeInto(bytes, out)
  return end === out.length ? out : out.subarray(0, end)
}

/**
 * Decodes one COBS block sequence (without its delimiter). Returns null when the input cannot have
 * come from `cobsEncode`: it is empty, contains a 0x00, or a code byte points past the end.
 */
export function cobsDecode(bytes: Uint8Array): Uint8Array | null {
  const n = bytes.length
  if (n === 0) return null
  // Decoding never grows the data: every block of `code` bytes yields at most `code` bytes.
  const out = new Uint8Array(n)
  let write = 0
  let read = 0
  while (read < n) {
    const code = bytes[read]!
    if (code === 0) return null
    const end = read + code
    if (end > n) return null
    for (let i = read + 1; i < end; i++) {
      const b = bytes[i]!
      if (b === 0) return null
      out[write++] = b
    }
    read = end
    if (code !== 0xff && read < n) out[write++] = 0
  }
  return out.subarray(0, write)
}
