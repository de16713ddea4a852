/**
 * The SWA decoder layer (reference-model.md §3.3) and the SWA module it shares with the HSA layer
 * (§3.2): x + SWA(RMSNorm(x)), then x + MLP(RMSNorm(x)). x is [L, d]; token t sees keys t−W … t.
 */
import { ArgumentError, rmsNorm, swaAttention, swaAttentionDecode, type Tensor } from '@hsa/tensor';
import { addInto, attentionBlock, type DecodeHooks, type ForwardContext, ffn, Scope } from './common.js';

/** One token's q [1, Hq, dh], k, v [1, Hk, dh] against the module's ring buffers (updated in place) → [1, Hq, dh]. */
function decodeAttend(dec: DecodeHooks, prefix: string, window: number, q: Tensor, k: Tensor, v: Tensor): Tensor {
  if (q.shape[0] !== 1) throw new ArgumentError(`swaModule: decoding takes one token at a time, got ${q.shape[0]}`);
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
