/**
 * The SWA decoder layer (reference-model.md §3.3) and the SWA module it shares with the HSA layer
 * (§3.2): x + SWA(RMSNorm(x)), then x + MLP(RMSNorm(x)). x is [L, d]; token t sees keys t−W … t.
 */
import { rmsNorm, swaAttention, type Tensor } from '@hsa/tensor';
import { addInto, attentionBlock, type ForwardContext, ffn } from './common.js';

/** SWA(x̂; window) of the module at `prefix` (`…self_attn.` or the HSA layer's `…attn.`), x̂ [L, d] normed. */
export function swaModule(ctx: ForwardContext, xn: Tensor, prefix: string, window: number): Tensor {
  return attentionBlock(ctx, xn, {
    prefix,
    eps: ctx.config.rmsNormEps,
    theta: ctx.config.ropeTheta,
    attend: (q, k, v) => swaAttention(q, k, v, { window }),
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
