/** The layout of the attention benchmarks (bench/attention.ts, bench/attention-train.ts) and a readback helper. */
import type { Tensor } from '@hsa/tensor';

/** 32 query heads, 2 KV heads = 2 retrieval heads, head size 128, retrieval dim 64, S = 64, k = 16 */
export const [HQ, HK, D, DR, S, K] = [32, 2, 128, 64, 64, 16];
export const RET = { chunkSize: S, topk: K, mode: 'softmax' as const, hk: HK };

export async function f64(t: Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.data());
}
