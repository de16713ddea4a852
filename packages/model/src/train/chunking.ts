/**
 * The chunking layer, differentiable (reference-model.md §3.5; the ag.* twin of
 * ../layers/chunking-layer.ts): H_low [L, d] as C chunks (+ the learned CLS row at position S), the
 * bidirectional encoder with chunk-local RoPE, landmarks from lmk_ln of the CLS output (or of the
 * token mean), K_mem / V_mem from proj_k / proj_v of the token outputs. The training path needs
 * L = C·S, as the reference's (D9). Appending and dropping the CLS row are 0/1 matmuls
 * (TrainConstants), exact in f32, since the tape has no concat or row slice.
 */
import { ag, ShapeError, type Tensor } from '@hsa/tensor';
import { attentionBlock, linear, maybeCheckpoint, mlp, Scope, type TrainContext, headNorm } from './modules.js';

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

/** y [C, rows, d] → y with its rows moved by sel [rows, rows'] : [C, rows', d] (a strided view). */
function moveRows(s: Scope, y: Tensor, sel: Tensor): Tensor {
  const t = s.keep(ag.permute(y, [0, 2, 1]));
  return s.keep(ag.permute(s.keep(ag.matmul(t, sel)), [0, 2, 1]));
}

/** H_low [C·S, d] as X [C, S(+1), d], the CLS row appended when enable_enc_cls. */
function chunkInput(ctx: TrainContext, s: Scope, hLow: Tensor, chunks: number, p: string): Tensor {
  const { chunkSize: S, hidden: d } = ctx.config;
  const x = s.keep(ag.reshape(hLow, [chunks, S, d]));
  if (!ctx.config.enableEncCls) return x;
  const cls = s.keep(ag.mul(ctx.constants.cls, s.keep(ag.reshape(ctx.p(`${p}cls_emb`), [1, d]))));
  return s.keep(ag.add(moveRows(s, x, ctx.constants.pad), cls));
}

/** Builds the chunk memory from H_low [L, d] (layer prefix p); null when L < S. */
export function chunkingForward(ctx: TrainContext, s: Scope, hLow: Tensor, p: string): TrainMemory | null {
  const c = ctx.config;
  const S = c.chunkSize;
  const L = hLow.shape[0];
  if (L % S !== 0) {
    throw new ShapeError(`training forward: the length ${L} must be a multiple of chunk_size = ${S} (as the reference's training path); pad it with ignored targets`);
  }
  const chunks = L / S;
  if (chunks === 0) return null;
  const e = encode(ctx, s, chunkInput(ctx, s, hLow, chunks, p), p);
  const src = c.enableEncCls ? moveRows(s, e, ctx.constants.cls) : s.keep(ag.mean(e, 1, { keepDims: true }));
  const lmk = linear(s, s.keep(ag.reshape(src, [chunks, c.hidden])), ctx.p(`${p}lmk_ln.weight`));
  const landmarks = s.keep(ag.reshape(lmk, [chunks, c.retrievalHeads, c.retrievalHeadDim]));
  const tok = c.enableEncCls ? moveRows(s, e, ctx.constants.tokens) : e;
  const tokFlat = s.keep(ag.reshape(tok, [chunks * S, c.hidden]));
  const kNorm = c.enableQkNorm ? ctx.p(`${p}k_rmsnorm.weight`) : null;
  const memK = headNorm(s, linear(s, tokFlat, ctx.p(`${p}proj_k.weight`)), kNorm, c.kvHeads, EPS);
  const memV = headNorm(s, linear(s, tokFlat, ctx.p(`${p}proj_v.weight`)), null, c.kvHeads, 0);
  return { chunks, memK, memV, landmarks };
}
