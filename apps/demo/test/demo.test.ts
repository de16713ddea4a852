/**
 * The demo in headless Chromium, against its static build served by a plain file server and a
 * random-weight model made here (the built-in model's mechanics, not its answers): WebGPU runs end to
 * end with the answer streamed token by token and the needle's chunk marked in the retrieval picture;
 * without WebGPU, gpu.js (and then the CPU backend) give the same greedy tokens; the model comes from
 * the cache on a second visit; the page is operated by keyboard alone and fits 375 px; errors for no
 * backend and for too little memory are shown in words. Screenshots go to test-results/ (ignored).
 */
import { join } from 'node:path';
import { generateSample, TASKS } from '@hsa/tasks';
import { loadShakespeare } from '@hsa/tasks/node';
import { fromTokenizerJson } from '@hsa/tokenizer';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch } from './browser.js';
import { fixtureTokenizerJson, writeRandomModel } from './fixture.js';
import { buildAndServe, open, runByKeyboard, shots, tabTo, type } from './harness.js';

const CONTEXT = 512;
const NEW_TOKENS = 16;
const DEPTH = 50;

let site: Awaited<ReturnType<typeof buildAndServe>>;
let withGpu: Browser | undefined;
/** HSA_SKIP_WEBGPU=1 skips the WebGPU half explicitly (as in the packages' tests) */
const skipWebGpu = process.env.HSA_SKIP_WEBGPU === '1';
let noGpu: Browser;
const ids: Record<string, string> = {};
const run = { context: CONTEXT, newTokens: NEW_TOKENS };

beforeAll(async () => {
  site = await buildAndServe((out) => writeRandomModel(join(out, 'models/test')));
  [withGpu, noGpu] = await Promise.all([skipWebGpu ? undefined : launch({ webgpu: true }), launch({ webgpu: false })]);
});

afterAll(async () => {
  await Promise.all([withGpu?.close(), noGpu?.close()]);
  site?.close();
});

const url = (q: string) => `${site.base}?model=models/test/&${q}`;

function expectedNeedleChunk(): number {
  const tok = fromTokenizerJson(fixtureTokenizerJson());
  const tokenizer = { encode: (t: string) => tok.encode(t, { addSpecialTokens: false }), decode: (x: ArrayLike<number>) => tok.decode(x) };
  const s = generateSample({ task: TASKS.niah_single_2, length: CONTEXT, depth: DEPTH, seed: 1, tokenizer, corpus: loadShakespeare() });
  return Math.floor(s.needles[0].start / 64);
}

/** A text of about 400 tokens with a pass key on its own line after about 300 tokens. */
function ownText(): { text: string; find: string; chunk: number; chunks: string } {
  const paragraphs = loadShakespeare().heldOut;
  const tok = fromTokenizerJson(fixtureTokenizerJson());
  let before = '';
  for (const p of paragraphs) {
    if (tok.encode(before, { addSpecialTokens: false }).length > 300) break;
    before += `${p}\n`;
  }
  const find = 'The pass key is 4815162. Remember it.';
  const chunk = Math.floor(tok.encode(before, { addSpecialTokens: false }).length / 64);
  const last = Math.floor((tok.encode(before + find, { addSpecialTokens: false }).length - 1) / 64);
  const chunks = Array.from({ length: last - chunk + 1 }, (_, i) => chunk + i).join(',');
  return { text: `${before}${find}\n${paragraphs.slice(-2).join('\n')}`, find, chunk, chunks };
}

describe('demo page', () => {
  it.skipIf(skipWebGpu)('runs on WebGPU by keyboard at 375 px: streams the answer, marks the needle chunk, shows a chunk', async () => {
    const page = await withGpu!.newPage({ viewport: { width: 375, height: 900 } });
    await open(page, url('budget=1'));
    expect(await page.locator('#backend').getAttribute('data-kind')).toBe('webgpu');
    ids.webgpu = await runByKeyboard(page, run);
    expect(await page.locator('#prefill-status').textContent()).toMatch(/^Read 512 tokens in .+ tokens\/s\); answered at .+ memory in use at most \d+(\.\d)? (KiB|MiB)\.$/);
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

  it('without WebGPU runs on gpu.js with the same greedy tokens, then the CPU backend (model from the cache), then offline', async () => {
    const ctx = await noGpu.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await ctx.newPage();
    await open(page, url('budget=1&gpujsMin=0'));
    expect(await page.locator('#backend').getAttribute('data-kind')).toBe('gpujs');
    expect(await page.locator('#backend').textContent()).toMatch(/WebGPU is not available/);
    ids.gpujs = await runByKeyboard(page, run);
    expect(await page.locator('#backend').getAttribute('data-report')).toMatch(/gpu\.js \(WebGL2; [1-9]\d* so far\)/);
    await page.screenshot({ path: join(shots, 'demo-gpujs.png'), fullPage: true });
    if (!skipWebGpu) expect(ids.gpujs).toBe(ids.webgpu);
    await open(page, url('budget=1&backend=cpu'));
    expect(await page.locator('#backend').getAttribute('data-kind')).toBe('cpu');
    expect(await page.locator('#model-status').getAttribute('data-source')).toBe('cache');
    ids.cpu = await runByKeyboard(page, run);
    expect(ids.cpu).toBe(ids.gpujs);
    // offline: the page (public/sw.js) and the model (the Cache API) come from this browser
    await ctx.setOffline(true);
    await open(page, url('budget=1&backend=cpu'));
    expect(await page.locator('#error').isHidden()).toBe(true);
    expect(await page.locator('#model-status').getAttribute('data-source')).toBe('cache');
    expect(await runByKeyboard(page, run)).toBe(ids.cpu);
    await ctx.close();
  });

  it('gpu.js matmul agrees with the CPU reference (every layout, bf16, ldc, batch folding)', async () => {
    const page = await noGpu.newPage();
    await page.goto(`${site.base}selfcheck.html`);
    await page.waitForSelector('body[data-selfcheck]', { timeout: 120_000 });
    const results = JSON.parse((await page.locator('body').getAttribute('data-selfcheck')) ?? '{}');
    expect(results.error).toBeUndefined();
    for (const r of results) expect(r, r.name).toMatchObject({ ok: true });
    await page.close();
  });

  it("reads the reader's own text and question, the given text marked as the needle (CPU, keyboard only)", async () => {
    const page = await noGpu.newPage({ viewport: { width: 375, height: 900 } });
    await open(page, url('budget=1&backend=cpu'));
    const own = ownText();
    await page.evaluate(() => {
      const h1 = document.querySelector('h1')!;
      h1.tabIndex = -1;
      h1.focus();
    });
    await tabTo(page, 'input[name=source]');
    await page.keyboard.press('ArrowDown'); // the radio group: "my own text"
    await tabTo(page, '#text');
    await page.keyboard.insertText(own.text);
    await tabTo(page, '#question');
    await type(page, 'What is the pass key? The pass key is');
    await tabTo(page, '#find');
    await type(page, own.find);
    await tabTo(page, '#max-new');
    await type(page, '4');
    await tabTo(page, '#start');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#answer[data-done="true"]', { timeout: 120_000 });
    expect(await page.locator('#raster .band.needle').getAttribute('data-needle-chunk')).toBe(String(own.chunk));
    // every chunk the marked text touches is the needle's (it crosses a chunk boundary here)
    expect(await page.locator('#raster .band.needle').getAttribute('data-needle-chunks')).toBe(own.chunks);
    expect(await page.locator('#question-shown').textContent()).toBe('What is the pass key? The pass key is');
    // the needle's chunk, read by keyboard, with the marked text highlighted
    await page.locator('#read-needle').focus();
    await page.keyboard.press('Enter');
    expect(await page.locator('#chunk-text').textContent()).toMatch(new RegExp(`^Chunk ${own.chunk}, tokens .+ holds the needle`));
    const marked = (await page.locator('#chunk-text mark').textContent()) ?? '';
    expect(marked.length).toBeGreaterThan(0);
    expect(own.find.startsWith(marked)).toBe(true); // the needle starts here (and may run into the next chunk)
    const width = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(width[0]).toBeLessThanOrEqual(width[1]);
    await page.close();
  });

  it('takes a dropped or chosen text file as the document', async () => {
    const page = await noGpu.newPage();
    await open(page, url('backend=cpu'));
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['dropped text\nThe pass key is 12345.\n'], 'dropped.txt', { type: 'text/plain' }));
      document.getElementById('setup')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => (document.getElementById('text') as HTMLTextAreaElement).value.startsWith('dropped text'));
    expect(await page.locator('input[name=source][value=text]').isChecked()).toBe(true);
    expect(await page.locator('#text-fields').isVisible()).toBe(true);
    await page.setInputFiles('#file', { name: 'chosen.txt', mimeType: 'text/plain', buffer: Buffer.from('chosen text\n') });
    await page.waitForFunction(() => (document.getElementById('text') as HTMLTextAreaElement).value === 'chosen text\n');
    await page.close();
  });

  it('stays responsive while reading on the CPU: Stop (by keyboard) ends the run and says so', async () => {
    const page = await noGpu.newPage();
    await open(page, url('budget=1&backend=cpu&segment=64'));
    await page.locator('#context').fill('32768'); // far more than is read before Stop
    await page.locator('#start').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => Number((document.getElementById('prefill') as HTMLProgressElement).value) > 0, undefined, { timeout: 60_000 });
    await page.keyboard.press('Tab'); // Start is disabled while running: Tab from it reaches Stop
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('stop');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#error:not([hidden])', { timeout: 60_000 });
    expect(await page.locator('#error').getAttribute('data-code')).toBe('E_ABORTED');
    expect(await page.locator('#error').textContent()).toBe('Stopped.');
    expect(await page.locator('#start').isDisabled()).toBe(false);
    await page.close();
  });

  it('says in words when no backend works, when the model is missing and when memory is insufficient', async () => {
    const page = await noGpu.newPage();
    await open(page, url('backend=webgpu'));
    const error = page.locator('#error');
    expect(await error.getAttribute('data-code')).toBe('E_NO_BACKEND');
    expect(await error.textContent()).toMatch(/WebGPU could not start in this browser: .+ Remove "backend=webgpu"/);
    await page.goto(`${site.base}?model=models/none/&backend=cpu`);
    await page.waitForSelector('body[data-ready="error"]');
    expect(await error.getAttribute('data-code')).toBe('E_BAD_CHECKPOINT');
    expect(await error.textContent()).toMatch(/^The model at .+models\/none\/ could not be loaded: .+HTTP 404.+Check the address/);
    await open(page, url('backend=cpu&budget=0.0002'));
    expect(await page.locator('#plan').getAttribute('data-fits')).toBe('false');
    expect(await page.locator('#plan').textContent()).toMatch(/Not enough memory: this page may use .+ at most .+ tokens fit/);
    expect(await page.locator('#start').isDisabled()).toBe(true);
    await page.close();
  });
});
