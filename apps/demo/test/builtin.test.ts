/**
 * The built-in model finds the needle (opt-in: HSA_DEMO_BUILTIN=1, and models/builtin/ must exist at
 * the repository root, or HSA_DEMO_MODEL_DIR; the build copies it into the page). On WebGPU (SwiftShader on a machine
 * without a GPU) at a small length: the answer contains the needle's number, and the retrieval
 * picture has a mark on the needle's chunk. Slow on SwiftShader (minutes), so not part of `pnpm check`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch } from './browser.js';
import { buildAndServe, demoDir, open, runByKeyboard, shots } from './harness.js';

const modelDir = process.env.HSA_DEMO_MODEL_DIR ?? join(demoDir, '../../models/builtin');
const enabled = process.env.HSA_DEMO_BUILTIN === '1' && existsSync(join(modelDir, 'model.safetensors'));
const CONTEXT = Number(process.env.HSA_DEMO_BUILTIN_CONTEXT ?? 1024);

describe.runIf(enabled)('the built-in model in the page', () => {
  let site: Awaited<ReturnType<typeof buildAndServe>>;
  let browser: Browser;

  beforeAll(async () => {
    site = await buildAndServe();
    browser = await launch({ webgpu: true });
  });

  afterAll(async () => {
    await browser?.close();
    site?.close();
  });

  it(`finds the needle at ${CONTEXT} tokens on WebGPU and marks its chunk as retrieved`, async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1200 } });
    await open(page, site.base);
    expect(await page.locator('#backend').getAttribute('data-kind')).toBe('webgpu');
    await runByKeyboard(page, { context: CONTEXT, newTokens: 16, timeout: 1_200_000 });
    await page.screenshot({ path: join(shots, 'demo-builtin.png'), fullPage: true });
    expect(await page.locator('#verdict').getAttribute('data-found')).toBe('true');
    expect(await page.locator('#raster .pick[data-needle="true"]').count()).toBeGreaterThan(0);
  }, 1_500_000);
});
