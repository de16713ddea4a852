/**
 * bench/attention-backward: the dense attention backward's v2 tiles at the training step's shape
 * (T 4096, 8 query and 8 KV heads, D 64, causal, f32): dq and dkv each timed alone for every tile of
 * TILES (the default first, then the portable table's), after each tile's dq / dk / dv are compared with v1's over the
 * whole tensors (relative 1e-4: f32 sums of up to 4K terms in different orders differ by ~1e-6, an
 * indexing error by O(1)). Tiles over 32 KiB of workgroup memory run where the device grants it
 * (the H200: 48 KiB). TFLOP/s count 2.5× the forward's FLOPs for dq + dkv.
 *   node .device-kit/attention-backward.mjs [--quick] [--json OUT.json]   (--quick: T 256)
 */
import { type DenseBackShapeV2, type DenseBackwardParams, denseAttentionDelta, denseAttentionDkv, denseAttentionDq, swaAttentionForward } from '@hsa/kernels';
import { Tensor, WebGpuBackend } from '@hsa/tensor';
import { argValue, gitCommit, relDiff, type Timing, timeGpu, writeJson } from './common.js';
import { randomTensor } from './fill.js';

/**
 * [BR, KT, R, C, N, G] (swaAttentionBackwardV2.wgsl.ts); undefined: the default (the large-memory
 * tile where the device grants it), then the portable table's, then other shapes of the sweep.
 */
const TILES: Record<'dq' | 'dkv', (DenseBackShapeV2 | undefined)[]> = {
  dq: [undefined, [32, 16, 2, 2, 2, 1], [32, 16, 4, 1, 2, 1], [16, 32, 1, 4, 1, 1], [32, 32, 4, 2, 2, 1], [32, 32, 1, 8, 1, 2], [32, 32, 2, 4, 1, 2], [16, 64, 1, 8, 1, 1], [64, 16, 4, 2, 2, 2]],
  dkv: [undefined, [16, 32, 2, 2, 2, 2], [32, 16, 2, 2, 2, 1], [16, 32, 1, 4, 4, 1], [32, 32, 4, 2, 2, 2], [64, 16, 4, 2, 2, 1], [16, 64, 2, 4, 4, 2]],
};
/** The portable table's tiles at D 64 (the default where workgroup memory is 32 KiB). */
const PORTABLE = { dq: '32×16×2×2×2×1', dkv: '16×32×2×2×2×2' };

async function main() {
  const be = await WebGpuBackend.create();
  const quick = process.argv.includes('--quick');
  const [t, h, d] = [quick ? 256 : 4096, 8, 64];
  const [q, k, v, dout] = [1, 2, 3, 4].map((s) => randomTensor(be, [t, h, d], s));
  const out = Tensor.empty(be, [t, h, d]);
  const lse = Tensor.empty(be, [t, h]);
  const delta = Tensor.empty(be, [t, h]);
  be.run(swaAttentionForward, { t, hq: h, hk: h, d, window: t }, [q.arg(), k.arg(), v.arg(), out.arg(), lse.arg()]);
  be.run(denseAttentionDelta, { n: t * h, d }, [out.arg(), dout.arg(), delta.arg()]);
  const ins = [q, k, v, dout, lse, delta].map((x) => x.arg());
  const base: DenseBackwardParams = { mode: 'window', segs: 1, t, hq: h, hk: h, d, window: t };
  const grads = () => [Tensor.empty(be, [t, h, d]), Tensor.empty(be, [t, h, d]), Tensor.empty(be, [t, h, d])];
  const ref = grads();
  be.run(denseAttentionDq, { ...base, version: 'v1' }, [...ins, ref[0].arg()]);
  be.run(denseAttentionDkv, { ...base, version: 'v1' }, [...ins, ref[1].arg(), ref[2].arg()]);
  const want = await Promise.all(ref.map((x) => x.data()));
  let keys = 0;
  for (let i = 0; i < t; i++) keys += i + 1;
  const flop = 2.5 * 4 * keys * h * d;
  const [iters, reps] = quick ? [1, 3] : [10, 10];
  const rows: { which: string; tile: DenseBackShapeV2 | 'default'; error: number[]; timing: Timing }[] = [];
  for (const which of ['dq', 'dkv'] as const) {
    for (const tile of TILES[which]) {
      const p: DenseBackwardParams = { ...base, version: 'v2', ...(tile ? { tileV2: { [which]: tile } } : {}) };
      const g = grads();
      const run = () => (which === 'dq' ? be.run(denseAttentionDq, p, [...ins, g[0].arg()]) : be.run(denseAttentionDkv, p, [...ins, g[1].arg(), g[2].arg()]));
      try {
        run();
      } catch (e) {
        console.error(`${which} ${tile?.join('×')}: ${(e as Error).message}`);
        continue;
      }
      const idx = which === 'dq' ? [0] : [1, 2];
      const error = await Promise.all(idx.map(async (i) => relDiff(await g[i].data(), want[i])));
      if (!error.every((e) => e <= 1e-4)) throw new Error(`${which} tile ${tile?.join('×') ?? 'default'}: differs from v1 by ${error}`);
      const timing = await timeGpu(be, run, iters, reps);
      rows.push({ which, tile: tile ?? 'default', error, timing });
      console.error(`${which} ${tile?.join('×') ?? 'default'}: ${(timing.medianMs).toFixed(3)} ms (error ${error.map((e) => e.toExponential(1)).join(', ')})`);
      for (const x of g) x.dispose();
    }
  }
  const best = (w: string) => rows.filter((r) => r.which === w).sort((a, b) => a.timing.medianMs - b.timing.medianMs)[0];
  const find = (w: string, t: string) => rows.find((r) => r.which === w && (r.tile === t || (Array.isArray(r.tile) && r.tile.join('×') === t))) as (typeof rows)[number];
  const table = (w: 'dq' | 'dkv') => find(w, PORTABLE[w]);
  const dflt = (w: 'dq' | 'dkv') => find(w, 'default');
  const sum = (a: (typeof rows)[number], b: (typeof rows)[number]) => a.timing.medianMs + b.timing.medianMs;
  const summary = {
    defaultMs: sum(dflt('dq'), dflt('dkv')),
    portableTableMs: sum(table('dq'), table('dkv')),
    portableOverDefault: sum(table('dq'), table('dkv')) / sum(dflt('dq'), dflt('dkv')),
    bestMs: sum(best('dq'), best('dkv')),
    best: { dq: best('dq').tile, dkv: best('dkv').tile },
    tflopsDefault: flop / (sum(dflt('dq'), dflt('dkv')) * 1e-3) / 1e12,
    tflopsTable: flop / (sum(table('dq'), table('dkv')) * 1e-3) / 1e12,
    tflopsBest: flop / (sum(best('dq'), best('dkv')) * 1e-3) / 1e12,
  };
  console.error(JSON.stringify(summary));
  writeJson(argValue('--json'), { bench: 'attention-backward', commit: gitCommit(), adapter: be.report(), shape: { t, h, d, causal: true }, flop, rows, summary });
  be.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
