import { ExitCode, PedeProntoError, type PedeProntoErrorOptions } from '@pedepronto/common'

/** The sink's closed list of error codes (STYLE.md, convention 4). */
export const SinkErrorCodes = {
  SINK_UPLOAD_FAILED: 'SINK_UPLOAD_FAILED',
  SINK_TARGET_UNREACHABLE: 'SINK_TARGET_UNREACHABLE',
  SINK_SCHEMA_EVOLUTION: 'SINK_SCHEMA_EVOLUTION',
  SINK_GLUE_FAILED: 'SINK_GLUE_FAILED',
  SINK_IOT_FAILED: 'SINK_IOT_FAILED',
  SINK_QUERY_FAILED: 'SINK_QUERY_FAILED',
  SINK_INVENTORY_INVALID: 'SINK_INVENTORY_INVALID',
  SINK_LAKE_EMPTY: 'SINK_LAKE_EMPTY',
} as const

export type SinkErrorCode = (typeof SinkErrorCodes)[keyof typeof SinkErrorCodes]

export class SinkError extends PedeProntoError<SinkErrorCode> {
  constructor(code: SinkErrorCode, message: string, options: PedeProntoErrorOptions = {}) {
    super(code, message, { exitCode: ExitCode.FAILURE, ...options })
    this.name = 'SinkError'
  }
}
