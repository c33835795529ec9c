/**
 * Structured logs (pino) with the component name on every line (STYLE.md, convention 9). Logs go to
 * stderr so that stdout stays clean for command output (JSON lines, SQL, reports).
 */
import { type LevelWithSilent, type Logger, pino } from 'pino'

export type { Logger }

export interface LoggerOptions {
  level?: LevelWithSilent
  /** Destination file descriptor; 2 (stderr) by default. */
  fd?: number
}

export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? (process.env.PEDEPRONTO_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info'
  return pino(
    {
      level,
      base: { component },
      // Never log secrets: keys, tokens and certificate material are redacted wherever they appear.
      redact: {
        paths: ['*.password', '*.secretAccessKey', '*.privateKey', '*.key', '*.token'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: options.fd ?? 2, sync: false }),
  )
}

/** A logger that drops everything, for tests and quiet library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
