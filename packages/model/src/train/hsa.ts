/**
 * The retrieval layer and the HSA layer, differentiable (reference-model.md §3.6–3.7; the ag.* twins
 * of ../layers/retrieval-layer.ts and ../layers/hsa-layer.ts). The loss reaches the retrieval query
 * and the landmarks through the fusion weights; the top-k choice itself gets no gradient. pos_decay
 * enters as a host number, so it gets none either (it stays at its loaded or initial value).
 */
import { ag, type Tensor } from '@hsa/tensor';
import type { TrainMemory } from './chunking.js';
import { ffn, headNorm, linear, maybeCheckpoint, Scope, sequencePositions, swaModule, type TrainContext } from './modules.js';

/** Chunks chosen per token and KV head: idx (i32, untracked) and the fusion weights w (tracked), [L, Hk, k_eff]. */
export interface TrainRetrieval {
  idx: Tensor;
  w: Tensor;
}

const EPS = 1e-6;

/** Retrieval of group g's layer `p` for x [L, d] against the memory; idx and w go into the scope. */
export function retrievalForward(ctx: TrainContext, s: Scope, x: Tensor, mem: TrainMemory, p: string): TrainRetrieval {
  const c = ctx.config;
  const h = s.keep(ag.rmsNorm(x, ctx.p(`${p}pre_norm.weight`), EPS));
  const lmkNorm = (n: string) => (c.enableLmkNorm ? ctx.p(`${p}${n}.weight`) : null);
  const qr = headNorm(s, linear(s, h, ctx.p(`${p}ln.weight`)), lmkNorm('lmk_q_norm'), c.retrievalHeads, EPS);
  // one lmk_k_norm per group on the raw landmarks (the cached path; reference-model.md D3)
  const lmkFlat = s.keep(ag.reshape(mem.landmarks, [mem.chunks, c.retrievalDim]));
  const lmk = headNorm(s, lmkFlat, lmkNorm('lmk_k_norm'), c.retrievalHeads, EPS);
  const r = ag.hsaRetrieval(qr, lmk, {
    chunkSize: c.chunkSize,
    // packed: a token's own sequence holds at most segment / S chunks
    topk: Math.min(ctx.stage.topk, ctx.packed ? ctx.packed.segment / c.chunkSize : mem.chunks),
    mode: c.enableSoftmax ? 'softmax' : 'stickBreaking',
    hk: c.kvHeads,
    posDecay: c.enablePosDecay ? ctx.scalar(`${p}pos_decay`) : undefined,
    maskWindow: ctx.stage.maskWindow,
    segment: ctx.packed?.segment,
  });
  r.sel.dispose();
  return { idx: s.keep(r.idx), w: s.keep(r.w) };
}

/** o = o_proj(HSA context) [L, d] of x (after the layer's own SWA). */
function hsaOutput(ctx: TrainContext, s: Scope, x: Tensor, p: string, k: Tensor, v: Tensor, w: Tensor, idx: Tensor): Tensor {
  const c = ctx.config;
  const h = s.keep(ag.rmsNorm(x, ctx.p(`${p}pre_norm.weight`), EPS));
  const qn = headNorm(s, linear(s, h, ctx.p(`${p}q_proj.weight`)), c.enableQkNorm ? ctx.p(`${p}q_norm.weight`) : null, c.heads, EPS);
  // hsa_rope: RoPE after q_norm at the absolute positions 0 … L−1 (the memory keys carry theirs)
  const q = c.hsaRope ? s.keep(ag.rope(qn, sequencePositions(ctx, c.ropeTheta))) : qn;
  const hctx = s.keep(ag.hsaChunkAttention(q, k, v, idx, w, { chunkSize: c.chunkSize, smN: c.enableSoftmax1 ? 1 : 0 }));
  return linear(s, s.keep(ag.reshape(hctx, x.shape)), ctx.p(`${p}o_proj.weight`));
}

/**
 * The HSA layer `p` over x [L, d] with the memory tensors k, v and the retrieval w, idx (absent
 * before the first complete chunk: then o = 0) → a new tensor.
 */
function hsaBlock(ctx: TrainContext, p: string, x: Tensor, k?: Tensor, v?: Tensor, w?: Tensor, idx?: Tensor): Tensor {
  const c = ctx.config;
  const s = new Scope();
  if (!c.hsaOnly) {
    const hn = s.keep(ag.rmsNorm(x, ctx.p(`${p}swa_prenorm.weight`), EPS));
    x = s.keep(ag.add(x, swaModule(ctx, s, hn, `${p}attn.`, ctx.stage.hsaWindow)));
  }
  if (c.skipHsa) {
    const out = ag.reshape(x, x.shape);
    s.dispose();
    return out;
  }
  const o = k && v && w && idx ? hsaOutput(ctx, s, x, p, k, v, w, idx) : null;
  const xo = o ? s.keep(ag.add(x, o)) : x;
  const u = s.keep(ag.rmsNorm(xo, ctx.p(`${p}_mlp_norm.weight`), EPS));
  const out = ag.add(c.resetHsaResidual ? xo : x, ffn(ctx, s, u, p, '_mlp'));
  s.dispose();
  return out;
}

/** The HSA layer `p` (checkpointed with its memory and retrieval inputs when asked) → a new tensor. */
export function hsaLayerForward(ctx: TrainContext, x: Tensor, p: string, mem: TrainMemory | null, r: TrainRetrieval | null): Tensor {
  if (!mem || !r) return maybeCheckpoint(ctx, (h) => hsaBlock(ctx, p, h), [x]);
  return maybeCheckpoint(ctx, (h, k, v, w, idx) => hsaBlock(ctx, p, h, k, v, w, idx), [x, mem.memK, mem.memV, r.w, r.idx]);
}
