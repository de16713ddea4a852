/**
 * The chunking layer, differentiable (reference-model.md §3.5; the ag.* twin of
 * ../layers/chunking-layer.ts): H_low [L, d] as C chunks (+ the learned CLS row at position S), the
 * bidirectional encoder with chunk-local RoPE, landmarks from lmk_ln of the CLS output (or of the
 * token mean), K_mem / V_mem from proj_k / proj_v of the token outputs (with hsa_rope, K_mem rotated
 * by the absolute position, ag.rope from 0: the sequence starts at 0). Any length L works: the
 * ⌊L/S⌋ complete chunks are encoded (the reference's training path asserts L = C·S, D9).
 */
import { ag, type Tensor } from '@hsa/tensor';
import { attentionBlock, headNorm, linear, maybeCheckpoint, mlp, Scope, sequencePositions, type TrainContext } from './modules.js';

/** The shared chunk memory of C chunks (tracked tensors, owned by the forward's scope). */
export interface TrainMemory {
  chunks: number;
  /** [C·S, Hk, dh] */
  memK: Tensor;
  /** [C·S, Hk, dh] */
  memV: Tensor;
  /** [C, Hr, dr] */
  landmarks: Tensor;
}

const EPS = 1e-6;

/** One encoder layer over E [C, T, d] (pre-norm, bidirectional, eps 1e-6) → a new tensor. */
function encoderLayer(ctx: TrainContext, e: Tensor, p: string): Tensor {
  const s = new Scope();
  const h1 = s.keep(ag.rmsNorm(e, ctx.p(`${p}input_layernorm.weight`), EPS));
  const a = attentionBlock(ctx, s, h1, { prefix: `${p}self_attn.`, eps: EPS, theta: 10_000, attend: (q, k, v) => ag.chunkEncoderAttention(q, k, v) });
  const e1 = s.keep(ag.add(e, a));
  const h2 = s.keep(ag.rmsNorm(e1, ctx.p(`${p}post_attention_layernorm.weight`), EPS));
  const out = ag.add(e1, mlp(ctx, s, h2, `${p}mlp.`)); // the encoder's MLP is always dense
  s.dispose();
  return out;
}

/** X [C, S(+1), d] → the encoder output E (or RMSNorm(X; norm) without an encoder). */
function encode(ctx: TrainContext, s: Scope, x: Tensor, p: string): Tensor {
  const c = ctx.config;
  if (c.encoderLayers === 0) return s.keep(ag.rmsNorm(x, ctx.p(`${p}norm.weight`), EPS));
  let e = c.encPrenorm ? s.keep(ag.rmsNorm(x, ctx.p(`${p}enc_prenorm.weight`), EPS)) : x;
  for (let j = 0; j < c.encoderLayers; j++) {
    const lp = `${p}encoder.layers.${j}.`;
    e = s.keep(maybeCheckpoint(ctx, (h) => encoderLayer(ctx, h, lp), [e]));
  }
  return s.keep(ag.rmsNorm(e, ctx.p(`${p}encoder.norm.weight`), EPS));
}

/** The first C·S rows of H_low [L, d] as X [C, S(+1), d], the CLS row appended when enable_enc_cls. */
function chunkInput(ctx: TrainContext, s: Scope, hLow: Tensor, chunks: number, p: string): Tensor {
  const { chunkSize: S, hidden: d } = ctx.config;
  const tokens = s.keep(ag.slice(hLow, 0, 0, chunks * S));
  const x = s.keep(ag.reshape(tokens, [chunks, S, d]));
  if (!ctx.config.enableEncCls) return x;
  const clsRows = s.keep(ag.concat(Array<Tensor>(chunks).fill(ctx.p(`${p}cls_emb`)), 0));
  return s.keep(ag.concat([x, clsRows], 1));
}

/** Builds the chunk memory from H_low [L, d] (layer prefix p) of its ⌊L/S⌋ complete chunks; null when none. */
export function chunkingForward(ctx: TrainContext, s: Scope, hLow: Tensor, p: string): TrainMemory | null {
  const c = ctx.config;
  const S = c.chunkSize;
  const chunks = Math.floor(hLow.shape[0] / S);
  if (chunks === 0) return null;
  const e = encode(ctx, s, chunkInput(ctx, s, hLow, chunks, p), p);
  const src = c.enableEncCls ? s.keep(ag.slice(e, 1, S, S + 1)) : s.keep(ag.mean(e, 1, { keepDims: true }));
  const lmk = linear(s, s.keep(ag.reshape(src, [chunks, c.hidden])), ctx.p(`${p}lmk_ln.weight`));
  const landmarks = s.keep(ag.reshape(lmk, [chunks, c.retrievalHeads, c.retrievalHeadDim]));
  const tok = c.enableEncCls ? s.keep(ag.slice(e, 1, 0, S)) : e;
  const tokFlat = s.keep(ag.reshape(tok, [chunks * S, c.hidden]));
  const kNorm = c.enableQkNorm ? ctx.p(`${p}k_rmsnorm.weight`) : null;
  const kn = headNorm(s, linear(s, tokFlat, ctx.p(`${p}proj_k.weight`)), kNorm, c.kvHeads, EPS);
  const memK = c.hsaRope ? s.keep(ag.rope(kn, sequencePositions(ctx, c.ropeTheta))) : kn;
  const memV = headNorm(s, linear(s, tokFlat, ctx.p(`${p}proj_v.weight`)), null, c.kvHeads, 0);
  return { chunks, memK, memV, landmarks };
}
