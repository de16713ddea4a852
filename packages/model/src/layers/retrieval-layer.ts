/**
 * The retrieval layer of group g (reference-model.md §3.6): the retrieval query
 * qr = ln(RMSNorm(x; pre_norm)) scores the landmarks of the completed chunks, then top-k with the
 * reference's slot rules and the fusion weights (softmax or stick-breaking) — all in hsaRetrieval.
 * The hidden state passes through unchanged.
 */
import { hsaRetrieval, rmsNorm, type Tensor } from '@hsa/tensor';
import type { ChunkMemory } from './chunking-layer.js';
import { type ForwardContext, headNorm, linear, record, Scope } from './common.js';

/** Chunks chosen per token and KV head: idx (i32, most recent first, invalid slots 0) and weights, [L, Hk, k_eff]. */
export interface Retrieval {
  idx: Tensor;
  w: Tensor;
}

const EPS = 1e-6;

/** Retrieval for x [L, d] against the memory (layer prefix p, group g). */
export function retrievalForward(ctx: ForwardContext, x: Tensor, mem: ChunkMemory, p: string, g: number): Retrieval {
  const c = ctx.config;
  const w = ctx.weights;
  const s = new Scope();
  const h = s.keep(rmsNorm(x, w.get(`${p}pre_norm.weight`), EPS));
  const lmkNorm = (n: string) => (c.enableLmkNorm ? w.get(`${p}${n}.weight`) : null);
  const qr = s.keep(headNorm(s.keep(linear(h, w.get(`${p}ln.weight`))), lmkNorm('lmk_q_norm'), c.retrievalHeads, EPS));
  // one lmk_k_norm per group on the raw landmarks (the cached path; reference-model.md D3)
  const lmkFlat = s.keep(mem.landmarks.reshape([mem.chunks, c.retrievalDim]));
  const lmk = s.keep(headNorm(lmkFlat, lmkNorm('lmk_k_norm'), c.retrievalHeads, EPS));
  const r = hsaRetrieval(qr, lmk, {
    chunkSize: c.chunkSize,
    topk: c.chunkTopk,
    mode: c.enableSoftmax ? 'softmax' : 'stickBreaking',
    hk: c.kvHeads,
    posOffset: ctx.decode?.pos ?? 0,
    posDecay: c.enablePosDecay ? w.scalars.get(`${p}pos_decay`) : undefined,
    maskWindow: c.maskSlideWindow ? Math.max(c.slideWindow, c.slidingWindow) : undefined,
  });
  s.dispose();
  r.sel.dispose();
  record(ctx, `retrieval${g}.indices`, r.idx);
  record(ctx, `retrieval${g}.weights`, r.w);
  return { idx: r.idx, w: r.w };
}
