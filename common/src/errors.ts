/**
 * Typed errors. Every error the system raises on purpose carries a code from a closed list (prefixed
 * by component: CONFIG_, SVC_, GW_, SIM_, EDGE_, SINK_, CLI_), the cause, and whether a retry can
 * help — the shape @platformatic/kafka uses, so callers branch on `code`/`canRetry`, never on text.
 */

export const CommonErrorCodes = {
  CONFIG_INVALID: 'CONFIG_INVALID',
  CONFIG_FILE: 'CONFIG_FILE',
  SVC_KAFKA_UNREACHABLE: 'SVC_KAFKA_UNREACHABLE',
  SVC_AWS_UNREACHABLE: 'SVC_AWS_UNREACHABLE',
  SVC_START_FAILED: 'SVC_START_FAILED',
  SVC_PORT_IN_USE: 'SVC_PORT_IN_USE',
  SVC_TOOL_MISSING: 'SVC_TOOL_MISSING',
  SVC_INSTALL_FAILED: 'SVC_INSTALL_FAILED',
  CLI_USAGE: 'CLI_USAGE',
  BENCH_UNKNOWN: 'BENCH_UNKNOWN',
  BENCH_FAILED: 'BENCH_FAILED',
} as const

export type CommonErrorCode = (typeof CommonErrorCodes)[keyof typeof CommonErrorCodes]

/**
 * Process exit codes with a meaning (BSD sysexits.h), so scripts can tell "you typed it wrong" from
 * "a service is down" from "we have a bug".
 */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 64,
  DATA: 65,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  TEMPFAIL: 75,
  CONFIG: 78,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export interface PedeProntoErrorOptions {
  cause?: unknown
  canRetry?: boolean
  /** What the user can do about it; printed after the message. */
  hint?: string
  exitCode?: ExitCodeValue
}

export class PedeProntoError<Code extends string = string> extends Error {
  readonly code: Code
  readonly canRetry: boolean
  readonly hint: string | undefined
  readonly exitCode: ExitCodeValue

  constructor(code: Code, message: string, options: PedeProntoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'PedeProntoError'
    this.code = code
    this.canRetry = options.canRetry ?? false
    this.hint = options.hint
    this.exitCode = options.exitCode ?? ExitCode.FAILURE
  }
}

export function isPedeProntoError(error: unknown): error is PedeProntoError {
  return error instanceof PedeProntoError
}

/** One line for a user: code, message and the hint; never a stack trace. */
export function formatErrorForUser(error: unknown): string {
  if (isPedeProntoError(error)) {
    const hint = error.hint ? `\n  what to do: ${error.hint}` : ''
    return `error ${error.code}: ${error.message}${hint}`
  }
  if (error instanceof Error) return `error: ${error.message}`
  return `error: ${String(error)}`
}
