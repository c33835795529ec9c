// Streaming decoder for the serial line: bytes arrive in arbitrary chunks (a UART read returns
// whatever is in the driver's buffer), frames end at 0x00 (frame.ts). The decoder owns one buffer of
// MAX_ENCODED_FRAME bytes and never grows it, so a line that spews garbage without delimiters costs
// constant memory: the run is reported once as `too_long` and skipped up to the next 0x00, where the
// decoder is back in sync (DESIGN.md, "Serial frames": drop, count, re-synchronise).

import type { Frame, FrameErrorReason } from './frame.js'
import { decodeFrame, FRAME_DELIMITER, FRAME_ERROR_REASONS, MAX_ENCODED_FRAME } from './frame.js'

/**
 * One outcome of `FrameDecoder.push`. `bytes` is the number of wire bytes the event accounts for,
 * delimiter included. A `too_long` run is reported as soon as it crosses the limit, with
 * `bytes` = MAX_ENCODED_FRAME + 1; the rest of the run, up to its delimiter, is skipped silently and
 * counted in `stats.droppedBytes`.
 */
export type DecodeEvent =
  | { kind: 'frame'; frame: Frame; bytes: number }
  | { kind: 'error'; reason: FrameErrorReason; detail: string; bytes: number }

export interface FrameDecoderStats {
  /** Bytes pushed into the decoder. */
  bytes: number
  /** Frames decoded. */
  frames: number
  /** Rejected frames by reason (every reason present, zero when none). */
  errors: Record<FrameErrorReason, number>
  /** Bytes of rejected frames and overlong runs, their delimiters included. */
  droppedBytes: number
  /** Empty frames between two delimiters: line flushes, ignored and not errors. */
  emptyFrames: number
}

/**
 * Splits a byte stream into frames. Synchronous, never throws, and allocates only for the events it
 * returns and the frames it decodes. Feeding the same bytes in any chunking yields the same events.
 */
export class FrameDecoder {
  readonly #buffer = new Uint8Array(MAX_ENCODED_FRAME)
  #length = 0
  // True from the byte that makes a run longer than MAX_ENCODED_FRAME up to the next delimiter.
  #discarding = false
  #bytes = 0
  #frames = 0
  #droppedBytes = 0
  #emptyFrames = 0
  readonly #errors = zeroErrors()

  /** Consumes `chunk`; returns the frames and errors completed by it, in stream order. */
  push(chunk: Uint8Array): DecodeEvent[] {
    const events: DecodeEvent[] = []
    const n = chunk.length
    this.#bytes += n
    let pos = 0
    while (pos < n) {
      const zero = chunk.indexOf(FRAME_DELIMITER, pos)
      const end = zero === -1 ? n : zero
      const run = end - pos
      if (this.#discarding) {
        this.#droppedBytes += run
      } else if (this.#length + run > MAX_ENCODED_FRAME) {
        // Reported at the first byte past the limit, whatever the chunking, so events do not depend on
        // how the driver happened to split the stream.
        this.#droppedBytes += this.#length + run
        this.#discarding = true
        this.#length = 0
        this.#errors.too_long++
        events.push({
          kind: 'error',
          reason: 'too_long',
          detail: `more than MAX_ENCODED_FRAME (${MAX_ENCODED_FRAME}) bytes without a delimiter; skipping to the next 0x00`,
          bytes: MAX_ENCODED_FRAME + 1,
        })
      } else {
        this.#buffer.set(chunk.subarray(pos, end), this.#length)
        this.#length += run
      }
      if (zero === -1) break
      pos = zero + 1
      const event = this.#endOfFrame()
      if (event !== undefined) events.push(event)
    }
    return events
  }

  /** Bytes buffered for a frame whose delimiter has not arrived yet. */
  get pending(): number {
    return this.#length
  }

  /** A snapshot of the counters. */
  get stats(): FrameDecoderStats {
    return {
      bytes: this.#bytes,
      frames: this.#frames,
      errors: { ...this.#errors },
      droppedBytes: this.#droppedBytes,
      emptyFrames: this.#emptyFrames,
    }
  }

  /**
   * Forgets a partially received frame, e.g. after the port was reopened, so that its first bytes
   * cannot be glued to the next frame. Counters are kept; the forgotten bytes count as dropped.
   */
  reset(): void {
    this.#droppedBytes += this.#length
    this.#length = 0
    this.#discarding = false
  }

  // Called at each delimiter; returns the event for the frame it closes, if any.
  #endOfFrame(): DecodeEvent | undefined {
    if (this.#discarding) {
      // The too_long error was reported when the run crossed the limit; only the delimiter is left.
      this.#discarding = false
      this.#droppedBytes += 1
      return undefined
    }
    const length = this.#length
    if (length === 0) {
      this.#emptyFrames++
      return undefined
    }
    this.#length = 0
    const bytes = length + 1
    // decodeFrame copies out of #buffer (COBS decoding writes a new array), so reusing it is safe.
    const result = decodeFrame(this.#buffer.subarray(0, length))
    if (result.ok) {
      this.#frames++
      return { kind: 'frame', frame: result.frame, bytes }
    }
    this.#errors[result.reason]++
    this.#droppedBytes += bytes
    return { kind: 'error', reason: result.reason, detail: result.detail, bytes }
  }
}

function zeroErrors(): Record<FrameErrorReason, number> {
  const errors = {} as Record<FrameErrorReason, number>
  for (const reason of FRAME_ERROR_REASONS) errors[reason] = 0
  return errors
}
