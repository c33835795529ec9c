// Rewrites the README's configuration tables from the component schemas (run after `npm run build`).
import { readFileSync, writeFileSync } from 'node:fs'

const { withConfigDocs } = await import('../cli/dist/config-docs.js')
const path = new URL('../README.md', import.meta.url)
const before = readFileSync(path, 'utf8')
const after = withConfigDocs(before)
writeFileSync(path, after)
console.log(
  before === after ? 'README configuration tables are current' : 'README configuration tables rewritten',
)
