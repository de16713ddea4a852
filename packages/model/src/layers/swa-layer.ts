/**
 * The SWA decoder layer (reference-model.md §3.3) and the SWA module it shares with the HSA layer
 * (§3.2): x + SWA(RMSNorm(x)), then x + MLP(RMSNorm(x)). x is [L, d]; token t sees keys t−W … t.
 */
import { concat, rmsNorm, sliceCopy, swaAttention, swaAttentionDecode, swaAttentionSegment, Tensor } from '@hsa/tensor';
import { addInto, attentionBlock, type DecodeHooks, type ForwardContext, ffn, Scope } from './common.js';

/** Rows [a, b) of t along axis 0 (a copy; null when empty). */
function rows(t: Tensor, a: number, b: number): Tensor | null {
  return b > a ? sliceCopy(t, 0, a, b) : null;
}

/** concat of the non-null parts along axis 0 (disposes them). */
function join(parts: (Tensor | null)[]): Tensor {
  const ts = parts.filter((t): t is Tensor => t !== null);
  const out = concat(ts, 0);
  for (const t of ts) t.dispose();
  return out;
}

/** The ring's keys of positions pos−h … pos−1 in order (h = min(pos, W)), or null when none. */
function history(ring: Tensor, pos: number): Tensor | null {
  const w = ring.shape[0];
  if (pos === 0 || w === 0) return null;
  if (pos < w) return rows(ring, 0, pos);
  const r = pos % w;
  return join([rows(ring, r, w), rows(ring, 0, r)]);
}

/** The ring [W, Hk, dh] after keys all [n, …] of positions end−n … end−1 (all of positions ≥ end−W present). */
function ringOf(all: Tensor, end: number, w: number): Tensor {
  const n = all.shape[0];
  if (end < w) return join([all.reshape(all.shape), Tensor.from(all.backend, new Float32Array((w - end) * all.size / n), [w - end, ...all.shape.slice(1)])]);
  const last = rows(all, n - w, n)!;
  const r = (end - w) % w;
  const out = join([rows(last, w - r, w), rows(last, 0, w - r)]);
  last.dispose();
  return out;
}

/** A segment q [T, Hq, dh], k, v [T, Hk, dh] at dec.pos against the module's ring buffers, which it then replaces. */
function segmentAttend(dec: DecodeHooks, prefix: string, window: number, q: Tensor, k: Tensor, v: Tensor): Tensor {
  const cache = dec.swaCache(prefix, window);
  const s = new Scope();
  const kAll = s.keep(join([history(cache.k, dec.pos), k.reshape(k.shape)]));
  const vAll = s.keep(join([history(cache.v, dec.pos), v.reshape(v.shape)]));
  // q holds the last T of the h + T positions: the history's query rows are not computed on the CPU
  const out = swaAttentionSegment(q, kAll, vAll, { window });
  if (window > 0) dec.setSwaCache(prefix, { k: ringOf(kAll, dec.pos + q.shape[0], window), v: ringOf(vAll, dec.pos + q.shape[0], window) });
  s.dispose();
  return out;
}

/** One token's q [1, Hq, dh], k, v [1, Hk, dh] against the module's ring buffers (updated in place) → [1, Hq, dh]. */
function decodeAttend(dec: DecodeHooks, prefix: string, window: number, q: Tensor, k: Tensor, v: Tensor): Tensor {
  if (q.shape[0] !== 1) return segmentAttend(dec, prefix, window, q, k, v);
  const cache = dec.swaCache(prefix, window);
  const s = new Scope();
  const drop = (t: Tensor) => s.keep(t.reshape(t.shape.slice(1)));
  const o = s.keep(swaAttentionDecode(drop(q), drop(k), drop(v), cache.k, cache.v, { pos: dec.pos }));
  const out = o.reshape([1, ...o.shape]);
  s.dispose();
  return out;
}

/**
 * SWA(x̂; window) of the module at `prefix` (`…self_attn.` or the HSA layer's `…attn.`), x̂ [L, d]
 * normed; when decoding (ctx.decode), one token at ctx.decode.pos against the module's ring buffers.
 */
export function swaModule(ctx: ForwardContext, xn: Tensor, prefix: string, window: number): Tensor {
  const dec = ctx.decode;
  return attentionBlock(ctx, xn, {
    prefix,
    eps: ctx.config.rmsNormEps,
    theta: ctx.config.ropeTheta,
    positionOffset: dec?.pos ?? 0,
    attend: (q, k, v) => (dec ? decodeAttend(dec, prefix, window, q, k, v) : swaAttention(q, k, v, { window })),
  });
}

/** One SWA decoder layer `backbone.layers.{i}.` over x [L, d]; consumes x. */
export function swaLayerForward(ctx: ForwardContext, x: Tensor, p: string): Tensor {
  const { rmsNormEps: eps, slidingWindow } = ctx.config;
  const w = ctx.weights;
  const h1 = rmsNorm(x, w.get(`${p}input_layernorm.weight`), eps);
  const a = swaModule(ctx, h1, `${p}self_attn.`, slidingWindow);
  h1.dispose();
  const x1 = addInto(x, a);
  const h2 = rmsNorm(x1, w.get(`${p}post_attention_layernorm.weight`), eps);
  const m = ffn(ctx, h2, p, 'mlp');
  h2.dispose();
  return addInto(x1, m);
}
