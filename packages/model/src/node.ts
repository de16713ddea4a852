/**
 * @hsa/model/node: loading a model directory from disk (Node only): `config.json` plus
 * `model.safetensors`, or the shards listed in `model.safetensors.index.json`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgumentError, type Backend, HsaError } from '@hsa/tensor';
import { type OpenSafetensorsFile, openSafetensorsFile, writeFileAtomic } from '@hsa/tensor/node';
import { ModelConfigError, parseConfig } from './config.js';
import { HsaModel } from './model.js';
import { serializeModel } from './save.js';
import { type LoadWeightsOptions, type WeightFile, WeightsError } from './weights.js';

export interface ModelDirOptions extends LoadWeightsOptions {
  /** the config file (default `<dir>/config.json`) */
  configPath?: string;
}

/** What a model directory holds, parsed but not uploaded. */
export interface ModelFiles {
  configJson: unknown;
  files: WeightFile[];
  weightMap?: Record<string, string>;
  /** closes the weight files (their tensors can no longer be read) */
  close(): void;
}

async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Opens one safetensors file lazily (header now, tensors on access); a defect becomes a WeightsError naming the file (and the tensor, if any). */
function openFile(path: string, opened: OpenSafetensorsFile[]): WeightFile {
  let f: OpenSafetensorsFile;
  try {
    f = openSafetensorsFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new WeightsError(null, 'file not found', path);
    if (!(e instanceof HsaError)) throw e;
    const tensor = /tensor '([^']*)'/.exec(e.message)?.[1] ?? null;
    throw new WeightsError(tensor, e.message.replace(/^safetensors: (tensor '[^']*': )?/, ''), path);
  }
  opened.push(f);
  return { label: path, file: f.file };
}

async function readConfig(path: string): Promise<unknown> {
  const text = await readOrNull(path);
  if (!text) throw new ModelConfigError('(file)', `${path} not found`);
  try {
    return JSON.parse(text.toString('utf8'));
  } catch (e) {
    throw new ModelConfigError('(file)', `${path} is not valid JSON (${(e as Error).message})`);
  }
}

/** Reads the weight index (if any) and opens every weight file of the directory (headers only). */
async function readWeights(dir: string, opened: OpenSafetensorsFile[]): Promise<Pick<ModelFiles, 'files' | 'weightMap'>> {
  const indexPath = join(dir, 'model.safetensors.index.json');
  const index = await readOrNull(indexPath);
  if (!index) {
    const single = join(dir, 'model.safetensors');
    if (!existsSync(single)) throw new WeightsError(null, 'holds neither model.safetensors nor model.safetensors.index.json', dir);
    return { files: [openFile(single, opened)] };
  }
  let weightMap: Record<string, string>;
  try {
    weightMap = JSON.parse(index.toString('utf8')).weight_map;
    if (typeof weightMap !== 'object' || weightMap === null) throw new Error('no weight_map object');
  } catch (e) {
    throw new WeightsError(null, `not a valid index (${(e as Error).message})`, indexPath);
  }
  const shards = [...new Set(Object.values(weightMap))].sort();
  return { files: shards.map((s) => openFile(join(dir, s), opened)), weightMap };
}

/**
 * Reads config.json and opens the weight files of a model directory (headers only: tensors are read
 * from disk when uploaded, one at a time). Call `close()` when done with the files.
 */
export async function readModelDir(dir: string, options: Pick<ModelDirOptions, 'configPath'> = {}): Promise<ModelFiles> {
  const configJson = await readConfig(options.configPath ?? join(dir, 'config.json'));
  parseConfig(configJson); // a bad config fails before any weight file is opened
  const opened: OpenSafetensorsFile[] = [];
  const close = () => {
    for (const f of opened.splice(0)) f.close();
  };
  try {
    return { configJson, ...(await readWeights(dir, opened)), close };
  } catch (e) {
    close();
    throw e;
  }
}

/** Loads a model directory onto a backend: config validated, all weights checked, then uploaded. */
export async function loadModelDir(backend: Backend, dir: string, options: ModelDirOptions = {}): Promise<HsaModel> {
  const m = await readModelDir(dir, options);
  try {
    return HsaModel.load(backend, m.configJson, m.files, { ...options, weightMap: m.weightMap });
  } finally {
    m.close();
  }
}

export interface SaveModelOptions {
  /** shard the weights into files of at most this many bytes (with model.safetensors.index.json) */
  shardBytes?: number;
  /** string metadata for the safetensors headers */
  metadata?: Record<string, string>;
}

/**
 * Writes config.json and the weights (model.safetensors, or shards + index) into `dir`, each file
 * atomically (temp file + rename); a weight layout left from an earlier save of the other kind is
 * removed afterwards, so the directory always loads as what was saved.
 */
export async function saveModelDir(model: HsaModel, dir: string, options: SaveModelOptions = {}): Promise<string[]> {
  if (model.configJson === undefined) throw new ArgumentError('saveModelDir: the model has no config.json to write (load it with HsaModel.load)');
  const { files } = await serializeModel(model, options);
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of files) await writeFileAtomic(join(dir, name), bytes);
  await writeFileAtomic(join(dir, 'config.json'), new TextEncoder().encode(`${JSON.stringify(model.configJson, null, 2)}\n`));
  const stale = files.has('model.safetensors') ? 'model.safetensors.index.json' : 'model.safetensors';
  await rm(join(dir, stale), { force: true });
  return [...files.keys(), 'config.json'];
}
