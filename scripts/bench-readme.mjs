// Writes the figures of a `pedepronto bench all --json FILE` report into the README's bench table.
// Usage: node scripts/bench-readme.mjs bench-results/all.json
import { readFileSync, writeFileSync } from 'node:fs'

const file = process.argv[2] ?? 'bench-results/all.json'
const report = JSON.parse(readFileSync(file, 'utf8'))
const reports = report.reports ?? [report]
const rows = ['| bench | figure | value | unit |', '|---|---|---|---|']
for (const r of reports) {
  for (const f of r.figures) rows.push(`| ${r.bench} | ${f.name} | ${f.value} | ${f.unit} |`)
  if (r.baseline) {
    for (const [k, v] of Object.entries(r.baseline)) {
      if (typeof v === 'number') rows.push(`| ${r.bench} | baseline: ${k} | ${v} | |`)
    }
  }
  if (r.ratio !== undefined) rows.push(`| ${r.bench} | ratio to baseline | ${r.ratio} | × |`)
}
const when = reports[0]?.meta?.startedAt?.slice(0, 10) ?? ''
const quick = reports.some((r) => r.meta?.quick)
const how = quick
  ? 'one quick run each, small sizes (`pedepronto bench all --quick --json bench-results/ci-quick.json`, as CI runs it)'
  : 'one full run each (`pedepronto bench all --json bench-results/all.json`)'
const block = `${rows.join('\n')}\n\nMeasured ${when} on the 2-core machine with Kafka, mosquitto and moto on the same box, ${how}.\n`
const readme = readFileSync('README.md', 'utf8')
const begin = '<!-- bench:table -->'
const end = '<!-- /bench:table -->'
const a = readme.indexOf(begin)
const b = readme.indexOf(end)
if (a < 0 || b < a) throw new Error('README has no bench table markers')
writeFileSync('README.md', `${readme.slice(0, a + begin.length)}\n\n${block}\n${readme.slice(b)}`)
console.log(`README bench table written from ${file}`)
