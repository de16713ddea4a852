/**
 * The differentiable building blocks of the training forward, each the ag.* twin of a function in
 * ../layers (same ops in the same order, so the logits equal the inference forward's): Linear,
 * per-head RMSNorm, the dense SwiGLU MLP (or the MoE FFN, ./moe.ts), the attention block (q/k norm before RoPE) and the SWA
 * decoder layer (reference-model.md §3.1–3.3). Intermediates go into a Scope disposed after the
 * forward (the tape keeps its own views).
 */
import { ag, type Tensor } from '@hsa/tensor';
import type { HsaConfig } from '../config.js';
import { Scope } from '../layers/common.js';
import { moeFfn } from './moe.js';

/** Intermediates are collected in the inference layers' Scope. */
export { Scope };

/** Windows and top-k of one training stage (the config's values unless overridden). */
export interface StageSettings {
  /** W of the SWA decoder layers */
  window: number;
  /** W_h of the HSA layer's own SWA */
  hsaWindow: number;
  /** chunk_topk (Infinity: every chunk) */
  topk: number;
  /** the mask_slide_window threshold max(slide_window, W), when that flag is on */
  maskWindow: number | undefined;
}

/** MoE reporting of one forward: expert loads and balance losses, while `active` (not in a checkpoint's recomputation). */
export interface MoeHooks {
  active: boolean;
  /** the dispatch offsets [E + 1] of each token block of the layer with MoE prefix m (views, the receiver's) */
  onLoad?: (m: string, offsets: Tensor[]) => void;
  /** sequence-level balance losses (aux_loss_alpha > 0), one per MoE layer */
  aux: Tensor[];
}

/** What the layer functions read: the config, the parameters, the stage settings. */
export interface TrainContext {
  config: HsaConfig;
  /** parameter value by state-dict name */
  p(name: string): Tensor;
  has(name: string): boolean;
  /** host value of a scalar parameter (pos_decay) */
  scalar(name: string): number;
  stage: StageSettings;
  /** run each layer under ag.checkpoint */
  checkpoint: boolean;
  moe?: MoeHooks;
  /**
   * Packed sequences: the forward runs n sequences of `segment` tokens laid end to end, each token
   * attending and retrieving within its own sequence, RoPE at its position inside it (`positions`,
   * i32 [n·segment] = t mod segment). Absent: one sequence.
   */
  packed?: { segment: number; positions: Tensor };
}

/** nn.Linear over the last axis: x [..., in] · Wᵀ + b. */
export function linear(s: Scope, x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const y = s.keep(ag.matmul(x, w, { transB: true }));
  return b ? s.keep(ag.add(y, b)) : y;
}

/** RoPE options: the given i32 positions (packed sequences), else 0 … T − 1. */
const ropeAt = (theta: number, positions?: Tensor) => (positions ? { theta, positions } : { theta, positionOffset: 0 });

/** RoPE options of absolute positions in the sequence: 0 … T − 1, or each packed sequence's own. */
export function sequencePositions(ctx: TrainContext, theta: number) {
  return ropeAt(theta, ctx.packed?.positions);
}

/** RMSNorm of each dh-vector of x [..., H·dh] with a shared weight [dh] → [..., H, dh]. */
export function headNorm(s: Scope, x: Tensor, w: Tensor | null, heads: number, eps: number): Tensor {
  const v = s.keep(ag.reshape(x, [...x.shape.slice(0, -1), heads, x.shape[x.rank - 1] / heads]));
  return w ? s.keep(ag.rmsNorm(v, w, eps)) : v;
}

/** SwiGLU MLP `${p}{gate,up,down}_proj.weight` over x [..., d]. */
export function mlp(ctx: TrainContext, s: Scope, x: Tensor, p: string): Tensor {
  const g = linear(s, x, ctx.p(`${p}gate_proj.weight`));
  const u = linear(s, x, ctx.p(`${p}up_proj.weight`));
  return linear(s, s.keep(ag.swiglu(g, u)), ctx.p(`${p}down_proj.weight`));
}

/** The FFN of layer `p`: dense `${p}${mlpName}.*`, or the MoE layer under that prefix (hsa-spec.md §4). */
export function ffn(ctx: TrainContext, s: Scope, x: Tensor, p: string, mlpName: 'mlp' | '_mlp'): Tensor {
  const m = mlpName === 'mlp' ? p : `${p}_`;
  return ctx.has(`${m}mlp.gate.weight`) ? moeFfn(ctx, s, x, m) : mlp(ctx, s, x, `${p}${mlpName}.`);
}

export interface AttentionSpec {
  prefix: string;
  eps: number;
  theta: number;
  attend: (q: Tensor, k: Tensor, v: Tensor) => Tensor;
  /** i32 RoPE positions of the T axis (packed sequences); default 0 … T − 1 */
  positions?: Tensor;
}

/** q/k/v projections (+ biases when present), q/k head norms before RoPE, attention, o_proj; xn [..., T, d] normed. */
export function attentionBlock(ctx: TrainContext, s: Scope, xn: Tensor, a: AttentionSpec): Tensor {
  const { heads, kvHeads } = ctx.config;
  const p = a.prefix;
  const bias = (n: string) => (ctx.has(`${p}${n}.bias`) ? ctx.p(`${p}${n}.bias`) : undefined);
  const proj = (n: string) => linear(s, xn, ctx.p(`${p}${n}.weight`), bias(n));
  const qn = headNorm(s, proj('q_proj'), ctx.p(`${p}q_norm.weight`), heads, a.eps);
  const kn = headNorm(s, proj('k_proj'), ctx.p(`${p}k_norm.weight`), kvHeads, a.eps);
  const v = headNorm(s, proj('v_proj'), null, kvHeads, 0);
  const r = ropeAt(a.theta, a.positions);
  const o = s.keep(a.attend(s.keep(ag.rope(qn, r)), s.keep(ag.rope(kn, r)), v));
  return linear(s, s.keep(ag.reshape(o, xn.shape)), ctx.p(`${p}o_proj.weight`), bias('o_proj'));
}

/** SWA(x̂; window) of the module at `prefix` over x̂ [L, d] (normed). */
export function swaModule(ctx: TrainContext, s: Scope, xn: Tensor, prefix: string, window: number): Tensor {
  return attentionBlock(ctx, s, xn, {
    prefix,
    eps: ctx.config.rmsNormEps,
    theta: ctx.config.ropeTheta,
    attend: (q, k, v) => ag.swaAttention(q, k, v, { window, segment: ctx.packed?.segment }),
    positions: ctx.packed?.positions,
  });
}

/** One SWA decoder layer `p` over x [L, d] → a new tensor (intermediates disposed; x stays the caller's). */
export function swaLayer(ctx: TrainContext, x: Tensor, p: string): Tensor {
  const eps = ctx.config.rmsNormEps;
  const s = new Scope();
  const h1 = s.keep(ag.rmsNorm(x, ctx.p(`${p}input_layernorm.weight`), eps));
  const x1 = s.keep(ag.add(x, swaModule(ctx, s, h1, `${p}self_attn.`, ctx.stage.window)));
  const h2 = s.keep(ag.rmsNorm(x1, ctx.p(`${p}post_attention_layernorm.weight`), eps));
  const out = ag.add(x1, ffn(ctx, s, h2, p, 'mlp'));
  s.dispose();
  return out;
}

/** fn(...inputs), under ag.checkpoint when the context asks for it. */
export function maybeCheckpoint(ctx: TrainContext, fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[]): Tensor {
  return ctx.checkpoint ? ag.checkpoint(fn, inputs) : fn(...inputs);
}
