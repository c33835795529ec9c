import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A fresh temporary folder per test file, removed by the returned cleanup. */
export async function tempCertsDir(label: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `pedepronto-certs-${label}-`))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}
