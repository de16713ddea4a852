/**
 * bench/attention-forward: the dense attention forward kernels v1, v2, v3 (v4, v5 for D ≤ 64) and backward kernels v1, v2
 * in the same run (packages/kernels/src/attention/swaAttention.ts and swaAttentionBackward.ts list the
 * versions), f32, batch 1:
 *   train:   T 4096, 8 query heads, 8 KV heads, D 64, causal (window ≥ T): the training step's shape
 *   prefill: T 32K, 32 query heads, 2 KV heads, D 128, window 4K: bench/attention's SWA case
 *   chunk:   512 chunks of 64 tokens, 8 heads, D 64, bidirectional per chunk (chunk encoder)
 * Before timing, v2's and v3's out and lse are compared with v1's over the whole tensors, and all
 * three with the float64 reference on sampled rows. Timing: GPU timestamps around `iters` dispatches in one
 * submission, median of the repetitions (bench/common.ts).
 * Then the backward at the same shapes (swaAttentionBackward.ts lists the versions): dq + dkv of v1
 * and v2 from the default forward's out and lse, after v2's dq, dk, dv are compared with v1's over
 * the whole tensors and both with a float64 evaluation on sampled query rows (dq) and keys (dk, dv);
 * TFLOP/s count 2.5× the forward's (the FlashAttention-2 convention: recomputed S not counted).
 *   node .device-kit/attention-forward.mjs [--quick] [--cases train,chunk] [--json OUT.json]   (--quick: small shapes)
 * bench/attention-forward.sh runs it and then bench/attention_forward_torch.py (PyTorch SDPA).
 */
import {
  chunkEncoderAttentionForward,
  type DenseBackwardParams,
  type DenseVersion,
  type KeyTileV4,
  denseAttentionDelta,
  denseAttentionDkv,
  denseAttentionDq,
  swaAttentionForward,
  swaAttentionForwardRef,
} from '@hsa/kernels';
import { Tensor, WebGpuBackend } from '@hsa/tensor';
import { argValue, BENCH_DAWN_FLAGS, gitCommit, maxDiff, relDiff, type Timing, timeGpu, writeJson } from './common.js';
import { heat, randomTensor } from './fill.js';

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

/** Largest |got − ref| over sampled query rows (the float64 reference over the rows' key range). */
function refError(c: Case, [q, k, v]: Float32Array[], out: Float32Array): number {
  const rows = c.n > 0 ? [0, c.t - 1, (c.n - 1) * c.t + 5] : [0, 1000 % c.t, c.t - 1];
  let worst = 0;
  for (const t of rows) {
    const lo = c.n > 0 ? Math.floor(t / c.t) * c.t : Math.max(0, t - c.window);
    const n = c.n > 0 ? c.t : t - lo + 1;
    const span = (a: Float32Array, h: number, from = lo) => Float64Array.from(a.subarray(from * h * c.d, (lo + n) * h * c.d));
    // window mode: only row t (qStart = its place in the span: q, out hold that one row)
    const r = c.n > 0 ? t - lo : 0;
    const want = new Float64Array((c.n > 0 ? n : 1) * c.hq * c.d);
    const lse = new Float64Array(want.length / c.d);
    if (c.n > 0) chunkEncoderAttentionForward.ref([span(q, c.hq), span(k, c.hk), span(v, c.hk), want, lse], { n: 1, t: c.t, hq: c.hq, hk: c.hk, d: c.d });
    else swaAttentionForwardRef([span(q, c.hq, t), span(k, c.hk), span(v, c.hk), want, lse], { t: n, hq: c.hq, hk: c.hk, d: c.d, window: c.window, qStart: n - 1 });
    for (let i = 0; i < c.hq * c.d; i++) worst = Math.max(worst, Math.abs(want[r * c.hq * c.d + i] - out[t * c.hq * c.d + i]));
  }
  return worst;
}

async function runCase(be: WebGpuBackend, c: Case, quick: boolean) {
  const tq = c.n > 0 ? c.n * c.t : c.t;
  const [q, k, v] = [randomTensor(be, [tq, c.hq, c.d], 1), randomTensor(be, [tq, c.hk, c.d], 2), randomTensor(be, [tq, c.hk, c.d], 3)];
  // v4 (GEMM-style register blocks) takes head sizes ≤ 64; 'v5-wgmax': v5 with each row's max through
  // workgroup memory only (no subgroup shuffles: shuffleMax false, the default before)
  // 'v5-k64' / 'v5-k192' / 'v5-k256': v5 over key tiles of that many keys (the default: 128 for long
  // windows); 256-key tiles take 36 KiB of workgroup memory, run where the device grants it
  const k256 = be.caps.maxWorkgroupStorage >= 36 * 1024 ? ['v5-k256'] : [];
  const versions: string[] = c.d <= 64 ? ['v1', 'v2', 'v3', 'v4', 'v5', 'v5-wgmax', 'v5-k64', 'v5-k192', ...k256] : ['v1', 'v2', 'v3'];
  const outs = versions.map(() => ({ out: Tensor.empty(be, [tq, c.hq, c.d], 'f32'), lse: Tensor.empty(be, [tq, c.hq], 'f32') }));
  const dispatch = (name: string, i: number) => {
    const args = [q.arg(), k.arg(), v.arg(), outs[i].out.arg(), outs[i].lse.arg()];
    const kt = /^v5-k(\d+)$/.exec(name);
    const [version, shuffleMax] = name === 'v5-wgmax' ? (['v5', false] as const) : [(kt ? 'v5' : name) as DenseVersion, true];
    const keyTile = kt ? (Number(kt[1]) as KeyTileV4) : undefined;
    if (c.n > 0) be.run(chunkEncoderAttentionForward, { n: c.n, t: c.t, hq: c.hq, hk: c.hk, d: c.d, version, shuffleMax, keyTile }, args);
    else be.run(swaAttentionForward, { t: c.t, hq: c.hq, hk: c.hk, d: c.d, window: c.window, version, shuffleMax, keyTile }, args);
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
  const speedup = Object.fromEntries(versions.slice(1).map((ver) => [ver, timing.v1.medianMs / timing[ver].medianMs]));
  console.error(`${c.name}: ${versions.map((ver) => `${ver} ${timing[ver].medianMs.toFixed(3)} ms (${tflops[ver].toPrecision(3)} TFLOP/s)`).join(', ')}`);
  for (const x of outs.slice(0, -1).flatMap((o) => [o.out, o.lse])) x.dispose();
  const backward = await runBackward(be, c, quick, [q, k, v], outs[outs.length - 1], [qh, kh, vh]);
  for (const x of [q, k, v, outs[outs.length - 1].out, outs[outs.length - 1].lse]) x.dispose();
  return { ...c, flop: flops(c), check, timing, tflops, speedup, backward };
}

/** The backward kernels' parameters of a case (window mode: one sequence of T; block: n chunks). */
function backParams(c: Case, version: 'v1' | 'v2'): DenseBackwardParams {
  const { hq, hk, d } = c;
  if (c.n > 0) return { mode: 'block', segs: c.n, t: c.t, hq, hk, d, window: 0, version };
  return { mode: 'window', segs: 1, t: c.t, hq, hk, d, window: c.window, version };
}

/** Host copies of the backward's inputs (all f32, as the kernels read them). */
interface BackInputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dout: Float32Array;
  lse: Float32Array;
  delta: Float32Array;
}

/**
 * Largest |got − want| of dq at query token t (all heads) and of dk, dv at key token t (all KV heads)
 * over `tokens`, each divided by that gradient's largest |want|; want in float64 from the kernels'
 * inputs (their lse and delta too, so this checks the backward alone):
 *   dq = scale·Σ_j p(dout·v_j − delta)k_j, dv = Σ_rows p·dout, dk = scale·Σ_rows p(dout·v − delta)q.
 */
function backRefError(c: Case, x: BackInputs, got: Float32Array[], tokens: number[]): number[] {
  const { d, hq, hk } = c;
  const [ratio, scale, tq] = [hq / hk, 1 / Math.sqrt(d), c.n > 0 ? c.n * c.t : c.t];
  const dot = (a: Float32Array, ia: number, b: Float32Array, ib: number) => {
    let s = 0;
    for (let i = 0; i < d; i++) s += a[ia + i] * b[ib + i];
    return s;
  };
  const [err, top] = [[0, 0, 0], [0, 0, 0]];
  const note = (i: number, want: Float64Array, g: Float32Array, at: number) => {
    for (let e = 0; e < d; e++) [err[i], top[i]] = [Math.max(err[i], Math.abs(want[e] - g[at + e])), Math.max(top[i], Math.abs(want[e]))];
  };
  // adds row (t, h) × key j of KV head g: ds·k to dq, p·dout to dv, ds·q to dk (those given)
  const pair = (t: number, h: number, j: number, dq: Float64Array | null, dk: Float64Array | null, dv: Float64Array | null) => {
    const [qo, ko, r] = [(t * hq + h) * d, (j * hk + Math.floor(h / ratio)) * d, t * hq + h];
    const p = Math.exp(dot(x.q, qo, x.k, ko) * scale - x.lse[r]);
    const ds = p * (dot(x.dout, qo, x.v, ko) - x.delta[r]) * scale;
    for (let e = 0; e < d; e++) {
      if (dq) dq[e] += ds * x.k[ko + e];
      if (dk) dk[e] += ds * x.q[qo + e];
      if (dv) dv[e] += p * x.dout[qo + e];
    }
  };
  for (const t of tokens) {
    const s0 = c.n > 0 ? t - (t % c.t) : 0;
    // keys that token t sees, and the tokens that see key t
    const [klo, khi] = c.n > 0 ? [s0, s0 + c.t - 1] : [Math.max(0, t - c.window), t];
    const [rlo, rhi] = c.n > 0 ? [s0, s0 + c.t - 1] : [t, Math.min(tq - 1, t + c.window)];
    for (let h = 0; h < hq; h++) {
      const dq = new Float64Array(d);
      for (let j = klo; j <= khi; j++) pair(t, h, j, dq, null, null);
      note(0, dq, got[0], (t * hq + h) * d);
    }
    for (let g = 0; g < hk; g++) {
      const [dk, dv] = [new Float64Array(d), new Float64Array(d)];
      for (let r = rlo; r <= rhi; r++) for (let h = g * ratio; h < (g + 1) * ratio; h++) pair(r, h, t, null, dk, dv);
      note(1, dk, got[1], (t * hk + g) * d);
      note(2, dv, got[2], (t * hk + g) * d);
    }
  }
  return err.map((e, i) => e / (top[i] + 1e-30));
}

/**
 * The backward of a case: delta from the forward's out, then dq + dkv of v1 and v2, checked (v2 against
 * v1 over the whole tensors, both against backRefError's float64 sums; relative errors ≤ 1e-4: f32 sums
 * of up to 4K terms in different orders differ by ~1e-6 here, an indexing error by O(1)), then timed.
 */
async function runBackward(be: WebGpuBackend, c: Case, quick: boolean, [q, k, v]: Tensor[], fwd: { out: Tensor; lse: Tensor }, host: Float32Array[]) {
  const tq = c.n > 0 ? c.n * c.t : c.t;
  const dout = randomTensor(be, [tq, c.hq, c.d], 4);
  const delta = Tensor.empty(be, [tq, c.hq], 'f32');
  be.run(denseAttentionDelta, { n: tq * c.hq, d: c.d }, [fwd.out.arg(), dout.arg(), delta.arg()]);
  const versions = ['v1', 'v2'] as const;
  const grads = versions.map(() => [c.hq, c.hk, c.hk].map((h) => Tensor.empty(be, [tq, h, c.d], 'f32')));
  const step = (i: number) => {
    const [p, ins] = [backParams(c, versions[i]), [q, k, v, dout, fwd.lse, delta].map((t) => t.arg())];
    be.run(denseAttentionDq, p, [...ins, grads[i][0].arg()]);
    be.run(denseAttentionDkv, p, [...ins, grads[i][1].arg(), grads[i][2].arg()]);
  };
  for (let i = 0; i < versions.length; i++) step(i);
  const read = (t: Tensor) => t.data() as Promise<Float32Array>;
  const [douth, lseh, deltah] = await Promise.all([dout, fwd.lse, delta].map(read));
  const x: BackInputs = { q: host[0], k: host[1], v: host[2], dout: douth, lse: lseh, delta: deltah };
  const got = await Promise.all(grads.map((g) => Promise.all(g.map(read))));
  const tokens = c.n > 0 ? [0, c.t - 1, (c.n - 1) * c.t + 5] : [0, 1000 % c.t, c.t - 1];
  const check: Record<string, number> = {};
  const names = ['dq', 'dk', 'dv'];
  for (const [i, ver] of versions.entries()) for (const [j, e] of backRefError(c, x, got[i], tokens).entries()) check[`${names[j]}_ref_${ver}`] = e;
  for (const [j, n] of names.entries()) check[`${n}_v2_v1`] = relDiff(got[1][j], got[0][j]);
  console.error(`${c.name} backward: check ${JSON.stringify(check)}`);
  if (!Object.values(check).every((e) => e <= 1e-4)) throw new Error(`${c.name}: the backward versions disagree with each other or the reference`);
  const flop = 2.5 * flops(c);
  const [iters, reps] = quick ? [1, 3] : [Math.max(1, Math.min(20, Math.round(2e11 / flop))), 10];
  const timing: Record<string, Timing> = {};
  const tflops: Record<string, number> = {};
  for (const [i, ver] of versions.entries()) {
    timing[ver] = await timeGpu(be, () => step(i), iters, reps);
    tflops[ver] = flop / (timing[ver].medianMs * 1e-3) / 1e12;
  }
  console.error(`${c.name} backward: ${versions.map((ver) => `${ver} ${timing[ver].medianMs.toFixed(3)} ms (${tflops[ver].toPrecision(3)} TFLOP/s)`).join(', ')}`);
  for (const t of [dout, delta, ...grads.flat()]) t.dispose();
  return { flop, check, timing, tflops, speedup: { v2: timing.v1.medianMs / timing.v2.medianMs } };
}

async function main() {
  const be = await WebGpuBackend.create({ dawnFlags: BENCH_DAWN_FLAGS });
  const quick = process.argv.includes('--quick');
  // the H200 idles at a low clock: keep it busy first (bench/fill heat)
  await heat(be, quick ? 10 : 2000);
  const cases = [];
  // --cases train,chunk: only those cases
  const only = argValue('--cases')?.split(',');
  for (const c of quick ? QUICK : FULL) if (!only || only.includes(c.name)) cases.push(await runCase(be, c, quick));
  writeJson(argValue('--json'), { bench: 'attention-forward', commit: gitCommit(), adapter: be.report(), cases });
  be.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
