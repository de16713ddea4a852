import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// Unit tests of the page's modules (src/, in Node) and the browser tests (test/: they build the page
// and drive headless Chromium), one file at a time.
export default mergeConfig(shared, defineConfig({ test: { include: ['src/**/*.test.ts', 'test/**/*.test.ts'], fileParallelism: false } }));
