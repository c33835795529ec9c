export { crc32 } from './crc32.js'
export { OutboxError, type OutboxErrorCode, OutboxErrorCodes } from './errors.js'
export { frameSize } from './frame.js'
export {
  DEFAULT_SEGMENT_BYTES,
  Outbox,
  type OutboxAppendResult,
  type OutboxEntry,
  type OutboxOptions,
  type OutboxRecovery,
  type OutboxStats,
} from './outbox.js'
export { decodeRecord, encodedRecordSize, encodeRecord, type OutboxRecord } from './record.js'
