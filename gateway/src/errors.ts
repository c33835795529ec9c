import { ExitCode, PedeProntoError, type PedeProntoErrorOptions } from '@pedepronto/common'

/** The gateway's closed list of error codes (STYLE.md, convention 4). */
export const GatewayErrorCodes = {
  GW_ACL_DENIED: 'GW_ACL_DENIED',
  GW_AUTH_FAILED: 'GW_AUTH_FAILED',
  GW_REVOKED: 'GW_REVOKED',
  GW_CONNECTION_LIMIT: 'GW_CONNECTION_LIMIT',
  GW_SUBSCRIPTION_LIMIT: 'GW_SUBSCRIPTION_LIMIT',
  GW_OUTBOX_FULL: 'GW_OUTBOX_FULL',
  GW_OUTBOX_CORRUPT: 'GW_OUTBOX_CORRUPT',
  GW_KAFKA_SEND_FAILED: 'GW_KAFKA_SEND_FAILED',
  GW_STOPPING: 'GW_STOPPING',
  GW_TLS_CONFIG: 'GW_TLS_CONFIG',
  GW_LISTEN_FAILED: 'GW_LISTEN_FAILED',
  GW_SERIAL_OPEN: 'GW_SERIAL_OPEN',
  GW_TOKENS_FILE: 'GW_TOKENS_FILE',
} as const

export type GatewayErrorCode = (typeof GatewayErrorCodes)[keyof typeof GatewayErrorCodes]

export class GatewayError extends PedeProntoError<GatewayErrorCode> {
  constructor(code: GatewayErrorCode, message: string, options: PedeProntoErrorOptions = {}) {
    super(code, message, { exitCode: ExitCode.FAILURE, ...options })
    this.name = 'GatewayError'
  }
}
