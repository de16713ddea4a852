/**
 * @hsa/model/node: loading a model directory from disk (Node only): `config.json` plus
 * `model.safetensors`, or the shards listed in `model.safetensors.index.json`.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgumentError, type Backend, HsaError, SafetensorsFile } from '@hsa/tensor';
import { writeFileAtomic } from '@hsa/tensor/node';
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
}

async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Parses one safetensors file; a defect becomes a WeightsError naming the file (and the tensor, if any). */
async function parseFile(path: string): Promise<WeightFile> {
  const bytes = await readOrNull(path);
  if (!bytes) throw new WeightsError(null, 'file not found', path);
  try {
    return { label: path, file: SafetensorsFile.parse(bytes) };
  } catch (e) {
    if (!(e instanceof HsaError)) throw e;
    const tensor = /tensor '([^']*)'/.exec(e.message)?.[1] ?? null;
    throw new WeightsError(tensor, e.message.replace(/^safetensors: (tensor '[^']*': )?/, ''), path);
  }
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

/** Reads the weight index (if any) and parses every weight file of the directory. */
async function readWeights(dir: string): Promise<Omit<ModelFiles, 'configJson'>> {
  const indexPath = join(dir, 'model.safetensors.index.json');
  const index = await readOrNull(indexPath);
  if (!index) {
    const single = join(dir, 'model.safetensors');
    if (!(await readOrNull(single))) throw new WeightsError(null, 'holds neither model.safetensors nor model.safetensors.index.json', dir);
    return { files: [await parseFile(single)] };
  }
  let weightMap: Record<string, string>;
  try {
    weightMap = JSON.parse(index.toString('utf8')).weight_map;
    if (typeof weightMap !== 'object' || weightMap === null) throw new Error('no weight_map object');
  } catch (e) {
    throw new WeightsError(null, `not a valid index (${(e as Error).message})`, indexPath);
  }
  const shards = [...new Set(Object.values(weightMap))].sort();
  return { files: await Promise.all(shards.map((s) => parseFile(join(dir, s)))), weightMap };
}

/** Reads and parses a model directory (no upload). */
export async function readModelDir(dir: string, options: Pick<ModelDirOptions, 'configPath'> = {}): Promise<ModelFiles> {
  const configJson = await readConfig(options.configPath ?? join(dir, 'config.json'));
  parseConfig(configJson); // a bad config fails before gigabytes of weights are read
  return { configJson, ...(await readWeights(dir)) };
}

/** Loads a model directory onto a backend: config validated, all weights checked, then uploaded. */
export async function loadModelDir(backend: Backend, dir: string, options: ModelDirOptions = {}): Promise<HsaModel> {
  const m = await readModelDir(dir, options);
  return HsaModel.load(backend, m.configJson, m.files, { ...options, weightMap: m.weightMap });
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
