// Serial frame codec: COBS + CRC-16/CCITT-FALSE frames between devices and the gateway (frame.ts).
export { cobsDecode, cobsEncode, cobsEncodeInto, cobsMaxEncodedLength } from './cobs.js'
export { CRC16_CCITT_FALSE_INIT, crc16CcittFalse } from './crc16.js'
export type { DecodeEvent, FrameDecoderStats } from './decoder.js'
export { FrameDecoder } from './decoder.js'
export type { DecodeResult, Frame, FrameErrorReason, FrameInput, FrameTypeName } from './frame.js'
export {
  ackFor,
  decodeFrame,
  encodeFrame,
  FRAME_CRC_LENGTH,
  FRAME_DELIMITER,
  FRAME_ERROR_REASONS,
  FRAME_HEADER_LENGTH,
  FRAME_TYPES,
  FRAME_VERSION,
  FrameType,
  frameTypeName,
  isFrameType,
  MAX_ENCODED_FRAME,
  MAX_PAYLOAD,
  MAX_RAW_FRAME,
  MAX_WIRE_FRAME,
  MIN_RAW_FRAME,
  NackCode,
  nackFor,
} from './frame.js'
