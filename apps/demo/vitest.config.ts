import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// The browser tests build the page once and drive headless Chromium: one file, run alone.
export default mergeConfig(shared, defineConfig({ test: { include: ['test/**/*.test.ts'], fileParallelism: false } }));
