/**
 * What every layer is built from: the forward context, a disposal scope, Linear (y = x·Wᵀ + b),
 * per-head RMSNorm, the SwiGLU FFN (dense or MoE) and the attention block shared by SWA modules and
 * encoder layers (reference-model.md §3.1–3.2).
 */
import { disposeForward } from '@hsa/moe';
import { add, matmul, rmsNorm, rope, swiglu, type Tensor } from '@hsa/tensor';
import type { HsaConfig } from '../config.js';
import type { ModelWeights } from '../weights.js';

/** Receives a recorded intermediate; the tensor is the receiver's to dispose. */
export type Recorder = (name: string, t: Tensor) => void;

/** Incremental decoding (decode.ts): the absolute position of the segment's first token and the SWA caches. */
export interface DecodeHooks {
  /** absolute position of the token being processed */
  pos: number;
  /** the ring buffers [W, Hk, dh] of post-norm post-RoPE K and V of the SWA module at `prefix` */
  swaCache(prefix: string, window: number): { k: Tensor; v: Tensor };
  /** replaces (and disposes) the module's ring buffers */
  setSwaCache(prefix: string, cache: { k: Tensor; v: Tensor }): void;
}

export interface ForwardContext {
  config: HsaConfig;
  weights: ModelWeights;
  record?: Recorder;
  /** set when decoding one token against caches (RoPE from `pos`, SWA against the ring buffers, retrieval at `pos`) */
  decode?: DecodeHooks;
}

/** Hands the recorder its own reference to `t` (a view; `t` stays the caller's). */
export function record(ctx: ForwardContext, name: string, t: Tensor): void {
  if (ctx.record) ctx.record(name, t.reshape(t.shape));
}

/** Collects intermediates to dispose together. */
export class Scope {
  private readonly held: Tensor[] = [];
  keep<T extends Tensor>(t: T): T {
    this.held.push(t);
    return t;
  }
  dispose(): void {
    for (const t of this.held) t.dispose();
    this.held.length = 0;
  }
}

/** nn.Linear over the last axis: x [..., in] · Wᵀ (W [out, in], f32 or packed) + b. */
export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const y = matmul(x, w, { transB: true });
  if (!b) return y;
  const z = add(y, b);
  y.dispose();
  return z;
}

/** RMSNorm of each dh-vector of x [..., H·dh] with a shared weight [dh] → [..., H, dh]. */
export function headNorm(x: Tensor, w: Tensor | null, heads: number, eps: number): Tensor {
  const v = x.reshape([...x.shape.slice(0, -1), heads, x.shape[x.rank - 1] / heads]);
  if (!w) return v;
  const y = rmsNorm(v, w, eps);
  v.dispose();
  return y;
}

/** x + y, disposing both operands. */
export function addInto(x: Tensor, y: Tensor): Tensor {
  const z = add(x, y);
  x.dispose();
  y.dispose();
  return z;
}

/** SwiGLU MLP `${p}{gate,up,down}_proj.weight` over x [..., d]. */
export function denseMlp(weights: ModelWeights, x: Tensor, p: string): Tensor {
  const s = new Scope();
  const g = s.keep(linear(x, weights.get(`${p}gate_proj.weight`)));
  const u = s.keep(linear(x, weights.get(`${p}up_proj.weight`)));
  const a = s.keep(swiglu(g, u));
  const y = linear(a, weights.get(`${p}down_proj.weight`));
  s.dispose();
  return y;
}

/**
 * The FFN of a layer over x [T, d]: dense `${p}${mlpName}.*`, or the MoE layer loaded under that
 * prefix (hsa-spec.md §4).
 */
export function ffn(ctx: ForwardContext, x: Tensor, p: string, mlpName: 'mlp' | '_mlp'): Tensor {
  const moe = ctx.weights.moe.get(mlpName === 'mlp' ? p : `${p}_`);
  if (!moe) return denseMlp(ctx.weights, x, `${p}${mlpName}.`);
  // a few tokens (a decode step): gather the chosen experts' rows instead of sorting tokens by expert
  if (x.shape[0] <= DECODE_TOKENS) return moe.decode(x);
  const f = moe.forward(x);
  disposeForward(f);
  return f.out;
}

/** Token counts up to which the MoE FFN takes the decode path (expertsDecode). */
const DECODE_TOKENS = 4;

export interface AttentionBlock {
  /** prefix of `q_proj.weight` etc. */
  prefix: string;
  /** eps of the q/k norms */
  eps: number;
  /** RoPE base */
  theta: number;
  /** RoPE position of token 0 (default 0) */
  positionOffset?: number;
  /** attention over q [..., T, Hq, dh], k, v [..., T, Hk, dh] → [..., T, Hq, dh] */
  attend: (q: Tensor, k: Tensor, v: Tensor) => Tensor;
}

/**
 * q/k/v projections (with biases where the checkpoint has them), per-head q/k norm before RoPE
 * (positions 0..T−1 along the token axis), attention, o_proj. xn [..., T, d] is already normed.
 */
export function attentionBlock(ctx: ForwardContext, xn: Tensor, a: AttentionBlock): Tensor {
  const { heads, kvHeads } = ctx.config;
  const w = ctx.weights;
  const p = a.prefix;
  const bias = (n: string) => (w.has(`${p}${n}.bias`) ? w.get(`${p}${n}.bias`) : undefined);
  const s = new Scope();
  const proj = (n: string) => s.keep(linear(xn, w.get(`${p}${n}.weight`), bias(n)));
  const qn = s.keep(headNorm(proj('q_proj'), w.get(`${p}q_norm.weight`), heads, a.eps));
  const kn = s.keep(headNorm(proj('k_proj'), w.get(`${p}k_norm.weight`), kvHeads, a.eps));
  const v = s.keep(headNorm(proj('v_proj'), null, kvHeads, 0));
  const r = { theta: a.theta, positionOffset: a.positionOffset ?? 0 };
  const q = s.keep(rope(qn, r));
  const k = s.keep(rope(kn, r));
  const o = s.keep(a.attend(q, k, v));
  const flat = s.keep(o.reshape(xn.shape));
  const y = linear(flat, w.get(`${p}o_proj.weight`), bias('o_proj'));
  s.dispose();
  return y;
}
