import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { withConfigDocs } from '../src/config-docs.js'

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

describe('README', () => {
  it('carries the configuration tables generated from the schemas (run `node scripts/config-docs.mjs`)', () => {
    expect(withConfigDocs(README)).toBe(README)
  })

  it('gives exactly the two commands a newcomer needs', () => {
    const block = README.slice(README.indexOf('## The two commands'), README.indexOf('## Status'))
    const commands = [...block.matchAll(/^npm [a-z ]+?(?=\s+#)/gm)].map((m) => m[0])
    expect(commands).toEqual(['npm run demo', 'npm test'])
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      scripts: Record<string, string>
    }
    expect(pkg.scripts.demo).toBeDefined()
    expect(pkg.scripts.test).toBeDefined()
  })
})
