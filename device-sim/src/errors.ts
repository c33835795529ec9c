/**
 * The simulator's closed list of error codes (STYLE.md, convention 4). Callers branch on `code` and
 * `canRetry`, never on message text.
 */
import { ExitCode, type ExitCodeValue, PedeProntoError } from '@pedepronto/common'

export const SimErrorCodes = {
  /** A flag or scenario value is out of range or malformed (exit 64 for flags, 78 for files). */
  SIM_USAGE: 'SIM_USAGE',
  /** The scenario or fault file cannot be read or does not match its schema. */
  SIM_SCENARIO_INVALID: 'SIM_SCENARIO_INVALID',
  /** A device's TLS material (ca.pem, <device>.pem, <device>.key) is missing. */
  SIM_TLS_MISSING: 'SIM_TLS_MISSING',
  /** The broker or serial port refused or dropped the connection. */
  SIM_CONNECT_FAILED: 'SIM_CONNECT_FAILED',
  /** A publish was not acknowledged in time (PUBACK or ACK frame). */
  SIM_ACK_TIMEOUT: 'SIM_ACK_TIMEOUT',
  /** The connection closed while a publish waited for its acknowledgement. */
  SIM_DISCONNECTED: 'SIM_DISCONNECTED',
  /** The gateway rejected a frame (NACK) for a reason a retransmit cannot fix. */
  SIM_REJECTED: 'SIM_REJECTED',
  /** The transport was closed by its owner. */
  SIM_CLOSED: 'SIM_CLOSED',
} as const

export type SimErrorCode = (typeof SimErrorCodes)[keyof typeof SimErrorCodes]

export class SimError extends PedeProntoError<SimErrorCode> {
  constructor(
    code: SimErrorCode,
    message: string,
    options: { cause?: unknown; canRetry?: boolean; hint?: string; exitCode?: ExitCodeValue } = {},
  ) {
    super(code, message, { exitCode: ExitCode.FAILURE, ...options })
    this.name = 'SimError'
  }
}

export function usageError(message: string, hint?: string): SimError {
  return new SimError('SIM_USAGE', message, { exitCode: ExitCode.USAGE, ...(hint ? { hint } : {}) })
}
