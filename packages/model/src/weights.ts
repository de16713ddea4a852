/**
 * Model weights from safetensors files (one file, or the shards of model.safetensors.index.json):
 * every parameter the config implies is checked (present, shape, dtype F32/F16/BF16) before anything
 * is uploaded, so a bad checkpoint never leaves a half-loaded model. Matrices keep their packed
 * f16/bf16 storage (matmul and the embedding read it directly); norms, biases and cls_emb become f32.
 * Every problem is a {@link WeightsError} (code `E_BAD_CHECKPOINT`) naming the tensor and the file.
 */
import { MoeLayer } from '@hsa/moe';
import { type Backend, HsaError, type SafetensorsEntry, type SafetensorsFile, Tensor } from '@hsa/tensor';
import type { HsaConfig } from './config.js';
import { checkMemoryPlan, planMemory } from './memory-plan.js';
import { type ParamSpec, parameterSpecs } from './params.js';

/** A checkpoint problem: missing tensor, wrong shape, unsupported dtype, truncated or corrupt file. */
export class WeightsError extends HsaError {
  constructor(
    /** the tensor concerned, when there is one */
    readonly tensor: string | null,
    message: string,
    /** the file concerned, when known */
    readonly file?: string,
  ) {
    super('E_BAD_CHECKPOINT', `${file ? `${file}: ` : ''}${tensor ? `tensor '${tensor}': ` : ''}${message}`);
  }
}

/** A parsed safetensors file and the name it is reported under (its path). */
export interface WeightFile {
  label: string;
  file: SafetensorsFile;
}

/** Storage dtype of matrices: as on disk (`auto`) or converted. */
export type MatrixDtype = 'auto' | 'f32' | 'f16' | 'bf16';

export interface LoadWeightsOptions {
  /** default `auto`: keep the file's F32 / F16 / BF16 */
  matrixDtype?: MatrixDtype;
  /**
   * Checks the memory plan at this context against a byte budget before anything is uploaded
   * (E_OUT_OF_MEMORY naming the parts when it does not fit).
   */
  budget?: { bytes: number; context: number; segment?: number };
  /** upload progress in bytes of the checkpoint's tensors (done, total), after each tensor or MoE layer */
  onProgress?: (bytes: number, total: number) => void;
}

/** Where each expected tensor lives, after every check passed. */
export interface WeightPlan {
  specs: ParamSpec[];
  where: Map<string, WeightFile>;
  /** tensors in the files that the config does not use (e.g. a tied lm_head) */
  unused: string[];
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);

function checkEntry(spec: ParamSpec, e: SafetensorsEntry, label: string): void {
  if (!FLOAT_DTYPES.has(e.dtype)) throw new WeightsError(spec.name, `dtype ${e.dtype} is not supported (F32, F16 or BF16)`, label);
  const same = e.shape.length === spec.shape.length && e.shape.every((d, i) => d === spec.shape[i]);
  if (!same) throw new WeightsError(spec.name, `shape [${e.shape.join(', ')}] does not match [${spec.shape.join(', ')}] implied by config.json`, label);
}

/**
 * Checks every parameter the config implies against the files (no upload). `weightMap` (from an
 * index.json) says which file label must hold each tensor.
 */
export function planWeights(config: HsaConfig, files: readonly WeightFile[], weightMap?: Record<string, string>): WeightPlan {
  const where = new Map<string, WeightFile>();
  for (const f of files) {
    for (const name of f.file.names) {
      const prev = where.get(name);
      if (prev) throw new WeightsError(name, `is stored twice (also in ${prev.label})`, f.label);
      where.set(name, f);
    }
  }
  const specs = parameterSpecs(config);
  for (const spec of specs) {
    const f = where.get(spec.name);
    if (!f) {
      const label = files.length === 1 ? files[0].label : `${files.length} files`;
      throw new WeightsError(spec.name, 'is missing from the checkpoint (config.json implies it)', label);
    }
    if (weightMap && weightMap[spec.name] !== undefined && !f.label.endsWith(weightMap[spec.name])) {
      throw new WeightsError(spec.name, `index.json places it in ${weightMap[spec.name]}`, f.label);
    }
    checkEntry(spec, f.file.entry(spec.name), f.label);
  }
  const used = new Set(specs.map((s) => s.name));
  return { specs, where, unused: [...where.keys()].filter((n) => !used.has(n)) };
}

/** The uploaded weights: tensors by state-dict name, MoE layers by prefix, scalars (pos_decay) on the host. */
export class ModelWeights {
  constructor(
    readonly backend: Backend,
    private readonly tensors: Map<string, Tensor>,
    /** MoE FFNs by the prefix given to MoeLayer.load (`backbone.layers.i.` or `backbone.layers.i._`) */
    readonly moe: Map<string, MoeLayer>,
    /** scalar parameters read on the host (pos_decay) */
    readonly scalars: Map<string, number>,
  ) {}

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  get(name: string): Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new WeightsError(name, 'was not loaded');
    return t;
  }

  /** Names of the tensors held (MoE layers are in {@link moe}). */
  get names(): string[] {
    return [...this.tensors.keys()];
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    for (const m of this.moe.values()) m.dispose();
    this.tensors.clear();
    this.moe.clear();
  }
}

const DISK_TO_DTYPE = { F32: 'f32', F16: 'f16', BF16: 'bf16' } as const;

function uploadMatrix(backend: Backend, f: SafetensorsFile, spec: ParamSpec, want: MatrixDtype): Tensor {
  const disk = DISK_TO_DTYPE[f.entry(spec.name).dtype as 'F32'];
  if ((want === 'auto' || want === disk) && disk !== 'f32') return Tensor.from(backend, f.half16(spec.name), spec.shape, disk);
  return Tensor.from(backend, f.float32(spec.name), spec.shape, want === 'auto' ? 'f32' : want);
}

/** MoE prefixes of the plan: names `${prefix}mlp.gate.weight`. */
function moePrefixes(specs: ParamSpec[]): string[] {
  return specs.filter((s) => s.kind === 'moe' && s.name.endsWith('mlp.gate.weight')).map((s) => s.name.slice(0, -'mlp.gate.weight'.length));
}

function uploadMoe(backend: Backend, config: HsaConfig, plan: WeightPlan, prefix: string, want: MatrixDtype): MoeLayer {
  const lookup = (name: string) => plan.where.get(name)!.file.float32(name);
  const probe = `${prefix}mlp.experts.0.gate_proj.weight`;
  const disk = DISK_TO_DTYPE[plan.where.get(probe)!.file.entry(probe).dtype as 'F32'];
  return MoeLayer.load(backend, config.moe!, lookup, { prefix, dtype: want === 'auto' ? disk : want });
}

/** Uploads a checked plan; on a failure midway (out of memory) everything uploaded is released. */
export function uploadWeights(backend: Backend, config: HsaConfig, plan: WeightPlan, options: LoadWeightsOptions = {}): ModelWeights {
  const want = options.matrixDtype ?? 'auto';
  const tensors = new Map<string, Tensor>();
  const w = new ModelWeights(backend, tensors, new Map(), new Map());
  const size = (name: string) => {
    const e = plan.where.get(name)!.file.entry(name);
    return e.end - e.begin;
  };
  const total = plan.specs.reduce((n, s) => n + size(s.name), 0);
  let done = 0;
  const progress = (bytes: number) => {
    done += bytes;
    options.onProgress?.(done, total);
  };
  try {
    for (const spec of plan.specs) {
      const f = plan.where.get(spec.name)!.file;
      if (spec.kind === 'matrix') tensors.set(spec.name, uploadMatrix(backend, f, spec, want));
      else if (spec.kind === 'vector') {
        const v = f.float32(spec.name);
        tensors.set(spec.name, Tensor.from(backend, Float32Array.from(v), spec.shape));
        if (spec.name.endsWith('pos_decay')) w.scalars.set(spec.name, v[0]);
      }
      if (spec.kind !== 'moe') progress(size(spec.name));
    }
    for (const prefix of moePrefixes(plan.specs)) {
      w.moe.set(prefix, uploadMoe(backend, config, plan, prefix, want));
      progress(plan.specs.filter((s) => s.kind === 'moe' && s.name.startsWith(`${prefix}mlp.`)).reduce((n, s) => n + size(s.name), 0));
    }
  } catch (e) {
    w.dispose();
    throw e;
  }
  return w;
}

/** planWeights then uploadWeights. */
export function loadWeights(
  backend: Backend,
  config: HsaConfig,
  files: readonly WeightFile[],
  options: LoadWeightsOptions & { weightMap?: Record<string, string> } = {},
): ModelWeights {
  const plan = planWeights(config, files, options.weightMap);
  if (options.budget) {
    const probe = plan.specs.find((p) => p.kind !== 'vector')!;
    const disk = DISK_TO_DTYPE[plan.where.get(probe.name)!.file.entry(probe.name).dtype as 'F32'];
    const dtype = !options.matrixDtype || options.matrixDtype === 'auto' ? disk : options.matrixDtype;
    const b = options.budget;
    checkMemoryPlan(planMemory(config, { context: b.context, segment: b.segment, matrixBytes: dtype === 'f32' ? 4 : 2, maxBindingBytes: backend.maxBindingBytes }), b.bytes);
  }
  return uploadWeights(backend, config, plan, options);
}
