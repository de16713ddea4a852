/**
 * bench/attention-forward: the dense attention forward kernels v1, v2, v3 in the same run
 * (packages/kernels/src/attention/swaAttention.ts lists the versions), f32, batch 1:
 *   train:   T 4096, 8 query heads, 8 KV heads, D 64, causal (window ≥ T): the training step's shape
 *   prefill: T 32K, 32 query heads, 2 KV heads, D 128, window 4K: bench/attention's SWA case
 *   chunk:   512 chunks of 64 tokens, 8 heads, D 64, bidirectional per chunk (chunk encoder)
 * Before timing, v2's and v3's out and lse are compared with v1's over the whole tensors, and all
 * three with the float64 reference on sampled rows. Timing: GPU timestamps around `iters` dispatches in one
 * submission, median of the repetitions (bench/common.ts).
 *   node .device-kit/attention-forward.mjs [--quick] [--json OUT.json]   (--quick: small shapes)
 * bench/attention-forward.sh runs it and then bench/attention_forward_torch.py (PyTorch SDPA).
 */
import { chunkEncoderAttentionForward, type DenseVersion, swaAttentionForward, swaAttentionForwardRef } from '@hsa/kernels';
import { Tensor, WebGpuBackend } from '@hsa/tensor';
import { argValue, gitCommit, type Timing, timeGpu, writeJson } from './common.js';
import { randomTensor } from './fill.js';

interface Case {
  name: string;
  /** chunks (block mode) or 0 (window mode) */
  n: number;
  t: number;
  hq: number;
  hk: number;
  d: number;
  window: number;
}

const FULL: Case[] = [
  { name: 'train', n: 0, t: 4096, hq: 8, hk: 8, d: 64, window: 4096 },
  { name: 'prefill', n: 0, t: 1 << 15, hq: 32, hk: 2, d: 128, window: 4096 },
  { name: 'chunk', n: 512, t: 64, hq: 8, hk: 8, d: 64, window: 0 },
];
const QUICK: Case[] = [
  { name: 'train', n: 0, t: 256, hq: 8, hk: 8, d: 64, window: 256 },
  { name: 'prefill', n: 0, t: 512, hq: 32, hk: 2, d: 128, window: 128 },
  { name: 'chunk', n: 8, t: 64, hq: 8, hk: 8, d: 64, window: 0 },
];

/** Multiply-adds ×2 of S = QKᵀ and O = PV over the visible keys. */
function flops(c: Case): number {
  if (c.n > 0) return 4 * c.n * c.t * c.t * c.hq * c.d;
  let keys = 0;
  for (let t = 0; t < c.t; t++) keys += Math.min(t, c.window) + 1;
  return 4 * keys * c.hq * c.d;
}

/** Largest |a − b| (equal infinities count 0, a NaN on one side ∞). */
function maxDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] === b[i] ? 0 : Math.abs(a[i] - b[i]);
    worst = Math.max(worst, Number.isNaN(d) ? Number.POSITIVE_INFINITY : d);
  }
  return worst;
}

/** Largest |got − ref| over sampled query rows (the float64 reference over the rows' key range). */
function refError(c: Case, [q, k, v]: Float32Array[], out: Float32Array): number {
  const rows = c.n > 0 ? [0, c.t - 1, (c.n - 1) * c.t + 5] : [0, 1000 % c.t, c.t - 1];
  let worst = 0;
  for (const t of rows) {
    const lo = c.n > 0 ? Math.floor(t / c.t) * c.t : Math.max(0, t - c.window);
    const n = c.n > 0 ? c.t : t - lo + 1;
    const span = (a: Float32Array, h: number) => Float64Array.from(a.subarray(lo * h * c.d, (lo + n) * h * c.d));
    const want = new Float64Array(n * c.hq * c.d);
    const ins = [span(q, c.hq), span(k, c.hk), span(v, c.hk), want, new Float64Array(n * c.hq)];
    if (c.n > 0) chunkEncoderAttentionForward.ref(ins, { n: 1, t: c.t, hq: c.hq, hk: c.hk, d: c.d });
    else swaAttentionForwardRef(ins, { t: n, hq: c.hq, hk: c.hk, d: c.d, window: c.window });
    const r = t - lo;
    for (let i = 0; i < c.hq * c.d; i++) worst = Math.max(worst, Math.abs(want[r * c.hq * c.d + i] - out[t * c.hq * c.d + i]));
  }
  return worst;
}

async function runCase(be: WebGpuBackend, c: Case, quick: boolean) {
  const tq = c.n > 0 ? c.n * c.t : c.t;
  const [q, k, v] = [randomTensor(be, [tq, c.hq, c.d], 1), randomTensor(be, [tq, c.hk, c.d], 2), randomTensor(be, [tq, c.hk, c.d], 3)];
  const versions = ['v1', 'v2', 'v3'] as const;
  const outs = versions.map(() => ({ out: Tensor.empty(be, [tq, c.hq, c.d], 'f32'), lse: Tensor.empty(be, [tq, c.hq], 'f32') }));
  const dispatch = (version: DenseVersion, i: number) => {
    const args = [q.arg(), k.arg(), v.arg(), outs[i].out.arg(), outs[i].lse.arg()];
    if (c.n > 0) be.run(chunkEncoderAttentionForward, { n: c.n, t: c.t, hq: c.hq, hk: c.hk, d: c.d, version }, args);
    else be.run(swaAttentionForward, { t: c.t, hq: c.hq, hk: c.hk, d: c.d, window: c.window, version }, args);
  };
  versions.forEach(dispatch);
  const read = (t: Tensor) => t.data() as Promise<Float32Array>;
  const [qh, kh, vh] = await Promise.all([q, k, v].map(read));
  const res = await Promise.all(outs.map(async (o) => ({ out: await read(o.out), lse: await read(o.lse) })));
  const check: Record<string, number> = {};
  for (const [i, ver] of versions.entries()) {
    check[`ref_${ver}`] = refError(c, [qh, kh, vh], res[i].out);
    if (i > 0) [check[`out_${ver}_v1`], check[`lse_${ver}_v1`]] = [maxDiff(res[0].out, res[i].out), maxDiff(res[0].lse, res[i].lse)];
  }
  console.error(`${c.name}: check ${JSON.stringify(check)}`);
  if (!Object.values(check).every((x) => x <= 1e-4)) throw new Error(`${c.name}: the versions disagree with each other or the reference`);
  // ~0.2 TFLOP a submission on the GPU; one dispatch, 3 repetitions on SwiftShader (--quick)
  const [iters, reps] = quick ? [1, 3] : [Math.max(1, Math.min(20, Math.round(2e11 / flops(c)))), 10];
  const timing: Record<string, Timing> = {};
  const tflops: Record<string, number> = {};
  for (const [i, ver] of versions.entries()) {
    timing[ver] = await timeGpu(be, () => dispatch(ver, i), iters, reps);
    tflops[ver] = flops(c) / (timing[ver].medianMs * 1e-3) / 1e12;
  }
  const speedup = { v2: timing.v1.medianMs / timing.v2.medianMs, v3: timing.v1.medianMs / timing.v3.medianMs };
  console.error(`${c.name}: ${versions.map((ver) => `${ver} ${timing[ver].medianMs.toFixed(3)} ms (${tflops[ver].toPrecision(3)} TFLOP/s)`).join(', ')}`);
  for (const x of [q, k, v, ...outs.flatMap((o) => [o.out, o.lse])]) x.dispose();
  return { ...c, flop: flops(c), check, timing, tflops, speedup };
}

async function main() {
  const be = await WebGpuBackend.create();
  const quick = process.argv.includes('--quick');
  const cases = [];
  for (const c of quick ? QUICK : FULL) cases.push(await runCase(be, c, quick));
  writeJson(argValue('--json'), { bench: 'attention-forward', commit: gitCommit(), adapter: be.report(), cases });
  be.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
