/**
 * One run: build the prompt, check its memory plan, stream it into the model with progress (tokens/s,
 * planned memory), stream the answer token by token and draw each token's retrieval.
 */
import type { HsaModel, RetrievalStep } from '@hsa/model';
import { OutOfMemoryError } from '@hsa/tensor';
import { type Corpus, score, TASKS, type TaskSpec } from '@hsa/tasks';
import type { Tokenizer } from '@hsa/tokenizer';
import type { MemoryMeter } from './backends/memory-meter.js';
import { formatBytes, maxContext, plan } from './memory.js';
import { type DemoPrompt, taskPrompt, textPrompt } from './prompt.js';
import { RetrievalView } from './retrieval-view.js';
import { ui } from './ui.js';

export interface RunContext {
  model: HsaModel;
  tokenizer: Tokenizer;
  corpus: () => Promise<Corpus>;
  budget: number;
  segment: number;
  /** bytes held on the backend (counted at alloc / release) */
  meter: MemoryMeter;
}

export async function buildPrompt(c: RunContext): Promise<DemoPrompt> {
  const source = (ui.setup.elements.namedItem('source') as RadioNodeList).value;
  if (source === 'text') {
    if (!ui.text.value.trim()) throw new Error('Paste a text, or choose a text file, first.');
    return textPrompt(ui.text.value, ui.question.value, c.tokenizer, ui.find.value.trim() || undefined);
  }
  const task = (TASKS as Record<string, TaskSpec>)[ui.task.value];
  return taskPrompt({ task, length: Number(ui.context.value), depth: Number(ui.depth.value), seed: Number(ui.seed.value), tokenizer: c.tokenizer, corpus: await c.corpus(), pieceTokens: c.segment });
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

function progress(c: RunContext, t0: number) {
  return (done: number, total: number) => {
    const s = (performance.now() - t0) / 1000;
    ui.prefill.max = total;
    ui.prefill.value = done;
    const rate = s > 0 ? Math.round(done / s) : 0;
    ui.prefillStatus.textContent = `Read ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} tokens · ${rate.toLocaleString('en-US')} tokens/s · memory in use ${formatBytes(c.meter.live())} (planned for ${done.toLocaleString('en-US')} tokens: ${formatBytes(plan(c.model, Math.max(done, 1), c.segment).total)})`;
  };
}

/** Runs the model on the prompt; resolves when the answer is complete (or rejects, e.g. E_ABORTED). */
export async function run(c: RunContext, prompt: DemoPrompt, maxNewTokens: number, signal: AbortSignal): Promise<void> {
  checkFits(c, prompt.length + maxNewTokens);
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
  let step: RetrievalStep | undefined;
  const t0 = performance.now();
  const it = c.model.generate(
    { length: prompt.length, pieces: () => prompt.pieces() },
    { maxNewTokens, tokenizer: c.tokenizer, stop: ['\n'], segment: c.segment, signal, onPrefill: progress(c, t0), onRetrieval: (s) => (step = s) },
  );
  let r = await it.next();
  while (!r.done) {
    ids.push(r.value.id);
    ui.answer.textContent += r.value.text;
    ui.answer.dataset.ids = ids.join(',');
    if (step) view.add(step, c.tokenizer.decode([r.value.id]));
    r = await it.next();
  }
  const res = r.value;
  const decodeRate = res.decodeMs > 0 ? ((ids.length - 1) * 1000) / res.decodeMs : 0;
  ui.prefillStatus.textContent = `Read ${res.promptTokens.toLocaleString('en-US')} tokens in ${(res.prefillMs / 1000).toFixed(1)} s (${Math.round((res.promptTokens * 1000) / Math.max(res.prefillMs, 1)).toLocaleString('en-US')} tokens/s); answered at ${decodeRate.toFixed(1)} tokens/s; memory in use at most ${formatBytes(c.meter.peak())}.`;
  ui.answer.dataset.done = 'true';
  verdict(prompt, res.text, view);
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
