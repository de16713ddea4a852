import { defineConfig } from 'vitest/config';

/** Shared vitest settings: resolve workspace packages to their TypeScript sources. */
export default defineConfig({
  resolve: { conditions: ['@hsa/source', 'module', 'node', 'default'] },
  ssr: { resolve: { conditions: ['@hsa/source', 'node', 'default'], externalConditions: ['@hsa/source'] } },
  test: {
    // dawn.node is a native addon: run test files in child processes, one GPU device per process.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    passWithNoTests: true,
  },
});
