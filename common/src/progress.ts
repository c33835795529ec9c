/**
 * Progress for long runs: a live bar on a terminal, a plain line every few seconds otherwise (CI
 * logs stay readable), and nothing at all when quiet.
 */
import cliProgress from 'cli-progress'

export interface Progress {
  /** Sets the current value and optional named counters shown after the bar. */
  update(value: number, fields?: Record<string, string | number>): void
  stop(): void
}

export interface ProgressOptions {
  label: string
  total: number
  unit?: string
  quiet?: boolean
  stream?: NodeJS.WriteStream
  /** Interval of plain lines when the stream is not a terminal. */
  plainEveryMs?: number
  now?: () => number
}

function formatFields(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr
  if (options.quiet) return { update() {}, stop() {} }
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${options.label} [{bar}] {percentage}% {value}/{total} ${options.unit ?? ''} {fields}`,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    )
    bar.start(options.total, 0, { fields: '' })
    return {
      update(value, fields) {
        bar.update(value, { fields: fields ? formatFields(fields) : '' })
      },
      stop() {
        bar.stop()
      },
    }
  }
  const now = options.now ?? Date.now
  const every = options.plainEveryMs ?? 5_000
  let last = now()
  let lastValue = 0
  let lastFields: Record<string, string | number> = {}
  return {
    update(value, fields) {
      lastValue = value
      lastFields = fields ?? lastFields
      if (now() - last >= every) {
        last = now()
        stream.write(
          `${options.label}: ${value}/${options.total} ${options.unit ?? ''} ${formatFields(lastFields)}\n`,
        )
      }
    },
    stop() {
      stream.write(
        `${options.label}: ${lastValue}/${options.total} ${options.unit ?? ''} ${formatFields(lastFields)} done\n`,
      )
    },
  }
}
