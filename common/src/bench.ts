/**
 * The benchmark frame (../shared/DESIGN.md, "Measuring it"): every benchmark is
 * `pedepronto bench NAME --json FILE [--quick]` and writes
 * `{"bench", "figures": [{"name", "value", "unit"}], "baseline": {…}, "ratio": …}`.
 * Components plug a {@link BenchDefinition} into the CLI's registry.
 */
import { cpus, totalmem } from 'node:os'
import type { Logger } from 'pino'

export interface BenchFigure {
  name: string
  value: number
  unit: string
}

export interface BenchOutcome {
  figures: BenchFigure[]
  /** A neutral baseline measured in the same run, where the issue names one. */
  baseline?: Record<string, unknown>
  /** Ours divided by the baseline, where there is one. */
  ratio?: number
}

export interface BenchReport extends BenchOutcome {
  bench: string
  meta: {
    quick: boolean
    startedAt: string
    durationS: number
    cpus: number
    memoryGiB: number
    node: string
  }
}

export interface BenchContext {
  quick: boolean
  log: Logger
}

export interface BenchDefinition {
  name: string
  description: string
  run(context: BenchContext): Promise<BenchOutcome>
}

export async function runBench(definition: BenchDefinition, context: BenchContext): Promise<BenchReport> {
  const started = Date.now()
  const outcome = await definition.run(context)
  for (const f of outcome.figures) {
    if (!Number.isFinite(f.value))
      throw new Error(`bench ${definition.name}: figure ${f.name} is not a finite number`)
  }
  return {
    bench: definition.name,
    figures: outcome.figures,
    ...(outcome.baseline === undefined ? {} : { baseline: outcome.baseline }),
    ...(outcome.ratio === undefined ? {} : { ratio: outcome.ratio }),
    meta: {
      quick: context.quick,
      startedAt: new Date(started).toISOString(),
      durationS: round((Date.now() - started) / 1000, 3),
      cpus: cpus().length,
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      node: process.version,
    },
  }
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** Percentile by nearest rank on a copy (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] as number
}

export function median(values: readonly number[]): number {
  return percentile(values, 50)
}

/** Renders reports as the markdown table the README includes. */
export function benchTable(reports: readonly BenchReport[]): string {
  const rows = ['| bench | figure | value | unit |', '|---|---|---|---|']
  for (const r of reports) {
    for (const f of r.figures) rows.push(`| ${r.bench} | ${f.name} | ${f.value} | ${f.unit} |`)
    if (r.ratio !== undefined) rows.push(`| ${r.bench} | ratio to baseline | ${r.ratio} | × |`)
  }
  return rows.join('\n')
}
