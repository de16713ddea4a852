/**
 * What the page tests share: the page built into a temporary folder and served by a plain static
 * server, opening it, and operating it with the keyboard only.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { serveStatic } from './server.js';

export const demoDir = fileURLToPath(new URL('..', import.meta.url));
/** screenshots for a person to look at (ignored by git) */
export const shots = join(demoDir, 'test-results');

/** `vite build` into a temporary folder, served; `prepare` may add files (a model) before serving. */
export async function buildAndServe(prepare: (out: string) => void = () => {}): Promise<{ out: string; base: string; close(): void }> {
  const out = mkdtempSync(join(tmpdir(), 'hsa-demo-build-'));
  execFileSync(process.execPath, [join(demoDir, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'], { cwd: demoDir, stdio: 'inherit' });
  prepare(out);
  mkdirSync(shots, { recursive: true });
  const s = await serveStatic(out);
  return {
    out,
    base: s.url,
    close() {
      s.server.close();
      rmSync(out, { recursive: true, force: true });
    },
  };
}

/** Opens the page and waits until it is ready (or showing its error). */
export async function open(page: Page, url: string): Promise<void> {
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(url);
  await page.waitForSelector('body[data-ready]', { timeout: 120_000 });
}

/** Tabs on until `selector` has focus; returns the ids (or names) focused on the way. */
export async function tabTo(page: Page, selector: string): Promise<string[]> {
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
export async function type(page: Page, value: string): Promise<void> {
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.type(value);
}

/** Sets up a run by keyboard (context, optionally the needle depth in steps of 5%, answer length), starts it, waits for the answer; its token ids. */
export async function runByKeyboard(page: Page, o: { context: number; newTokens: number; depth?: number; timeout?: number }): Promise<string> {
  await page.evaluate(() => {
    // the answer's length each time the page got to run observers: streaming shows partial answers
    const w = window as unknown as { seen: number[] };
    w.seen = [];
    const answer = document.getElementById('answer')!;
    new MutationObserver(() => w.seen.push(answer.dataset.ids ? answer.dataset.ids.split(',').length : 0)).observe(answer, { attributes: true, attributeFilter: ['data-ids'] });
    const h1 = document.querySelector('h1')!;
    h1.tabIndex = -1;
    h1.focus(); // Tab order starts at the top of the page
  });
  const seen = await tabTo(page, '#context');
  await type(page, String(o.context));
  if (o.depth !== undefined) {
    seen.push(...(await tabTo(page, '#depth')));
    await page.keyboard.press('Home');
    for (let d = 0; d < o.depth; d += 5) await page.keyboard.press('ArrowRight');
    expect(await page.locator('#depth').inputValue()).toBe(String(o.depth));
  }
  seen.push(...(await tabTo(page, '#max-new')));
  await type(page, String(o.newTokens));
  seen.push(...(await tabTo(page, '#start')));
  for (const id of ['source', 'task', 'context', 'depth', 'seed', 'max-new']) expect(seen).toContain(id);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#answer[data-done="true"]', { timeout: o.timeout ?? 170_000 });
  const answerIds = (await page.locator('#answer').getAttribute('data-ids')) ?? '';
  const n = answerIds.split(',').length;
  expect(answerIds).toMatch(/^\d+(,\d+)*$/);
  // streamed: partial answers were on the page before the whole one, and each token got its button
  const partial = (await page.evaluate(() => (window as unknown as { seen: number[] }).seen)).filter((k) => k > 0 && k < n);
  if (n > 1) expect(partial.length).toBeGreaterThan(0);
  expect(await page.locator('#tokens button').count()).toBe(n);
  return answerIds;
}

