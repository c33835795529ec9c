#!/usr/bin/env node
// The `pedepronto` command. The TypeScript lives in cli/src and is compiled to cli/dist by
// `npm run build` (which `npm test` and `npm run demo` run first).
import { existsSync } from 'node:fs'

// We run on Node 20 by design of the target machine; the AWS SDK's notice about future versions
// needing Node 22 is known and would otherwise interleave with every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const main = new URL('../dist/main.js', import.meta.url)
if (!existsSync(main)) {
  process.stderr.write(
    'pedepronto is not built yet: run `npm run build` (or `npm run setup`) in the repository first.\n',
  )
  process.exit(70)
}
const { run } = await import(main.href)
const code = await run(process.argv)
// Long-running commands have stopped their parts by now; a client library's idle timer (kafkajs,
// the AWS SDK's keep-alive agents) must not keep a finished command alive.
process.exit(code)
