/**
 * MoeLayer: one Ling-2.0-style mixture-of-experts FFN over x [T, d] (hsa-spec.md §4):
 *   logits = x·Gᵀ → route (scores, biased top-k, weights) → dispatch (GPU counting sort) →
 *   grouped SwiGLU over all experts (2 dispatches) → combine with the shared expert (dense path).
 * Decode (few tokens) gathers only the chosen experts' rows. Weights live stacked on the device.
 */
import { ArgumentError, type MoeRouterParams, ShapeError } from '@hsa/kernels';
import { type Backend, fmtShape, matmul, swiglu, Tensor } from '@hsa/tensor';
import type { MoeConfig } from './config.js';
import { combine, type Dispatch, dispatch, type ExpertWeights, expertsDecodeRouted, expertsForward, type Routing, route } from './ops.js';
import { moeParameterNames } from './params.js';
import { type MoeTrainForward, type MoeTrainWeights, moeForwardAg } from './train.js';

export type WeightDtype = 'f32' | 'f16' | 'bf16';

/** Looks up a parameter by its full name; values in the layout of hsa-spec.md §4. */
export type WeightLookup = (name: string) => ArrayLike<number>;

export interface MoeForward extends Routing, Dispatch {
  /** [T, d] */
  out: Tensor;
  /** router logits [T, E] */
  logits: Tensor;
}

/** Uploads f32 values as f32 or packed 16-bit (Tensor.from packs, round to nearest even). */
function upload(b: Backend, values: Float32Array, shape: number[], dtype: WeightDtype): Tensor {
  return Tensor.from(b, values, shape, dtype);
}

function take(lookup: WeightLookup, name: string, size: number): ArrayLike<number> {
  const v = lookup(name);
  if (v.length !== size) throw new ShapeError(`MoE weight ${name}: ${v.length} values, expected ${size}`);
  return v;
}

export class MoeLayer {
  private constructor(
    readonly backend: Backend,
    readonly config: MoeConfig,
    /** router weight [E, d] (f32) */
    readonly gate: Tensor,
    /** host copy of the selection bias [E]; {@link setBias} keeps the device copy in step */
    private biasHost: Float32Array,
    private biasTensor: Tensor,
    readonly experts: ExpertWeights,
    readonly shared: ExpertWeights | null,
  ) {}

  /**
   * Builds a layer from named weights (`${prefix}mlp.gate.weight`, `${prefix}mlp.experts.{e}.*`, ...);
   * expert and shared weights are stored as `dtype` (the router stays f32).
   */
  static load(backend: Backend, config: MoeConfig, lookup: WeightLookup, options: { prefix?: string; dtype?: WeightDtype } = {}): MoeLayer {
    const n = moeParameterNames(config, options.prefix ?? '');
    const { experts: E, hidden: d, expertWidth: F } = config;
    const dtype = options.dtype ?? 'f32';
    const stack = (names: string[]) => {
      const out = new Float32Array(E * F * d);
      names.forEach((name, e) => {
        out.set(take(lookup, name, F * d), e * F * d);
      });
      return out;
    };
    const experts = {
      gate: upload(backend, stack(n.experts.map((x) => x.gate)), [E, F, d], dtype),
      up: upload(backend, stack(n.experts.map((x) => x.up)), [E, F, d], dtype),
      down: upload(backend, stack(n.experts.map((x) => x.down)), [E, d, F], dtype),
    };
    let shared: ExpertWeights | null = null;
    if (n.shared) {
      const Fs = F * config.sharedExperts;
      const get = (name: string) => Float32Array.from(take(lookup, name, Fs * d));
      shared = {
        gate: upload(backend, get(n.shared.gate), [Fs, d], dtype),
        up: upload(backend, get(n.shared.up), [Fs, d], dtype),
        down: upload(backend, get(n.shared.down), [d, Fs], dtype),
      };
    }
    const gate = Tensor.from(backend, Float32Array.from(take(lookup, n.gate, E * d)), [E, d]);
    const bias = Float32Array.from(take(lookup, n.bias, E));
    return new MoeLayer(backend, config, gate, bias, Tensor.from(backend, bias, [E]), experts, shared);
  }

  /**
   * Builds a layer from tensors already on the device (router weight [E, d] f32, bias [E], experts
   * and shared expert as stacked by {@link load}); the layer owns them from then on.
   */
  static fromTensors(config: MoeConfig, t: { gate: Tensor; bias: Float32Array; experts: ExpertWeights; shared: ExpertWeights | null }): MoeLayer {
    const b = t.gate.backend;
    const { experts: E, hidden: d, expertWidth: F } = config;
    const want = [[E, d], [E, F, d], [E, F, d], [E, d, F]];
    const got = [t.gate, t.experts.gate, t.experts.up, t.experts.down];
    if (got.some((x, i) => fmtShape(x.shape) !== fmtShape(want[i])) || t.bias.length !== E || (config.sharedExperts > 0) !== !!t.shared) {
      throw new ShapeError(`MoeLayer.fromTensors: gate ${fmtShape(t.gate.shape)}, experts ${fmtShape(t.experts.gate.shape)} do not match E = ${E}, d = ${d}, F = ${F}`);
    }
    return new MoeLayer(b, config, t.gate, Float32Array.from(t.bias), Tensor.from(b, Float32Array.from(t.bias), [E]), t.experts, t.shared);
  }

  /** The trainable tensors (for moeForwardAg / Parameters); the selection bias is not one of them. */
  get weights(): MoeTrainWeights {
    return { gate: this.gate, experts: this.experts, shared: this.shared };
  }

  /** The selection bias on the device [E]. */
  get biasDevice(): Tensor {
    return this.biasTensor;
  }

  /** The selection bias b [E] (host copy). */
  get bias(): Float32Array {
    return this.biasHost.slice();
  }

  /** Replaces the selection bias (the trainer's auxiliary-loss-free update). */
  setBias(bias: ArrayLike<number>): void {
    if (bias.length !== this.config.experts) throw new ShapeError(`MoE bias: ${bias.length} values for ${this.config.experts} experts`);
    this.biasHost = Float32Array.from(bias);
    this.backend.write(this.biasTensor.storage, this.biasHost);
  }

  /** The router's options from the config (k, groups, score function, norm, scale). */
  routerParams(): Omit<MoeRouterParams, 'T' | 'E'> {
    const c = this.config;
    return { k: c.topk, nGroup: c.nGroup, topkGroup: c.topkGroup, scoreFn: c.scoreFunction, norm: c.normTopkProb, scale: c.routedScalingFactor };
  }

  private validate(x: Tensor): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.config.hidden) {
      throw new ShapeError(`MoeLayer: x ${fmtShape(x.shape)} must be [T, ${this.config.hidden}]`);
    }
    if (x.backend !== this.backend) throw new ArgumentError('MoeLayer: x lives on another backend than the layer');
    return x;
  }

  private checkInput(x: Tensor): Tensor {
    return this.validate(x).contiguous();
  }

  /** The dense SwiGLU of the shared experts, [T, d]. */
  private sharedForward(x: Tensor): Tensor | undefined {
    if (!this.shared) return undefined;
    const g = matmul(x, this.shared.gate, { transB: true });
    const u = matmul(x, this.shared.up, { transB: true });
    const a = swiglu(g, u);
    const y = matmul(a, this.shared.down, { transB: true });
    for (const t of [g, u, a]) t.dispose();
    return y;
  }

  /** Forward over T tokens; the result keeps the routing and dispatch (dispose them with {@link disposeForward}). */
  forward(x: Tensor): MoeForward {
    const xc = this.checkInput(x);
    const logits = matmul(xc, this.gate, { transB: true });
    const r = route(logits, this.biasTensor, this.routerParams());
    const d = dispatch(r.idx, this.config.experts);
    const y = expertsForward(xc, this.config.topk, d, this.experts);
    const s = this.sharedForward(xc);
    const out = combine(y, r.weights, s);
    y.dispose();
    s?.dispose();
    xc.dispose();
    return { out, logits, ...r, ...d };
  }

  /**
   * Differentiable forward (records onto the tape when x or a weight requires a gradient: wrap
   * {@link weights} in Parameters); returns the routing and each token block's dispatch offsets.
   */
  forwardAg(x: Tensor): MoeTrainForward {
    return moeForwardAg(this.validate(x), this.weights, this.biasTensor, this.routerParams());
  }

  /**
   * Decode step for a few tokens (typically one): reads only the chosen experts' weights. Three
   * dispatches: the router matvec, gate/up choosing the experts in the kernel, down + combine.
   */
  decode(x: Tensor): Tensor {
    const xc = this.checkInput(x);
    const logits = matmul(xc, this.gate, { transB: true });
    const r = expertsDecodeRouted(xc, logits, this.biasTensor, this.routerParams(), this.experts, this.shared);
    for (const t of [xc, logits, r.idx, r.weights]) t.dispose();
    return r.out;
  }

  dispose(): void {
    for (const t of [this.gate, this.biasTensor, ...Object.values(this.experts), ...Object.values(this.shared ?? {})]) t.dispose();
  }
}

/** Releases every tensor of a forward result except `out` (pass keepOut = false to release it too). */
export function disposeForward(f: MoeForward, keepOut = true): void {
  for (const t of [f.logits, f.scores, f.idx, f.weights, f.perm, f.offsets, f.tileStart]) t.dispose();
  if (!keepOut) f.out.dispose();
}
