import { defineConfig } from 'vitest/config';

/** Shared vitest settings: resolve workspace packages to their TypeScript sources. */
export default defineConfig({
  resolve: { conditions: ['@hsa/source', 'module', 'node', 'default'] },
  ssr: { resolve: { conditions: ['@hsa/source', 'node', 'default'], externalConditions: ['@hsa/source'] } },
  test: {
    // dawn.node is a native addon: run test files in child processes, one GPU device per process.
    pool: 'forks',
    // generous: a WebGPU test on SwiftShader compiles its pipelines on first use, and a loaded CI
    // machine (2 cores) stretches that several-fold; correctness, not speed, is what tests assert
    testTimeout: 300_000,
    hookTimeout: 300_000,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    passWithNoTests: true,
  },
});
