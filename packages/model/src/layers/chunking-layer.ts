/**
 * The chunking layer (reference-model.md §3.5): runs once on the lower decoder's output H_low and
 * builds the memory all HSA layers share. Each completed chunk (plus a learned CLS at position S)
 * goes through a small bidirectional encoder with chunk-local RoPE (θ = 10000, positions 0..S);
 * the landmark is lmk_ln of the CLS output (or of the mean token output), K_mem / V_mem are
 * proj_k / proj_v of the token outputs (K optionally per-head RMSNormed), with no RoPE — unless
 * hsa_rope (ours): then K_mem of the token at absolute position a is rotated by a (rope_theta), once
 * here, so every store holds rotated keys.
 */
import { chunkEncoderAttention, concat, mean, rmsNorm, rope, sliceCopy, type Tensor } from '@hsa/tensor';
import type { HostChunkStore } from '../host-store.js';
import { addInto, attentionBlock, denseMlp, type ForwardContext, headNorm, linear, record, Scope } from './common.js';

/** The shared chunk memory of C completed chunks. */
export interface ChunkMemory {
  chunks: number;
  /** [C·S, Hk, dh], or chunk-contiguous parts of it (a decoding state's blocks) */
  memK: Tensor | Tensor[];
  /** [C·S, Hk, dh] (or parts, like memK) */
  memV: Tensor | Tensor[];
  /** [C, Hr, dr] */
  landmarks: Tensor;
  /** set when K/V live in host memory: HSA layers resolve their selected chunks through it (memK/memV empty) */
  host?: HostChunkStore;
}

const EPS = 1e-6;

/** One encoder layer over E [C, T, d] (pre-norm, bidirectional, eps 1e-6); consumes E. */
function encoderLayer(ctx: ForwardContext, e: Tensor, p: string): Tensor {
  const w = ctx.weights;
  const h1 = rmsNorm(e, w.get(`${p}input_layernorm.weight`), EPS);
  const a = attentionBlock(ctx, h1, { prefix: `${p}self_attn.`, eps: EPS, theta: 10_000, attend: (q, k, v) => chunkEncoderAttention(q, k, v) });
  h1.dispose();
  const e1 = addInto(e, a);
  const h2 = rmsNorm(e1, w.get(`${p}post_attention_layernorm.weight`), EPS);
  const m = denseMlp(w, h2, `${p}mlp.`); // the encoder's MLP is always dense (hsa-spec.md §4)
  h2.dispose();
  return addInto(e1, m);
}

/** X [C, S(+1), d] → the encoder output E (or RMSNorm(X; norm) without an encoder). */
function encode(ctx: ForwardContext, x: Tensor, p: string): Tensor {
  const c = ctx.config;
  const w = ctx.weights;
  if (c.encoderLayers === 0) return rmsNorm(x, w.get(`${p}norm.weight`), EPS);
  let e = c.encPrenorm ? rmsNorm(x, w.get(`${p}enc_prenorm.weight`), EPS) : x.reshape(x.shape);
  for (let j = 0; j < c.encoderLayers; j++) e = encoderLayer(ctx, e, `${p}encoder.layers.${j}.`);
  const out = rmsNorm(e, w.get(`${p}encoder.norm.weight`), EPS);
  e.dispose();
  return out;
}

/** Chunks of H_low [L, d] as X [C, S(+1), d], with the CLS row appended when enable_enc_cls. */
function chunkInput(ctx: ForwardContext, hLow: Tensor, chunks: number, p: string, s: Scope): Tensor {
  const { chunkSize: S, hidden: d } = ctx.config;
  const tokens = s.keep(sliceCopy(hLow, 0, 0, chunks * S));
  const x = s.keep(tokens.reshape([chunks, S, d]));
  if (!ctx.config.enableEncCls) return x;
  const cls = ctx.weights.get(`${p}cls_emb`);
  return s.keep(concat([x, s.keep(cls.expand([chunks, 1, d]))], 1));
}

/** hsa_rope: K_mem [C·S, Hk, dh] rotated by the absolute positions start … start + C·S − 1; consumes k. */
function memKeyRope(ctx: ForwardContext, k: Tensor, start: number): Tensor {
  if (!ctx.config.hsaRope) return k;
  const r = rope(k, { theta: ctx.config.ropeTheta, positionOffset: start });
  k.dispose();
  return r;
}

/**
 * Builds the chunk memory from H_low [L, d] (layer prefix p) whose row 0 is the token at absolute
 * position `start` (a multiple of S; it places the keys under hsa_rope); null when no chunk is complete.
 */
export function chunkingForward(ctx: ForwardContext, hLow: Tensor, p: string, start = 0): ChunkMemory | null {
  const c = ctx.config;
  const w = ctx.weights;
  const S = c.chunkSize;
  const chunks = Math.floor(hLow.shape[0] / S);
  if (chunks === 0) return null;
  const s = new Scope();
  const e = s.keep(encode(ctx, chunkInput(ctx, hLow, chunks, p, s), p));
  record(ctx, 'chunk.encoder_out', e);
  const src = c.enableEncCls ? s.keep(sliceCopy(e, 1, S, S + 1)) : s.keep(mean(s.keep(e.slice(1, 0, S)), 1, { keepDims: true }));
  const srcFlat = s.keep(src.reshape([chunks, c.hidden]));
  const lmk = s.keep(linear(srcFlat, w.get(`${p}lmk_ln.weight`)));
  const landmarks = lmk.reshape([chunks, c.retrievalHeads, c.retrievalHeadDim]);
  const tok = s.keep(c.enableEncCls ? sliceCopy(e, 1, 0, S) : e.reshape(e.shape));
  const tokFlat = s.keep(tok.reshape([chunks * S, c.hidden]));
  const kNorm = c.enableQkNorm ? w.get(`${p}k_rmsnorm.weight`) : null;
  const memK = memKeyRope(ctx, headNorm(s.keep(linear(tokFlat, w.get(`${p}proj_k.weight`))), kNorm, c.kvHeads, EPS), start);
  const memV = headNorm(s.keep(linear(tokFlat, w.get(`${p}proj_v.weight`))), null, c.kvHeads, 0);
  s.dispose();
  for (const [name, t] of [['chunk.landmarks', landmarks], ['chunk.mem_k', memK], ['chunk.mem_v', memV]] as const) record(ctx, name, t);
  return { chunks, memK, memV, landmarks };
}

/** Releases the memory's tensors. */
export function disposeMemory(m: ChunkMemory | null): void {
  if (m) for (const t of [m.memK, m.memV, m.landmarks].flat()) t.dispose();
}
