/**
 * One run: build the prompt here (the page keeps its ids to show chunks), check its memory plan,
 * hand it to the model's worker, and show what comes back: reading progress (tokens/s, memory in
 * use), the answer token by token, and each token's retrieval in the picture.
 */
import { OutOfMemoryError } from '@hsa/tensor';
import { type Corpus, score, TASKS, type TaskSpec } from '@hsa/tasks';
import type { Tokenizer } from '@hsa/tokenizer';
import type { Engine } from './engine/engine.js';
import { revive } from './engine/engine.js';
import { formatBytes, maxContext, type Planner, plan } from './memory.js';
import { type DemoPrompt, taskPrompt, textPrompt } from './prompt.js';
import { RetrievalView } from './retrieval-view.js';
import { ui } from './ui.js';

export interface RunContext {
  engine: Engine;
  model: Planner;
  tokenizer: Tokenizer;
  corpus: () => Promise<Corpus>;
  budget: number;
  segment: number;
}

export async function buildPrompt(c: RunContext): Promise<DemoPrompt> {
  const source = (ui.setup.elements.namedItem('source') as RadioNodeList).value;
  if (source === 'text') {
    if (!ui.text.value.trim()) throw new Error('Paste a text, or choose a text file, first.');
    return textPrompt(ui.text.value, ui.question.value, c.tokenizer, ui.find.value.trim() || undefined);
  }
  const task = (TASKS as Record<string, TaskSpec>)[ui.task.value];
  return taskPrompt({ task, length: Number(ui.context.value), depth: Number(ui.depth.value), seed: Number(ui.seed.value), tokenizer: c.tokenizer, corpus: await c.corpus(), pieceTokens: 1 << 16 });
}

/** Throws E_OUT_OF_MEMORY, in words, when the prompt and answer do not fit the budget. */
export function checkFits(c: RunContext, tokens: number): void {
  const p = plan(c.model, tokens, c.segment);
  if (p.total <= c.budget) return;
  const fits = maxContext(c.model, c.budget, c.segment);
  throw new OutOfMemoryError(
    `${tokens.toLocaleString('en-US')} tokens need about ${formatBytes(p.total)} (chunk memory ${formatBytes(p.chunkMemory + p.landmarks)}, ` +
      `weights ${formatBytes(p.weights)}), more than the ${formatBytes(c.budget)} this page may use here. At most ${fits.toLocaleString('en-US')} tokens fit: choose a shorter context.`,
  );
}

const n = (x: number) => x.toLocaleString('en-US');

/** Runs the model on the prompt; resolves when the answer is complete (or rejects, e.g. E_ABORTED). */
export async function run(c: RunContext, prompt: DemoPrompt, maxNewTokens: number): Promise<void> {
  checkFits(c, prompt.length + maxNewTokens);
  for (const _ of prompt.pieces()); // the ids, recorded into prompt.ids
  const view = new RetrievalView(
    { length: prompt.length, chunkSize: c.model.config.chunkSize, marks: prompt.marks, text: (a, b) => c.tokenizer.decode(prompt.ids.subarray(a, b)) },
    ui.raster,
    ui.tokens,
    ui.chunks,
    ui.chunkText,
  );
  ui.questionShown.textContent = prompt.question;
  ui.answer.textContent = '';
  ui.answer.dataset.ids = '';
  ui.answer.dataset.done = 'false';
  ui.verdict.textContent = '';
  const ids: number[] = [];
  let text = '';
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    c.engine.on((m) => {
      if (m.type === 'prefill') {
        const rate = Math.round(m.done / Math.max((performance.now() - t0) / 1000, 1e-3));
        ui.prefill.max = m.total;
        ui.prefill.value = m.done;
        ui.prefillStatus.textContent = `Read ${n(m.done)} of ${n(m.total)} tokens · ${n(rate)} tokens/s · memory in use ${formatBytes(m.live)} (planned for ${n(m.done)} tokens: ${formatBytes(plan(c.model, Math.max(m.done, 1), c.segment).total)})`;
      } else if (m.type === 'token') {
        ids.push(m.id);
        text += m.text;
        ui.answer.textContent = text;
        ui.answer.dataset.ids = ids.join(',');
        if (m.step) view.add(m.step, c.tokenizer.decode([m.id]));
      } else if (m.type === 'done') {
        const r = m.result;
        const decodeRate = r.decodeMs > 0 ? ((ids.length - 1) * 1000) / r.decodeMs : 0;
        ui.prefillStatus.textContent = `Read ${n(r.promptTokens)} tokens in ${(r.prefillMs / 1000).toFixed(1)} s (${n(Math.round((r.promptTokens * 1000) / Math.max(r.prefillMs, 1)))} tokens/s); answered at ${decodeRate.toFixed(1)} tokens/s; memory in use at most ${formatBytes(m.peak)}.`;
        ui.backend.dataset.report = m.report;
        ui.answer.dataset.done = 'true';
        verdict(prompt, r.text, view);
        resolve();
      } else if (m.type === 'error') {
        if (m.report) ui.backend.dataset.report = m.report;
        reject(revive(m.error));
      }
    });
    c.engine.send({ type: 'run', ids: prompt.ids, maxNewTokens, segment: c.segment });
  });
}

function verdict(prompt: DemoPrompt, text: string, view: RetrievalView): void {
  const { hits, rows } = view.needleHits();
  const looked = prompt.marks.length ? ` The needle's chunk was retrieved in ${hits} of ${rows} (token, layer) rows.` : '';
  ui.verdict.dataset.hits = String(hits);
  if (prompt.answers.length === 0) {
    ui.verdict.textContent = looked.trim();
    return;
  }
  const found = score(text, prompt.answers) === 1;
  ui.verdict.dataset.found = String(found);
  ui.verdict.textContent = `${found ? 'Found the needle' : 'Did not find the needle'}: expected ${prompt.answers.join(', ')}.${looked}`;
}
