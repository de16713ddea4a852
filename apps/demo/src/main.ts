/**
 * The demo page: starts the model's worker (backend, model cached for later visits), lets the reader
 * set up a document and question, shows the memory plan before starting, and runs.
 * Address parameters: model=URL (default: the build's VITE_MODEL_URL or models/builtin/),
 * backend=webgpu|gpujs|cpu, budget=GiB, segment=N (prefill segment; small on the CPU so Stop is
 * answered between segments), gpujsMin=N (multiply-adds from which a product goes to gpu.js).
 */
import { splitCorpus } from '@hsa/tasks';
import { fromTokenizerJson, type Tokenizer } from '@hsa/tokenizer';
import type { DemoBackendKind } from './backends/choose.js';
import { Engine, revive } from './engine/engine.js';
import type { FromWorker } from './engine/protocol.js';
import { budgetBytes, formatBytes, formatTokens, maxContext, type Planner, plan, planner } from './memory.js';
import { buildPrompt, type RunContext, run } from './run.js';
import { clearError, showError, ui } from './ui.js';

const params = new URLSearchParams(location.search);
const num = (name: string) => (params.has(name) ? Number(params.get(name)) : undefined);
const modelUrl = new URL(params.get('model') ?? import.meta.env.VITE_MODEL_URL ?? 'models/builtin/', location.href).href.replace(/\/?$/, '/');

const WHERE = { cache: 'from this browser’s cache', mixed: 'partly from cache', network: 'downloaded, and cached for next time' };

/** Starts the worker's backend and model, showing each step; resolves once the model is loaded. */
function load(engine: Engine, want: DemoBackendKind | 'auto'): Promise<{ kind: DemoBackendKind; model: Planner; tokenizer: Tokenizer }> {
  return new Promise((resolve, reject) => {
    let kind: DemoBackendKind = 'cpu';
    engine.on((m: FromWorker) => {
      if (m.type === 'backend') {
        kind = m.kind;
        ui.backend.dataset.kind = m.kind;
        ui.backend.textContent = `Running on ${m.label}: ${m.why}.`;
        ui.modelStatus.textContent = 'Loading the model…';
      } else if (m.type === 'download') {
        ui.download.max = Math.max(m.total, 1);
        ui.download.value = m.got;
        ui.modelStatus.textContent = `Loading the model: ${formatBytes(m.got)} of ${formatBytes(m.total)}…`;
      } else if (m.type === 'loaded') {
        const model = planner(m.shape);
        const c = model.config;
        ui.modelStatus.textContent = `Model loaded in ${m.seconds.toFixed(1)} s (${WHERE[m.source]}): ${c.numUpperGroups} HSA layer${c.numUpperGroups === 1 ? '' : 's'}, chunks of ${c.chunkSize} tokens, each token retrieves ${c.chunkTopk} chunks per layer.`;
        ui.modelStatus.dataset.source = m.source === 'cache' ? 'cache' : 'network';
        ui.download.value = ui.download.max;
        resolve({ kind, model, tokenizer: fromTokenizerJson(m.tokenizerJson) });
      } else if (m.type === 'error') reject(revive(m.error));
    });
    engine.send({ type: 'init', modelUrl, want, gpujsMinWork: num('gpujsMin') });
  });
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

function wireRun(c: RunContext): void {
  let running = false;
  ui.stop.addEventListener('click', () => c.engine.send({ type: 'stop' }));
  ui.setup.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (running) return;
    running = true;
    clearError();
    ui.start.disabled = true;
    ui.stop.disabled = false;
    try {
      await run(c, await buildPrompt(c), Number(ui.maxNew.value));
    } catch (e) {
      showError(e, modelUrl);
    } finally {
      running = false;
      ui.start.disabled = ui.plan.dataset.fits === 'false';
      ui.stop.disabled = true;
    }
  });
}

async function boot(): Promise<void> {
  const want = (params.get('backend') ?? 'auto') as DemoBackendKind | 'auto';
  try {
    const engine = new Engine();
    const { kind, model, tokenizer } = await load(engine, want);
    let corpus: ReturnType<typeof splitCorpus> | undefined;
    const c: RunContext = {
      engine,
      model,
      tokenizer,
      budget: budgetBytes(num('budget')),
      segment: num('segment') ?? { webgpu: 4096, gpujs: 512, cpu: 128 }[kind],
      corpus: async () => (corpus ??= splitCorpus(await (await fetch('data/tinyshakespeare.txt')).text())),
    };
    setupForm(c);
    wireRun(c);
    document.body.dataset.ready = 'true';
  } catch (e) {
    ui.backend.dataset.kind ||= 'none';
    if (ui.modelStatus.dataset.source === undefined) ui.modelStatus.textContent = 'The model is not loaded.';
    showError(e, modelUrl);
    document.body.dataset.ready = 'error';
  }
}

// offline after the first visit (public/sw.js); only where service workers exist (secure contexts)
navigator.serviceWorker?.register('./sw.js').catch(() => {});
void boot();
