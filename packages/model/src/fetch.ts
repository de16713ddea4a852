/**
 * Loading a model over HTTP (browsers and Node): `${base}/config.json`, then
 * `model.safetensors.index.json` (its shards) or `model.safetensors`, each streamed with byte
 * progress over all files; every weight is checked before the first upload, as from disk.
 */
import { type Backend, fetchSafetensors, HsaError } from '@hsa/tensor';
import { ModelConfigError, parseConfig } from './config.js';
import { HsaModel } from './model.js';
import { type LoadWeightsOptions, WeightsError } from './weights.js';

export interface LoadFromUrlOptions extends LoadWeightsOptions {
  fetch?: typeof globalThis.fetch;
  /** download progress in bytes over every weight file (received, total so far known) */
  onDownload?: (received: number, total: number) => void;
  signal?: AbortSignal;
}

const join = (base: string, name: string) => `${base.replace(/\/+$/, '')}/${name}`;

async function json(f: typeof globalThis.fetch, url: string, signal?: AbortSignal): Promise<unknown | null> {
  const res = await f(url, { signal });
  if (res.status === 404) return null;
  if (!res.ok) throw new HsaError('E_BAD_CHECKPOINT', `${url}: HTTP ${res.status} ${res.statusText}`);
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HsaError('E_BAD_CHECKPOINT', `${url}: not valid JSON (${(e as Error).message})`);
  }
}

/** Fetches config.json and the weights under `base`, then loads them onto the backend. */
export async function loadModelFromUrl(backend: Backend, base: string, options: LoadFromUrlOptions = {}): Promise<HsaModel> {
  const f = options.fetch ?? globalThis.fetch;
  const configJson = await json(f, join(base, 'config.json'), options.signal);
  if (configJson === null) throw new ModelConfigError('(file)', `${join(base, 'config.json')} not found`);
  parseConfig(configJson);
  const index = (await json(f, join(base, 'model.safetensors.index.json'), options.signal)) as { weight_map?: Record<string, string> } | null;
  if (index !== null && (typeof index.weight_map !== 'object' || index.weight_map === null)) {
    throw new WeightsError(null, 'not a valid index (no weight_map object)', join(base, 'model.safetensors.index.json'));
  }
  const names = index ? [...new Set(Object.values(index.weight_map!))].sort() : ['model.safetensors'];
  const done = new Map<string, [number, number]>();
  const report = () => {
    let [r, t] = [0, 0];
    for (const [a, b] of done.values()) [r, t] = [r + a, t + b];
    options.onDownload?.(r, t);
  };
  const files = [];
  for (const name of names) {
    const url = join(base, name);
    const onProgress = (a: number, b: number) => {
      done.set(name, [a, b]);
      report();
    };
    const file = await fetchSafetensors(url, { fetch: f, signal: options.signal, onProgress });
    files.push({ label: url, file });
  }
  return HsaModel.load(backend, configJson, files, { ...options, weightMap: index?.weight_map });
}
