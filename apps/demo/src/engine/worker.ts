/**
 * The model's worker: chooses the backend, loads the model (through the model cache), and runs
 * generation for the page, posting progress, each token with its retrieval, and the result. A `stop`
 * message aborts between steps (the CPU backends yield to the event loop at every sync and read).
 */
import { type HsaModel, loadModelFromUrl, type RetrievalStep } from '@hsa/model';
import type { Backend } from '@hsa/tensor';
import { fromTokenizerJson, type Tokenizer } from '@hsa/tokenizer';
import { chooseBackend } from '../backends/choose.js';
import { type MemoryMeter, meterMemory } from '../backends/memory-meter.js';
import { type CacheLog, cachingFetch } from '../model-cache.js';
import type { FromWorker, ToWorker, WireError } from './protocol.js';

const post = (m: FromWorker) => (self as unknown as Worker).postMessage(m);
const wire = (e: unknown): WireError =>
  e instanceof Error ? { name: e.name, code: (e as { code?: string }).code, message: e.message } : { name: 'Error', message: String(e) };

let backend: Backend | undefined;
let model: HsaModel | undefined;
let tokenizer: Tokenizer | undefined;
let meter: MemoryMeter | undefined;
let abort: AbortController | null = null;

async function init(m: Extract<ToWorker, { type: 'init' }>): Promise<void> {
  const chosen = await chooseBackend({ want: m.want, gpujsMinWork: m.gpujsMinWork });
  backend = chosen.backend;
  post({ type: 'backend', kind: chosen.kind, label: chosen.label, why: chosen.why });
  meter = meterMemory(backend);
  const log: CacheLog = { cached: [], fetched: [] };
  const f = cachingFetch(log);
  const t0 = performance.now();
  const tokRes = await f(`${m.modelUrl}tokenizer.json`);
  if (!tokRes.ok) throw Object.assign(new Error(`${m.modelUrl}tokenizer.json: HTTP ${tokRes.status} ${tokRes.statusText}`.trim()), { name: 'HsaError', code: 'E_BAD_CHECKPOINT' });
  const tokenizerJson = await tokRes.text();
  tokenizer = fromTokenizerJson(tokenizerJson);
  model = await loadModelFromUrl(backend, m.modelUrl, { fetch: f, onDownload: (got, total) => post({ type: 'download', got, total }) });
  const probe = model.weights.names.find((n) => n.endsWith('q_proj.weight'));
  const matrixBytes = probe && model.weights.get(probe).dtype !== 'f32' ? 2 : 4;
  const source = log.fetched.length === 0 ? 'cache' : log.cached.length ? 'mixed' : 'network';
  post({ type: 'loaded', shape: { configJson: model.configJson, matrixBytes, maxBindingBytes: backend.maxBindingBytes }, source, seconds: (performance.now() - t0) / 1000, tokenizerJson });
}

async function run(m: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  if (!model || !tokenizer || !meter) throw new Error('the model is not loaded');
  abort = new AbortController();
  let step: RetrievalStep | undefined;
  const it = model.generate(m.ids, {
    maxNewTokens: m.maxNewTokens,
    tokenizer,
    stop: ['\n'],
    segment: m.segment,
    signal: abort.signal,
    onPrefill: (done, total) => post({ type: 'prefill', done, total, live: meter!.live() }),
    onRetrieval: (s) => (step = s),
  });
  let r = await it.next();
  while (!r.done) {
    post({ type: 'token', id: r.value.id, text: r.value.text, step });
    step = undefined;
    r = await it.next();
  }
  post({ type: 'done', result: r.value, peak: meter.peak(), report: backend!.report().description });
}

self.onmessage = async (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  if (m.type === 'stop') return abort?.abort(new Error('stopped by the reader'));
  try {
    if (m.type === 'init') await init(m);
    else await run(m);
  } catch (e) {
    post({ type: 'error', error: wire(e), report: backend?.report().description });
  } finally {
    if (m.type === 'run') abort = null;
  }
};
