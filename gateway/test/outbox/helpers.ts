import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { expect } from 'vitest'
import type { OutboxRecord } from '../../src/outbox/index.js'

// vitest compares Buffers element by element through its generic path; comparing the bytes
// directly keeps 10,000-run properties within seconds. Same verdicts.
expect.addEqualityTesters([
  (a: unknown, b: unknown) =>
    a instanceof Uint8Array && b instanceof Uint8Array
      ? a.length === b.length && Buffer.compare(a, b) === 0
      : undefined,
])

/** A fresh directory under the OS temp dir and the function that removes it. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `pedepronto-${prefix}-`))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A deterministic record whose every field depends on `n`, so a mix-up shows. */
export function sampleRecord(n: number, valueBytes = 40): OutboxRecord {
  const value = Buffer.alloc(valueBytes)
  for (let i = 0; i < valueBytes; i++) value[i] = (n * 31 + i) & 0xff
  return {
    topic: `pedepronto.t${n % 3}.v1`,
    key: n % 5 === 0 ? null : `order-${n}`,
    value,
    headers: n % 2 === 0 ? { seq: String(n) } : {},
    timestamp: 1_700_000_000_000 + n,
  }
}

/** Unicode text without lone surrogates (UTF-8 cannot carry those; see record.ts). */
const text = (maxLength: number) => fc.string({ unit: 'grapheme', maxLength })

export const recordArbitrary: fc.Arbitrary<OutboxRecord> = fc.record({
  topic: text(40),
  key: fc.option(text(40), { nil: null }),
  value: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  headers: fc.dictionary(text(12), text(30), { maxKeys: 5 }),
  timestamp: fc.oneof(fc.integer({ min: 0, max: 2 ** 48 }), fc.double()),
})

/** Field-by-field equality; vitest's generic toEqual walk dominates the run time of big loops. */
export function sameRecord(a: OutboxRecord, b: OutboxRecord): boolean {
  const aHeaders = Object.entries(a.headers)
  const bHeaders = Object.entries(b.headers)
  return (
    a.topic === b.topic &&
    a.key === b.key &&
    Object.is(a.timestamp, b.timestamp) &&
    a.value.equals(b.value) &&
    aHeaders.length === bHeaders.length &&
    aHeaders.every(([name, value], i) => bHeaders[i]![0] === name && bHeaders[i]![1] === value)
  )
}

/** Asserts equality cheaply, falling back to toEqual for a readable diff when they differ. */
export function expectSameRecord(actual: OutboxRecord, wanted: OutboxRecord): void {
  if (!sameRecord(actual, wanted)) expect(actual).toEqual(wanted)
}
