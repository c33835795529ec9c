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
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
})
