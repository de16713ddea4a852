/**
 * The demo in headless Chromium, against its static build served by a plain file server and a
 * random-weight model made here (the built-in model's mechanics, not its answers): WebGPU runs end to
 * end with the answer streamed token by token and the needle's chunk marked in the retrieval picture;
 * without WebGPU, gpu.js (and then the CPU backend) give the same greedy tokens; the model comes from
 * the cache on a second visit; the page is operated by keyboard alone and fits 375 px; errors for no
 * backend and for too little memory are shown in words. Screenshots go to test-results/ (ignored).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSample, TASKS } from '@hsa/tasks';
import { loadShakespeare } from '@hsa/tasks/node';
import { fromTokenizerJson } from '@hsa/tokenizer';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch } from './browser.js';
import { fixtureTokenizerJson, writeRandomModel } from './fixture.js';
import { serveStatic } from './server.js';

const demo = fileURLToPath(new URL('..', import.meta.url));
const shots = join(demo, 'test-results');
const CONTEXT = 512;
const NEW_TOKENS = 16;
const DEPTH = 50;

let out: string;
let server: Server;
let base: string;
let withGpu: Browser;
let noGpu: Browser;
const ids: Record<string, string> = {};

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'hsa-demo-build-'));
  execFileSync(process.execPath, [join(demo, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'], { cwd: demo, stdio: 'inherit' });
  writeRandomModel(join(out, 'models/test'));
  mkdirSync(shots, { recursive: true });
  const s = await serveStatic(out);
  [server, base] = [s.server, s.url];
  [withGpu, noGpu] = await Promise.all([launch({ webgpu: true }), launch({ webgpu: false })]);
});

afterAll(async () => {
  await Promise.all([withGpu?.close(), noGpu?.close()]);
  server?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

const url = (q: string) => `${base}?model=models/test/&${q}`;

async function open(page: Page, q: string): Promise<void> {
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(url(q));
  await page.waitForSelector('body[data-ready]', { timeout: 120_000 });
}

/** Tabs on until `selector` has focus; returns the ids (or names) focused on the way. */
async function tabTo(page: Page, selector: string): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement?.id || document.activeElement?.getAttribute('name') || document.activeElement?.tagName || '');
    seen.push(id);
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return seen;
  }
  throw new Error(`${selector} was not reached by Tab; focused: ${seen.join(' ')}`);
}

/** Replaces a focused field's value by typing. */
async function type(page: Page, value: string): Promise<void> {
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.type(value);
}

/** Sets up a small run with the keyboard only, starts it with Enter, waits for the whole answer; returns its ids. */
async function runByKeyboard(page: Page): Promise<string> {
  await page.evaluate(() => {
    const w = window as unknown as { idUpdates: number };
    w.idUpdates = 0;
    new MutationObserver(() => w.idUpdates++).observe(document.getElementById('answer')!, { attributes: true, attributeFilter: ['data-ids'] });
    const h1 = document.querySelector('h1')!;
    h1.tabIndex = -1;
    h1.focus(); // Tab order starts at the top of the page
  });
  const seen = await tabTo(page, '#context');
  await type(page, String(CONTEXT));
  seen.push(...(await tabTo(page, '#max-new')));
  await type(page, String(NEW_TOKENS));
  seen.push(...(await tabTo(page, '#start')));
  for (const id of ['source', 'task', 'context', 'depth', 'seed', 'max-new']) expect(seen).toContain(id);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#answer[data-done="true"]', { timeout: 170_000 });
  const answerIds = (await page.locator('#answer').getAttribute('data-ids')) ?? '';
  const n = answerIds.split(',').length;
  expect(answerIds).toMatch(/^\d+(,\d+)*$/);
  // streamed: the answer element changed once per token, and each token got its retrieval rows
  expect(await page.evaluate(() => (window as unknown as { idUpdates: number }).idUpdates)).toBeGreaterThanOrEqual(n);
  expect(await page.locator('#tokens button').count()).toBe(n);
  return answerIds;
}

function expectedNeedleChunk(): number {
  const tok = fromTokenizerJson(fixtureTokenizerJson());
  const tokenizer = { encode: (t: string) => tok.encode(t, { addSpecialTokens: false }), decode: (x: ArrayLike<number>) => tok.decode(x) };
  const s = generateSample({ task: TASKS.niah_single_2, length: CONTEXT, depth: DEPTH, seed: 1, tokenizer, corpus: loadShakespeare() });
  return Math.floor(s.needles[0].start / 64);
}

describe('demo page', () => {
  it('runs on WebGPU by keyboard at 375 px: streams the answer, marks the needle chunk, shows a chunk', async () => {
    const page = await withGpu.newPage({ viewport: { width: 375, height: 900 } });
    await open(page, 'budget=1');
    expect(await page.locator('#backend').getAttribute('data-kind')).toBe('webgpu');
    ids.webgpu = await runByKeyboard(page);
    const band = page.locator('#raster .band.needle');
    expect(await band.getAttribute('data-needle-chunk')).toBe(String(expectedNeedleChunk()));
    const rows = await page.locator('#raster .row').count();
    expect(rows).toBeGreaterThan(0);
    expect(await page.locator('#raster .pick[data-chunk]').count()).toBeGreaterThan(0);
    // a retrieved chunk's text, reached by keyboard
    await page.locator('#chunks button').first().focus();
    await page.keyboard.press('Enter');
    expect(await page.locator('#chunk-text').textContent()).toMatch(/^Chunk \d+, tokens/);
    const width = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(width[0]).toBeLessThanOrEqual(width[1]);
    await page.screenshot({ path: join(shots, 'demo-webgpu.png'), fullPage: true });
    await page.close();
  });

  it('without WebGPU runs on gpu.js with the same greedy tokens, then the CPU backend, the model from the cache', async () => {
    const ctx = await noGpu.newContext({ viewport: { width: 900, height: 1000 } });
    const page = await ctx.newPage();
    await open(page, 'budget=1&gpujsMin=0');
    expect(await page.locator('#backend').getAttribute('data-kind')).toBe('gpujs');
    expect(await page.locator('#backend').textContent()).toMatch(/WebGPU is not available/);
    ids.gpujs = await runByKeyboard(page);
    expect(await page.locator('#backend').getAttribute('data-report')).toMatch(/gpu\.js \(WebGL2; [1-9]\d* so far\)/);
    await page.screenshot({ path: join(shots, 'demo-gpujs.png'), fullPage: true });
    expect(ids.gpujs).toBe(ids.webgpu);
    await open(page, 'budget=1&backend=cpu');
    expect(await page.locator('#backend').getAttribute('data-kind')).toBe('cpu');
    expect(await page.locator('#model-status').getAttribute('data-source')).toBe('cache');
    ids.cpu = await runByKeyboard(page);
    expect(ids.cpu).toBe(ids.webgpu);
    await ctx.close();
  });

  it('says in words when no backend works and when memory is insufficient', async () => {
    const page = await noGpu.newPage();
    await open(page, 'backend=webgpu');
    const error = page.locator('#error');
    expect(await error.getAttribute('data-code')).toBe('E_NO_BACKEND');
    expect(await error.textContent()).toMatch(/WebGPU could not start in this browser: .+ Remove "backend=webgpu"/);
    await open(page, 'backend=cpu&budget=0.0002');
    expect(await page.locator('#plan').getAttribute('data-fits')).toBe('false');
    expect(await page.locator('#plan').textContent()).toMatch(/Not enough memory: this page may use .+ at most .+ tokens fit/);
    expect(await page.locator('#start').isDisabled()).toBe(true);
    await page.close();
  });
});
