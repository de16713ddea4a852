/**
 * The demo page: picks a backend, loads the model (cached for later visits), lets the reader set up a
 * document and question, shows the memory plan before starting, and runs.
 * Address parameters: model=URL (default: the build's VITE_MODEL_URL or models/builtin/),
 * backend=webgpu|gpujs|cpu, budget=GiB, segment=N (prefill segment; small on the CPU so the page
 * repaints between segments), gpujsMin=N (multiply-adds from
 * which a product goes to gpu.js).
 */
import { type HsaModel, loadModelFromUrl } from '@hsa/model';
import { splitCorpus } from '@hsa/tasks';
import { HsaError } from '@hsa/tensor';
import { fromTokenizerJson } from '@hsa/tokenizer';
import { chooseBackend, type DemoBackendKind } from './backends/choose.js';
import { meterMemory } from './backends/memory-meter.js';
import { budgetBytes, formatBytes, formatTokens, maxContext, plan } from './memory.js';
import { type CacheLog, cachingFetch } from './model-cache.js';
import { buildPrompt, type RunContext, run } from './run.js';
import { clearError, showError, ui } from './ui.js';

const params = new URLSearchParams(location.search);
const num = (name: string) => (params.has(name) ? Number(params.get(name)) : undefined);
const modelUrl = new URL(params.get('model') ?? import.meta.env.VITE_MODEL_URL ?? 'models/builtin/', location.href).href.replace(/\/?$/, '/');

async function loadModel(ctx: { kind: DemoBackendKind }, backend: Parameters<typeof loadModelFromUrl>[0]) {
  const log: CacheLog = { cached: [], fetched: [] };
  const f = cachingFetch(log);
  const t0 = performance.now();
  const tokRes = await f(`${modelUrl}tokenizer.json`);
  if (!tokRes.ok) throw new HsaError('E_BAD_CHECKPOINT', `${modelUrl}tokenizer.json: HTTP ${tokRes.status} ${tokRes.statusText}`.trim());
  const tokenizer = fromTokenizerJson(await tokRes.text());
  const model = await loadModelFromUrl(backend, modelUrl, {
    fetch: f,
    onDownload: (got, total) => {
      ui.download.max = Math.max(total, 1);
      ui.download.value = got;
      ui.modelStatus.textContent = `Loading the model: ${formatBytes(got)} of ${formatBytes(total)}…`;
    },
  });
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  const where = log.fetched.length === 0 ? 'from this browser’s cache' : log.cached.length ? 'partly from cache' : 'downloaded, and cached for next time';
  ui.modelStatus.textContent = `Model loaded in ${s} s (${where}): ${model.config.numUpperGroups} HSA layer${model.config.numUpperGroups === 1 ? '' : 's'}, chunks of ${model.config.chunkSize} tokens, each token retrieves ${model.config.chunkTopk} chunks per layer.`;
  ui.modelStatus.dataset.source = log.fetched.length === 0 ? 'cache' : 'network';
  ui.download.value = ui.download.max;
  void ctx;
  return { model, tokenizer };
}

function updatePlan(c: RunContext, max: number): void {
  if ((ui.setup.elements.namedItem('source') as RadioNodeList).value === 'text') {
    ui.plan.textContent = `Your text is split into tokens when you start; up to ${formatTokens(max)} tokens fit in the ${formatBytes(c.budget)} this page may use.`;
    ui.plan.dataset.fits = 'true';
    ui.start.disabled = false;
    return;
  }
  const n = Number(ui.context.value);
  const S = c.model.config.chunkSize;
  if (!Number.isInteger(n) || n < 128) {
    ui.plan.textContent = 'Choose a context of at least 128 tokens.';
    ui.start.disabled = true;
    return;
  }
  const p = plan(c.model, n + Number(ui.maxNew.value), c.segment);
  const fits = p.total <= c.budget;
  ui.plan.dataset.fits = String(fits);
  ui.plan.textContent =
    `${n.toLocaleString('en-US')} tokens (${Math.floor(n / S).toLocaleString('en-US')} chunks) need about ${formatBytes(p.total)}: ` +
    `weights ${formatBytes(p.weights)}, chunk memory ${formatBytes(p.chunkMemory + p.landmarks)}, working memory ${formatBytes(p.activations + p.swaCaches)}. ` +
    (fits
      ? `This page may use ${formatBytes(c.budget)} here; up to ${formatTokens(max)} tokens fit.`
      : `Not enough memory: this page may use ${formatBytes(c.budget)} here, so at most ${formatTokens(max)} tokens fit. Choose a shorter context.`);
  ui.start.disabled = !fits;
}

function setupForm(c: RunContext): void {
  const max = maxContext(c.model, c.budget, c.segment);
  ui.context.max = String(max);
  ui.presets.replaceChildren(
    ...[1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24].filter((n) => n <= max).map((n) => Object.assign(document.createElement('option'), { value: String(n), label: formatTokens(n) })),
  );
  const refresh = () => updatePlan(c, max);
  for (const e of [ui.context, ui.maxNew, ui.task]) e.addEventListener('input', refresh);
  ui.depth.addEventListener('input', () => (ui.depthOut.value = ui.depth.value));
  ui.setup.addEventListener('change', (ev) => {
    if ((ev.target as HTMLInputElement).name !== 'source') return;
    const text = (ev.target as HTMLInputElement).value === 'text';
    ui.taskFields.hidden = text;
    ui.textFields.hidden = !text;
    refresh();
  });
  const readFile = async (f: File | undefined) => {
    if (f) ui.text.value = await f.text();
  };
  ui.file.addEventListener('change', () => void readFile(ui.file.files?.[0]));
  ui.setup.addEventListener('dragover', (ev) => ev.preventDefault());
  ui.setup.addEventListener('drop', (ev) => {
    ev.preventDefault();
    const textRadio = ui.setup.querySelector<HTMLInputElement>('input[name=source][value=text]')!;
    textRadio.checked = true;
    textRadio.dispatchEvent(new Event('change', { bubbles: true }));
    void readFile(ev.dataTransfer?.files[0]);
  });
  refresh();
}

function wireRun(c: RunContext, report: () => string): void {
  let abort: AbortController | null = null;
  ui.stop.addEventListener('click', () => abort?.abort(new Error('stopped by the reader')));
  ui.setup.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (abort) return;
    abort = new AbortController();
    clearError();
    ui.start.disabled = true;
    ui.stop.disabled = false;
    try {
      const prompt = await buildPrompt(c);
      await run(c, prompt, Number(ui.maxNew.value), abort.signal);
    } catch (e) {
      showError(e, modelUrl);
    } finally {
      ui.backend.dataset.report = report();
      abort = null;
      ui.start.disabled = ui.plan.dataset.fits === 'false';
      ui.stop.disabled = true;
    }
  });
}

async function boot(): Promise<void> {
  const want = (params.get('backend') ?? 'auto') as DemoBackendKind | 'auto';
  let model: HsaModel | undefined;
  try {
    const chosen = await chooseBackend({ want, gpujsMinWork: num('gpujsMin') });
    ui.backend.dataset.kind = chosen.kind;
    ui.backend.textContent = `Running on ${chosen.label}: ${chosen.why}.`;
    ui.modelStatus.textContent = 'Loading the model…';
    const meter = meterMemory(chosen.backend);
    const loaded = await loadModel(chosen, chosen.backend);
    model = loaded.model;
    let corpus: ReturnType<typeof splitCorpus> | undefined;
    const c: RunContext = {
      model,
      tokenizer: loaded.tokenizer,
      budget: budgetBytes(num('budget')),
      meter,
      segment: num('segment') ?? { webgpu: 4096, gpujs: 512, cpu: 128 }[chosen.kind],
      corpus: async () => (corpus ??= splitCorpus(await (await fetch('data/tinyshakespeare.txt')).text())),
    };
    setupForm(c);
    wireRun(c, () => chosen.backend.report().description);
    document.body.dataset.ready = 'true';
  } catch (e) {
    ui.backend.dataset.kind ||= 'none';
    if (!model) ui.modelStatus.textContent = 'The model is not loaded.';
    showError(e, modelUrl);
    document.body.dataset.ready = 'error';
  }
}

// offline after the first visit (public/sw.js); only where service workers exist (secure contexts)
navigator.serviceWorker?.register('./sw.js').catch(() => {});
void boot();
