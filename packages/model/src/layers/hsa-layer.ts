/**
 * The HSA layer of group g (reference-model.md §3.7): optional own SWA (hsa_only false), then a NoPE
 * query (q_proj, optional per-head q_norm; with hsa_rope, ours, then RoPE at the token's absolute
 * position, matching the rotated memory keys) attends inside each retrieved chunk of the shared memory,
 * the chunk outputs fused with the retrieval weights; o = o_proj(ctx). Default "bypass" wiring:
 * x + MLP(RMSNorm(x + o)); with reset_hsa_residual: x + o + MLP(RMSNorm(x + o)).
 */
import { add, hsaChunkAttention, rmsNorm, rope, type Tensor } from '@hsa/tensor';
import type { ChunkMemory } from './chunking-layer.js';
import { addInto, type ForwardContext, ffn, headNorm, linear, record, Scope } from './common.js';
import type { Retrieval } from './retrieval-layer.js';
import { swaModule } from './swa-layer.js';

const EPS = 1e-6;

/** x + SWA(RMSNorm(x; swa_prenorm)) with the layer's own attn.* and window W_h (or W); consumes x. */
function ownSwa(ctx: ForwardContext, x: Tensor, p: string): Tensor {
  const h = rmsNorm(x, ctx.weights.get(`${p}swa_prenorm.weight`), EPS);
  const a = swaModule(ctx, h, `${p}attn.`, ctx.config.hsaSlidingWindow ?? ctx.config.slidingWindow);
  h.dispose();
  return addInto(x, a);
}

/** o = o_proj(HSA context) [L, d], or null when no chunk exists yet (then o = 0). */
function hsaOutput(ctx: ForwardContext, x: Tensor, p: string, g: number, mem: ChunkMemory | null, r: Retrieval | null): Tensor | null {
  const c = ctx.config;
  const w = ctx.weights;
  const s = new Scope();
  const h = s.keep(rmsNorm(x, w.get(`${p}pre_norm.weight`), EPS));
  const qn = s.keep(headNorm(s.keep(linear(h, w.get(`${p}q_proj.weight`))), c.enableQkNorm ? w.get(`${p}q_norm.weight`) : null, c.heads, EPS));
  // hsa_rope: norm before RoPE, positions from the segment's first token (as the SWA query)
  const q = c.hsaRope ? s.keep(rope(qn, { theta: c.ropeTheta, positionOffset: ctx.decode?.pos ?? 0 })) : qn;
  record(ctx, `hsa${g}.q`, q);
  if (!mem || !r) {
    s.dispose();
    return null;
  }
  const hctx = s.keep(hsaChunkAttention(q, mem.memK, mem.memV, r.idx, r.w, { chunkSize: c.chunkSize, smN: c.enableSoftmax1 ? 1 : 0 }));
  record(ctx, `hsa${g}.context`, hctx);
  const o = linear(s.keep(hctx.reshape(x.shape)), w.get(`${p}o_proj.weight`));
  s.dispose();
  return o;
}

/** The HSA layer `p` of group g over x [L, d]; consumes x. */
export function hsaLayerForward(ctx: ForwardContext, x: Tensor, p: string, g: number, mem: ChunkMemory | null, r: Retrieval | null): Tensor {
  const c = ctx.config;
  if (!c.hsaOnly) x = ownSwa(ctx, x, p);
  if (c.skipHsa) return x;
  const o = hsaOutput(ctx, x, p, g, mem, r);
  const xo = o ? add(x, o) : x.reshape(x.shape);
  const u = rmsNorm(xo, ctx.weights.get(`${p}_mlp_norm.weight`), EPS);
  const m = ffn(ctx, u, p, '_mlp');
  u.dispose();
  o?.dispose();
  if (c.resetHsaResidual) {
    x.dispose();
    return addInto(xo, m);
  }
  xo.dispose();
  return addInto(x, m);
}
