/**
 * bench/attention-backward: the dense attention backward's v2 tiles at the training step's shape
 * (T 4096, 8 query and 8 KV heads, D 64, causal, f32): dq and dkv each timed alone for every tile of
 * TILES (the default first, then the portable table's), after each tile's dq / dk / dv are compared with v1's over the
 * whole tensors (relative 1e-4: f32 sums of up to 4K terms in different orders differ by ~1e-6, an
 * indexing error by O(1)). Tiles over 32 KiB of workgroup memory run where the device grants it
 * (the H200: 48 KiB). TFLOP/s count 2.5× the forward's FLOPs for dq + dkv. Then the chunk encoder's
 * blocks (512 × 64 tokens, 8 heads × 64, bidirectional): the default tiles against the portable table's;
 * and head size 128 (T 4096 causal, 32 query : 2 KV heads): the table's tiles and larger candidates.
 * v3 (dkv storing the score gradients, dq read back from them) at the chunk and training shapes: dkv
 * with the band and dq from it for each dq tile of V3_TILES, checked against v1 first, beside v2's
 * default dq + dkv timed in the same run; before them v3's dkv kernels (DKV_V4: v4 blocks, v2's) alone.
 *   node .device-kit/attention-backward.mjs [--quick] [--v3] [--order] [--json OUT.json]
 *   (--quick: T 256; --v3: v3's rows only; --order: v3's kernels head-major against tile-major)
 */
import {
  chunkEncoderAttentionForward,
  type DenseBackShapeV2,
  type DenseBackwardParams,
  type DqFromDsShape,
  denseAttentionDelta,
  denseAttentionDkv,
  denseAttentionDkvDs,
  denseAttentionDq,
  denseAttentionDqFromDs,
  denseAttentionLseDelta,
  denseDsBandElements,
  swaAttentionForward,
} from '@hsa/kernels';
import { Tensor, WebGpuBackend } from '@hsa/tensor';
import { argValue, BENCH_DAWN_FLAGS, gitCommit, relDiff, type Timing, timeGpu, writeJson } from './common.js';
import { heat, randomTensor } from './fill.js';

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

/** v3's dq-from-dS tiles [BR, KT, NR, G] (undefined: the table's). */
const V3_TILES: (DqFromDsShape | undefined)[] = [undefined, [64, 32, 4, 1], [128, 16, 8, 1], [64, 8, 4, 1], [128, 16, 4, 2], [64, 16, 2, 2]];
/** dq-from-dS with its next key tile prefetched, for each of V3_TILES */
const DQ_PREFETCH = [false, true];

type Row = { which: string; tile: DenseBackShapeV2 | 'default'; error: number[]; timing: Timing };

/** Forward (out, lse) and v1's gradients of `base`: the reference every variant is checked against. */
async function reference(be: WebGpuBackend, base: DenseBackwardParams, [q, k, v, dout]: Tensor[]) {
  const tq = base.segs * base.t;
  const [h, hk, d] = [base.hq, base.hk, base.d];
  const out = Tensor.empty(be, [tq, h, d]);
  const lse = Tensor.empty(be, [tq, h]);
  const delta = Tensor.empty(be, [tq, h]);
  const fa = [q.arg(), k.arg(), v.arg(), out.arg(), lse.arg()];
  if (base.mode === 'block') be.run(chunkEncoderAttentionForward, { n: base.segs, t: base.t, hq: h, hk, d }, fa);
  else be.run(swaAttentionForward, { t: tq, hq: h, hk, d, window: base.window }, fa);
  be.run(denseAttentionDelta, { n: tq * h, d }, [out.arg(), dout.arg(), delta.arg()]);
  const ins = [q, k, v, dout, lse, delta].map((x) => x.arg());
  const grads = () => [Tensor.empty(be, [tq, h, d]), Tensor.empty(be, [tq, hk, d]), Tensor.empty(be, [tq, hk, d])];
  const ref = grads();
  be.run(denseAttentionDq, { ...base, version: 'v1' }, [...ins, ref[0].arg()]);
  be.run(denseAttentionDkv, { ...base, version: 'v1' }, [...ins, ref[1].arg(), ref[2].arg()]);
  const want = await Promise.all(ref.map((x) => x.data()));
  for (const x of ref) x.dispose();
  return { out, lse, delta, ins, grads, want };
}

/** One step of two dispatches. */
const both = (a: () => void, b: () => void) => () => {
  a();
  b();
};

type V3Row = { tile: DqFromDsShape | 'default'; dqPrefetch: boolean; error: number[]; dkvDs: Timing; dqFromDs: Timing; pair: Timing };

/** v3's dkv kernels: v4 blocks with NR = 4 (the default for D ≤ 64) or 8 rows a thread, and v2's blocks (false). */
const DKV_V4: { dkvV4: 4 | 8 | false; dkvPrefetch?: boolean; dkvUnroll?: boolean; dkvConstRatio?: boolean }[] = [
  { dkvV4: 4, dkvPrefetch: false },
  { dkvV4: 4, dkvPrefetch: true },
  { dkvV4: 4, dkvPrefetch: true, dkvConstRatio: true },
  { dkvV4: 8, dkvPrefetch: false, dkvUnroll: false },
  { dkvV4: 8, dkvPrefetch: false, dkvUnroll: true },
  { dkvV4: 8, dkvPrefetch: false, dkvUnroll: true, dkvConstRatio: true },
  { dkvV4: 8, dkvPrefetch: false, dkvUnroll: false, dkvConstRatio: true },
  { dkvV4: false },
];

/**
 * v3 of `base`: dkv with the band, then dq from it for each of V3_TILES, dq / dk / dv checked against
 * v1 over the whole tensors first; v2's default dq + dkv timed beside (the pair as one timed step each).
 */
async function v3Rows(be: WebGpuBackend, base: DenseBackwardParams, tensors: Tensor[], quick: boolean) {
  const { out, lse, delta, ins, grads, want } = await reference(be, base, tensors);
  const [q, k, v, dout] = tensors;
  const ld = Tensor.empty(be, [2 * lse.size]);
  be.run(denseAttentionLseDelta, { n: lse.size, d: base.d }, [out.arg(), dout.arg(), lse.arg(), ld.arg()]);
  const ds = Tensor.empty(be, [denseDsBandElements(base)]);
  const g = grads();
  const p3: DenseBackwardParams = { ...base, version: 'v3' };
  const dkvDs = () => be.run(denseAttentionDkvDs, p3, [q, k, v, dout, ld, g[1], g[2], ds].map((x) => x.arg()));
  const [iters, reps] = quick ? [1, 3] : [10, 10];
  const dkvRows: { dkvV4: 4 | 8 | false; dkvPrefetch?: boolean; dkvUnroll?: boolean; dkvConstRatio?: boolean; error: number[]; dkvDs: Timing }[] = [];
  for (const { dkvV4, dkvPrefetch, dkvUnroll, dkvConstRatio } of DKV_V4) {
    const run = () => be.run(denseAttentionDkvDs, { ...p3, dkvV4, dkvPrefetch, dkvUnroll, dkvConstRatio }, [q, k, v, dout, ld, g[1], g[2], ds].map((x) => x.arg()));
    run();
    be.run(denseAttentionDqFromDs, p3, [ds.arg(), k.arg(), g[0].arg()]);
    const error = await Promise.all(g.map(async (x, i) => relDiff(await x.data(), want[i])));
    if (!error.every((e) => e <= 1e-4)) throw new Error(`${base.mode} v3 dkv v4 rows ${dkvV4}: differs from v1 by ${error}`);
    dkvRows.push({ dkvV4, dkvPrefetch, dkvUnroll, dkvConstRatio, error, dkvDs: await timeGpu(be, run, iters, reps) });
    console.error(`${base.mode} v3 dkv+ds ${dkvV4 ? `v4 blocks, ${dkvV4} rows${dkvPrefetch ? ', prefetch' : ''}${dkvUnroll ? ', unrolled' : ''}${dkvConstRatio ? ', constant ratio' : ''}` : 'v2 blocks'}: ${dkvRows[dkvRows.length - 1].dkvDs.medianMs.toFixed(3)} ms`);
  }
  const rows: V3Row[] = [];
  for (const [tile, dqPrefetch] of V3_TILES.flatMap((t) => DQ_PREFETCH.map((f) => [t, f] as const))) {
    const p = { ...p3, tileDqFromDs: tile, dqPrefetch };
    const dq = () => be.run(denseAttentionDqFromDs, p, [ds.arg(), k.arg(), g[0].arg()]);
    dkvDs();
    dq();
    const error = await Promise.all(g.map(async (x, i) => relDiff(await x.data(), want[i])));
    const name = `${tile?.join('×') ?? 'default'}${dqPrefetch ? ' prefetched' : ''}`;
    if (!error.every((e) => e <= 1e-4)) throw new Error(`${base.mode} v3 dq tile ${name}: differs from v1 by ${error}`);
    const row = { tile: tile ?? ('default' as const), dqPrefetch, error, dkvDs: await timeGpu(be, dkvDs, iters, reps), dqFromDs: await timeGpu(be, dq, iters, reps), pair: await timeGpu(be, both(dkvDs, dq), iters, reps) };
    rows.push(row);
    console.error(`${base.mode} v3 ${name}: dkv+ds ${row.dkvDs.medianMs.toFixed(3)} dq ${row.dqFromDs.medianMs.toFixed(3)} pair ${row.pair.medianMs.toFixed(3)} ms (error ${error.map((e) => e.toExponential(1)).join(', ')})`);
  }
  const v2 = { ...base, version: 'v2' as const };
  const v2Dq = () => be.run(denseAttentionDq, v2, [...ins, g[0].arg()]);
  const v2Pair = await timeGpu(be, both(v2Dq, () => be.run(denseAttentionDkv, v2, [...ins, g[1].arg(), g[2].arg()])), iters, reps);
  console.error(`${base.mode} v2 default dq + dkv: ${v2Pair.medianMs.toFixed(3)} ms`);
  for (const x of [out, lse, delta, ld, ds, ...g]) x.dispose();
  const dflt = rows[0].pair.medianMs;
  return { dkvRows, rows, v2PairMs: v2Pair.medianMs, v3PairMs: dflt, v2OverV3: v2Pair.medianMs / dflt, bandBytes: denseDsBandElements(base) * 4 };
}

/** dq and dkv of `base` for each tile, each checked against v1's over the whole tensors, then timed alone. */
async function sweep(be: WebGpuBackend, base: DenseBackwardParams, [q, k, v, dout]: Tensor[], tiles: typeof TILES, quick: boolean): Promise<Row[]> {
  const { out, lse, delta, ins, grads, want } = await reference(be, base, [q, k, v, dout]);
  const [iters, reps] = quick ? [1, 3] : [10, 10];
  const rows: Row[] = [];
  for (const which of ['dq', 'dkv'] as const) {
    for (const tile of tiles[which]) {
      const p: DenseBackwardParams = { ...base, version: 'v2', ...(tile ? { tileV2: { [which]: tile } } : {}) };
      const g = grads();
      const run = () => (which === 'dq' ? be.run(denseAttentionDq, p, [...ins, g[0].arg()]) : be.run(denseAttentionDkv, p, [...ins, g[1].arg(), g[2].arg()]));
      try {
        run();
      } catch (e) {
        console.error(`${base.mode} ${which} ${tile?.join('×')}: ${(e as Error).message}`);
        continue;
      }
      const idx = which === 'dq' ? [0] : [1, 2];
      const error = await Promise.all(idx.map(async (i) => relDiff(await g[i].data(), want[i])));
      if (!error.every((e) => e <= 1e-4)) throw new Error(`${base.mode} ${which} tile ${tile?.join('×') ?? 'default'}: differs from v1 by ${error}`);
      const timing = await timeGpu(be, run, iters, reps);
      rows.push({ which, tile: tile ?? 'default', error, timing });
      console.error(`${base.mode} ${which} ${tile?.join('×') ?? 'default'}: ${timing.medianMs.toFixed(3)} ms (error ${error.map((e) => e.toExponential(1)).join(', ')})`);
      for (const x of g) x.dispose();
    }
  }
  for (const x of [out, lse, delta]) x.dispose();
  return rows;
}

/** Default against the portable table's tiles (and the best of the sweep) from a sweep's rows. */
function summarize(rows: Row[], flop: number, portable: Record<'dq' | 'dkv', string> = PORTABLE) {
  const find = (w: string, t: string) => rows.find((r) => r.which === w && (r.tile === t || (Array.isArray(r.tile) && r.tile.join('×') === t))) as Row;
  const best = (w: string) => rows.filter((r) => r.which === w).sort((a, b) => a.timing.medianMs - b.timing.medianMs)[0];
  const ms = (w: (x: 'dq' | 'dkv') => Row) => w('dq').timing.medianMs + w('dkv').timing.medianMs;
  const [dflt, table] = [ms((w) => find(w, 'default')), ms((w) => find(w, portable[w]))];
  return { defaultMs: dflt, portableTableMs: table, portableOverDefault: table / dflt, bestMs: ms(best), best: { dq: best('dq').tile, dkv: best('dkv').tile }, tflopsDefault: flop / (dflt * 1e-3) / 1e12, tflopsTable: flop / (table * 1e-3) / 1e12 };
}

/**
 * `--order`: v3's dkv (with the band) and dq-from-band of `base` with their workgroups head-major and
 * tile-major (`tileMajor`), and tile-major with the dkv kernel's other row counts, prefetching and
 * phase B in halves (`dkvHalves`),
 * each checked against v1 first, then timed in turn over three rounds.
 */
async function orderRows(be: WebGpuBackend, base: DenseBackwardParams, tensors: Tensor[], quick: boolean) {
  const { out, lse, delta, grads, want } = await reference(be, base, tensors);
  const [q, k, v, dout] = tensors;
  const ld = Tensor.empty(be, [2 * lse.size]);
  be.run(denseAttentionLseDelta, { n: lse.size, d: base.d }, [out.arg(), dout.arg(), lse.arg(), ld.arg()]);
  const ds = Tensor.empty(be, [denseDsBandElements(base)]);
  const g = grads();
  const [iters, reps] = quick ? [1, 3] : [10, 10];
  const VARIANTS: Record<string, Partial<DenseBackwardParams>> = {
    'head-major': { tileMajor: false },
    'tile-major': { tileMajor: true },
    'tile-major, phase B not in halves (8 rows where many)': { tileMajor: true, dkvHalves: false },
    'tile-major, halves, 8 rows a thread': { tileMajor: true, dkvV4: 8 },
    'tile-major, halves, loops not unrolled': { tileMajor: true, dkvUnroll: false },
    'tile-major, halves, prefetched': { tileMajor: true, dkvPrefetch: true },
  };

  const kernels = (opts: Partial<DenseBackwardParams>) => {
    const p: DenseBackwardParams = { ...base, version: 'v3', ...opts };
    return {
      dkvDs: () => be.run(denseAttentionDkvDs, p, [q, k, v, dout, ld, g[1], g[2], ds].map((x) => x.arg())),
      dqFromDs: () => be.run(denseAttentionDqFromDs, p, [ds.arg(), k.arg(), g[0].arg()]),
    };
  };
  const times: Record<string, number[]> = {};
  for (const [vn, v] of Object.entries(VARIANTS)) {
    const r = kernels(v);
    for (const x of g) be.write(x.storage, new Float32Array(x.size).fill(Number.NaN));
    r.dkvDs();
    r.dqFromDs();
    const error = await Promise.all(g.map(async (x, i) => relDiff(await x.data(), want[i])));
    if (!error.every((e) => e <= 1e-4)) throw new Error(`${base.mode} v3 ${vn}: differs from v1 by ${error}`);
  }
  for (let round = 0; round < (quick ? 1 : 3); round++) {
    for (const [vn, v] of Object.entries(VARIANTS)) {
      const r = kernels(v);
      for (const [name, run] of Object.entries(r)) {
        const key = `${name} ${vn}`;
        (times[key] ??= []).push((await timeGpu(be, run, iters, reps)).medianMs);
      }
    }
  }
  for (const [key, t] of Object.entries(times)) console.error(`${base.mode} T ${base.t}: ${key} ${t.map((x) => x.toFixed(3)).join(' / ')} ms`);
  for (const x of [out, lse, delta, ld, ds, ...g]) x.dispose();
  return times;
}

async function main() {
  const be = await WebGpuBackend.create({ dawnFlags: BENCH_DAWN_FLAGS });
  const quick = process.argv.includes('--quick');
  // the H200 idles at a low clock: keep it busy first (bench/fill heat)
  await heat(be, quick ? 10 : 2000);
  // the chunk encoder's bidirectional 64-token blocks (bench/attention-forward's chunk case), first: timed
  // after the window sweeps its figures moved by up to 2× from run to run, alone they repeat
  const n = quick ? 8 : 512;
  const chunk = [5, 6, 7, 8].map((s) => randomTensor(be, [n * 64, 8, 64], s));
  const chunkP: DenseBackwardParams = { mode: 'block', segs: n, t: 64, hq: 8, hk: 8, d: 64, window: 0 };
  // the training step's causal attention
  const [t, h, d] = [quick ? 256 : 4096, 8, 64];
  const train = [1, 2, 3, 4].map((s) => randomTensor(be, [t, h, d], s));
  const trainP: DenseBackwardParams = { mode: 'window', segs: 1, t, hq: h, hk: h, d, window: t };
  if (process.argv.includes('--order')) {
    const order = { chunk: await orderRows(be, chunkP, chunk, quick), train: await orderRows(be, trainP, train, quick) };
    writeJson(argValue('--json'), { bench: 'attention-backward --order', commit: gitCommit(), adapter: be.report(), order });
    be.destroy();
    return;
  }
  // --v3: only v3's rows (its dkv kernels and dq tiles, v2's default pair beside), no v2 tile sweeps
  if (process.argv.includes('--v3')) {
    const v3 = { chunk: await v3Rows(be, chunkP, chunk, quick), train: await v3Rows(be, trainP, train, quick) };
    writeJson(argValue('--json'), { bench: 'attention-backward', commit: gitCommit(), adapter: be.report(), only: 'v3', v3 });
    be.destroy();
    return;
  }
  const chunkRows = await sweep(be, chunkP, chunk, { dq: [undefined, [32, 16, 2, 2, 2, 1]], dkv: [undefined, [16, 32, 2, 2, 2, 2]] }, quick);
  const chunkSummary = summarize(chunkRows, 2.5 * 4 * n * 64 * 64 * 8 * 64);
  const chunkV3 = await v3Rows(be, chunkP, chunk, quick);
  const rows = await sweep(be, trainP, train, TILES, quick);
  let keys = 0;
  for (let i = 0; i < t; i++) keys += i + 1;
  const flop = 2.5 * 4 * keys * h * d;
  const summary = summarize(rows, flop);
  const trainV3 = await v3Rows(be, trainP, train, quick);
  // head size 128 (the SWA prefill's heads, 32:2), 4096 tokens causal: the portable table's tiles and the large-memory candidates
  const [hq2, hk2, d2] = [32, 2, 128];
  const wide = [9, 10, 11, 12].map((s, i) => randomTensor(be, [t, i === 0 || i === 3 ? hq2 : hk2, d2], s));
  const wideTiles: typeof TILES = {
    dq: [undefined, [16, 8, 1, 1, 1, 2], [16, 16, 1, 2, 1, 2], [16, 16, 2, 1, 1, 2], [32, 8, 2, 1, 1, 4]],
    dkv: [undefined, [8, 16, 1, 1, 1, 4], [16, 16, 1, 2, 2, 2], [8, 32, 1, 2, 2, 4], [16, 16, 2, 1, 1, 4]],
  };
  const wideRows = await sweep(be, { mode: 'window', segs: 1, t, hq: hq2, hk: hk2, d: d2, window: t }, wide, wideTiles, quick);
  const wideSummary = summarize(wideRows, (2.5 * 4 * keys * hq2 * d2), { dq: '16×8×1×1×1×2', dkv: '8×16×1×1×1×4' });
  const v3 = { train: trainV3, chunk: chunkV3 };
  console.error(JSON.stringify({ summary, chunkSummary, wideSummary, v3: { train: trainV3.v2OverV3, chunk: chunkV3.v2OverV3 } }));
  writeJson(argValue('--json'), { bench: 'attention-backward', commit: gitCommit(), adapter: be.report(), shape: { t, h, d, causal: true }, flop, rows, summary, chunk: { n, t: 64, rows: chunkRows, summary: chunkSummary }, d128: { t, hq: hq2, hk: hk2, d: d2, rows: wideRows, summary: wideSummary }, v3 });
  be.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
