/**
 * The built-in model finds the needle in the page (models/builtin/ at the repository root, which the
 * build copies into the page, or HSA_DEMO_MODEL_DIR; HSA_DEMO_BUILTIN=0 skips it). A 7-digit needle in
 * held-out Shakespeare, 512 tokens, the needle at depth 0 (~450 tokens before the question, beyond the
 * model's 256-token window, so only retrieval reaches it), 16 answer tokens: on WebGPU (SwiftShader
 * on a machine without a GPU) the answer holds the needle's number and the retrieval picture marks the
 * needle's chunk; without WebGPU, gpu.js gives the same tokens. ~1 minute each on SwiftShader here.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch } from './browser.js';
import { buildAndServe, demoDir, open, runByKeyboard, shots } from './harness.js';

const modelDir = process.env.HSA_DEMO_MODEL_DIR ?? join(demoDir, '../../models/builtin');
const enabled = process.env.HSA_DEMO_BUILTIN !== '0' && existsSync(join(modelDir, 'model.safetensors'));
const CONTEXT = Number(process.env.HSA_DEMO_BUILTIN_CONTEXT ?? 512);
const run = { context: CONTEXT, newTokens: 16, depth: 0, timeout: 600_000 };
const skipWebGpu = process.env.HSA_SKIP_WEBGPU === '1';

describe.runIf(enabled)('the built-in model in the page', () => {
  let site: Awaited<ReturnType<typeof buildAndServe>>;
  let withGpu: Browser | undefined;
  let noGpu: Browser;
  let webgpuIds: string | undefined;

  beforeAll(async () => {
    site = await buildAndServe();
    [withGpu, noGpu] = await Promise.all([skipWebGpu ? undefined : launch({ webgpu: true }), launch({ webgpu: false })]);
  });

  afterAll(async () => {
    await Promise.all([withGpu?.close(), noGpu?.close()]);
    site?.close();
  });

  it.skipIf(skipWebGpu)(`finds the needle at ${CONTEXT} tokens on WebGPU and marks its chunk as retrieved`, async () => {
    const page = await withGpu!.newPage({ viewport: { width: 1000, height: 1200 } });
    await open(page, site.base);
    expect(await page.locator('#backend').getAttribute('data-kind')).toBe('webgpu');
    webgpuIds = await runByKeyboard(page, run);
    await page.screenshot({ path: join(shots, 'demo-builtin.png'), fullPage: true });
    expect(await page.locator('#verdict').getAttribute('data-found')).toBe('true');
    expect(await page.locator('#raster .pick[data-needle="true"]').count()).toBeGreaterThan(0);
    await page.close();
  }, 900_000);

  it(`finds it on gpu.js without WebGPU, with the same tokens (${CONTEXT} tokens)`, async () => {
    const page = await noGpu.newPage({ viewport: { width: 1000, height: 1200 } });
    await open(page, `${site.base}?gpujsMin=0`);
    expect(await page.locator('#backend').getAttribute('data-kind')).toBe('gpujs');
    const ids = await runByKeyboard(page, run);
    await page.screenshot({ path: join(shots, 'demo-builtin-gpujs.png'), fullPage: true });
    expect(await page.locator('#verdict').getAttribute('data-found')).toBe('true');
    if (webgpuIds !== undefined) expect(ids).toBe(webgpuIds);
    await page.close();
  }, 900_000);
});
