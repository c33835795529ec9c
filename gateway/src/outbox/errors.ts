import { PedeProntoError } from '@pedepronto/common'

/** The closed list of outbox error codes; callers branch on `code` and `canRetry`, never on text. */
export const OutboxErrorCodes = {
  /** Accepting this append would exceed `maxBytes`; nothing of it was written. Do not acknowledge. */
  GW_OUTBOX_FULL: 'GW_OUTBOX_FULL',
  /** A segment or the checkpoint is damaged in a way a crash cannot explain. */
  GW_OUTBOX_CORRUPT: 'GW_OUTBOX_CORRUPT',
  /** A write or fsync failed; the outbox refuses further appends until it is closed and reopened. */
  GW_OUTBOX_IO: 'GW_OUTBOX_IO',
  /** The outbox is closed (or was never opened). */
  GW_OUTBOX_CLOSED: 'GW_OUTBOX_CLOSED',
  /** A caller bug: bad options, an empty append, an ack beyond what was appended, an oversized field. */
  GW_OUTBOX_INVALID: 'GW_OUTBOX_INVALID',
} as const

export type OutboxErrorCode = (typeof OutboxErrorCodes)[keyof typeof OutboxErrorCodes]

export class OutboxError extends PedeProntoError<OutboxErrorCode> {}
