import { defineConfig } from 'vitest/config'

// Tests import the workspace packages' TypeScript sources through the "source" export condition,
// so a test never runs against a stale dist/. Integration tests share one set of local services,
// started (or reused) by the global setup and stopped at the end if it started them.
// Node 20 is this machine's runtime; the AWS SDK's Node 22 notice is known (see cli/bin/pedepronto.js).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['*/test/**/*.test.ts'],
    globalSetup: ['infra/test-setup/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // One file at a time: the fault tests SIGKILL brokers and stages and then count on recovery
    // within the commands' validity; sharing two cores with another fault test made the end-to-end
    // fault test miss pages in CI about one run in two (slow recovery, pages expired at the
    // gateway), never alone. Costs about four minutes of CI.
    fileParallelism: false,
    maxWorkers: 1,
    reporters: ['default'],
  },
})
