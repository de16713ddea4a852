/**
 * TrainableHsaModel: every parameter a config implies (params.ts) as an autograd Parameter under its
 * reference state-dict name, so what it saves (`toSafetensors`) loads into HsaModel unchanged. Built
 * by the reference initializer (reference-model.md §5) or from safetensors files; the differentiable
 * forward and the loss are in ./forward.ts. The routed experts of an MoE layer are stacked into
 * three Parameters (./moe.ts) and split back into per-expert tensors when saved.
 */
import {
  type Backend,
  Parameter,
  Rng,
  type SafetensorsTensorInput,
  serializeSafetensors,
  type Tensor,
  Tensor as T,
  UnsupportedError,
} from '@hsa/tensor';
import { updateExpertBias } from '@hsa/moe';
import type { HsaConfig } from '../config.js';
import type { ParamSpec } from '../params.js';
import { planWeights, type WeightFile, WeightsError } from '../weights.js';
import { type TrainForwardOptions, type TrainSequence, trainLogits, trainLoss } from './forward.js';
import { moePrefixes, stateEntries, trainSpecs, trainValue } from './moe.js';

export interface InitOptions {
  /** seed of the normal draws (default 0) */
  seed?: number;
  /** std of matrices, cls_emb and the embedding (default config.initializerRange) */
  std?: number;
}

/** What the reference initializes to 1 (RMSNorm weights), 0 (biases, expert bias, pos_decay) or N(0, std²). */
export function initKind(spec: ParamSpec): 'normal' | 'ones' | 'zeros' {
  const n = spec.name;
  if (spec.kind === 'matrix' || n.endsWith('cls_emb')) return 'normal';
  if (n.endsWith('.bias') || n.endsWith('expert_bias') || n.endsWith('pos_decay')) return 'zeros';
  return 'ones';
}

/**
 * Weight decay applies to matrices (projections, embedding, lm_head) and cls_emb (a learned
 * embedding row); norms, biases, the expert bias and pos_decay are in the no-decay group.
 */
export const decays = (spec: ParamSpec): boolean => initKind(spec) === 'normal';

/** Throws E_UNSUPPORTED for what the differentiable forward cannot train. */
function checkTrainable(config: HsaConfig): void {
  if (config.enableGumbelNoise) {
    throw new UnsupportedError('training: enable_gumbel_noise (noise on the top-k choice) is not implemented; set it to false');
  }
}

export class TrainableHsaModel {
  /** in state-dict order (an MoE layer's experts as three stacked Parameters, ./moe.ts) */
  readonly params: Parameter[];
  private readonly byName = new Map<string, Parameter>();
  /** host copies of the scalar parameters (pos_decay), which get no gradient */
  private readonly scalars = new Map<string, number>();

  private constructor(
    readonly backend: Backend,
    readonly config: HsaConfig,
    values: Map<string, Float32Array>,
  ) {
    checkTrainable(config);
    const specs = trainSpecs(config);
    this.params = specs.map((s) => new Parameter(s.name, T.from(backend, values.get(s.name)!, s.shape), decays(s)));
    for (const p of this.params) this.byName.set(p.name, p);
    for (const s of specs) if (s.name.endsWith('pos_decay')) this.scalars.set(s.name, values.get(s.name)![0]);
  }

  /** Fresh parameters by the reference initializer (seeded): N(0, std²) matrices, norms 1, biases 0. */
  static init(backend: Backend, config: HsaConfig, options: InitOptions = {}): TrainableHsaModel {
    const rng = new Rng(options.seed ?? 0);
    const std = options.std ?? config.initializerRange;
    const values = new Map<string, Float32Array>();
    for (const s of trainSpecs(config)) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const kind = initKind(s);
      values.set(s.name, Float32Array.from({ length: n }, () => (kind === 'normal' ? rng.normal() * std : kind === 'ones' ? 1 : 0)));
    }
    return new TrainableHsaModel(backend, config, values);
  }

  /** Parameters from safetensors files (F32/F16/BF16, checked like loadWeights), as f32. */
  static fromFiles(backend: Backend, config: HsaConfig, files: readonly WeightFile[]): TrainableHsaModel {
    const plan = planWeights(config, files);
    const values = new Map<string, Float32Array>();
    const lookup = (name: string) => plan.where.get(name)!.file.float32(name);
    for (const s of trainSpecs(config)) values.set(s.name, trainValue(config, s, lookup));
    return new TrainableHsaModel(backend, config, values);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The Parameter of a state-dict name. */
  param(name: string): Parameter {
    const p = this.byName.get(name);
    if (!p) throw new WeightsError(name, 'is not a parameter of this config');
    return p;
  }

  /** The current value of a parameter (tracked: ag ops on it record). */
  value(name: string): Tensor {
    return this.param(name).value;
  }

  /** Host value of a scalar parameter (pos_decay: frozen, see ./hsa.ts). */
  scalar(name: string): number {
    const v = this.scalars.get(name);
    if (v === undefined) throw new WeightsError(name, 'is not a scalar parameter of this config');
    return v;
  }

  /** Re-reads the host copies of the scalar parameters after their tensors were written directly (loadCheckpoint). */
  async syncScalars(): Promise<void> {
    for (const name of this.scalars.keys()) this.scalars.set(name, ((await this.value(name).data()) as Float32Array)[0]);
  }

  /** The two optimizer groups (AdamW reads Parameter.decay; this is for inspection and custom optimizers). */
  get groups(): { decay: Parameter[]; noDecay: Parameter[] } {
    return { decay: this.params.filter((p) => p.decay), noDecay: this.params.filter((p) => !p.decay) };
  }

  /** Logits [L, vocab] of one sequence through the differentiable forward (see trainLogits). */
  logits(ids: ArrayLike<number>, options: TrainForwardOptions = {}): Tensor {
    return trainLogits(this, ids, options);
  }

  /** Mean cross-entropy over every valid target of the batch (see trainLoss). */
  loss(batch: TrainSequence | readonly TrainSequence[], options: TrainForwardOptions = {}): Tensor {
    return trainLoss(this, batch, options);
  }

  /** Every parameter as F32 under its reference name (reads the tensors back; stacked experts split). */
  async stateDict(): Promise<Record<string, SafetensorsTensorInput>> {
    const out: Record<string, SafetensorsTensorInput> = {};
    for (const p of this.params) {
      const data = Float32Array.from((await p.value.data()) as Float32Array);
      for (const [name, t] of stateEntries(this.config, p.name, p.value.shape, data)) out[name] = t;
    }
    return out;
  }

  /** The MoE layers' prefixes m (their parameters are `${m}mlp.*`). */
  get moePrefixes(): string[] {
    return moePrefixes(this.config);
  }

  /**
   * The auxiliary-loss-free balancing step (hsa-spec.md §4) after an optimizer step: for each MoE
   * layer m with a load [E] (tokens per expert, e.g. expertLoad of the offsets that
   * TrainForwardOptions.onExpertLoad received), b += router_bias_update_rate · sign(mean load − load).
   */
  async balanceExperts(loads: ReadonlyMap<string, ArrayLike<number>>): Promise<void> {
    const rate = this.config.moe?.biasUpdateRate ?? 0;
    for (const [m, load] of loads) {
      const b = this.value(`${m}mlp.gate.expert_bias`);
      const next = updateExpertBias((await b.data()) as Float32Array, load, rate);
      this.backend.write(b.storage, next);
    }
  }

  /** A model.safetensors that HsaModel.load / loadWeights read with the same config. */
  async toSafetensors(metadata: Record<string, string> = {}): Promise<Uint8Array> {
    return serializeSafetensors(await this.stateDict(), { format: 'pt', ...metadata });
  }

  dispose(): void {
    for (const p of this.params) {
      p.zeroGrad();
      p.value.dispose();
    }
  }
}
