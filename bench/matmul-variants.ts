/**
 * bench/matmul-variants: the GEMMs of bench/train-step's model (T 4096, d 512, SwiGLU 1536) with each
 * tiled variant forced: the 128² tile (`tiled`, v3) and the 64² tile (`tiledSmall`), beside what
 * `auto` picks, f32; where an operand is transposed on its way into workgroup memory, the 128² tile
 * with those rows padded (BK 4 and 8). Each variant's C is checked against float64 on 256 sampled entries first.
 * Shapes (M × N × K, batch): the projections' forward / input gradient (4096 × 512 × 512), the
 * SwiGLU's forward (4096 × 1536 × 512, 4096 × 512 × 1536) and input gradients (dY·W), the split-K weight
 * gradients (8 × 512 × 512 × 512, 8 × 512 × 1536 × 512 transA).
 * `--tiles`: instead, the step's GEMMs as the training step calls them (split-K parts as `auto`
 * picks) and bench/matmul's two, with the default program and the TILES candidates (512-thread ones
 * where the device grants them), each checked first, then timed in turn over two rounds.
 * `--occupancy`: each tile program at one to four waves of its tiles (how many workgroups share an SM).
 * `--fused`: the default mode over the fused layout's batched products (FUSED_SHAPES) instead;
 * `--only TEXT`: the default mode's or `--tiles`' shapes whose name contains TEXT.
 *   node .device-kit/matmul-variants.mjs [--quick] [--tiles | --occupancy | --fused] [--json OUT.json]
 */
import { type MatmulParams, matmul, matmulSplitK, matmulVariant } from '@hsa/kernels';
import { Tensor, WebGpuBackend } from '@hsa/tensor';
import { argValue, BENCH_DAWN_FLAGS, gitCommit, sampledError, samples, type Timing, timeGpu, writeJson } from './common.js';
import { randomTensor } from './fill.js';

type Shape = Required<Pick<MatmulParams, 'batch' | 'M' | 'N' | 'K' | 'transA' | 'transB'>> & { name: string };
const SHAPES: Shape[] = [
  { name: 'projection forward (x·Wᵀ)', batch: 1, M: 4096, N: 512, K: 512, transA: false, transB: true },
  { name: 'SwiGLU up forward (x·Wᵀ)', batch: 1, M: 4096, N: 1536, K: 512, transA: false, transB: true },
  { name: 'SwiGLU down forward / up input gradient', batch: 1, M: 4096, N: 512, K: 1536, transA: false, transB: true },
  { name: 'SwiGLU up input gradient (dY·W)', batch: 1, M: 4096, N: 512, K: 1536, transA: false, transB: false },
  { name: 'SwiGLU down input gradient (dY·W)', batch: 1, M: 4096, N: 1536, K: 512, transA: false, transB: false },
  { name: 'LM head forward (x·Wᵀ)', batch: 1, M: 4096, N: 32000, K: 512, transA: false, transB: true },
  { name: 'GEMM 4096³ (bench/matmul)', batch: 1, M: 4096, N: 4096, K: 4096, transA: false, transB: false },
  { name: 'GEMM 8192 × 5632 × 2048 (bench/matmul)', batch: 1, M: 8192, N: 5632, K: 2048, transA: false, transB: false },
  { name: 'projection weight gradient, split-K 8 (Xᵀ·dY)', batch: 8, M: 512, N: 512, K: 512, transA: true, transB: false },
  { name: 'SwiGLU weight gradient, split-K 8 (Xᵀ·dY)', batch: 8, M: 512, N: 1536, K: 512, transA: true, transB: false },
];

/** `--fused`: the fused layout's batched products (bench/train-step --fused; A shared by the batch in the step). */
const FUSED_SHAPES: Shape[] = [
  { name: '3×4096×512×512 Bᵀ (q/k/v forward)', batch: 3, M: 4096, N: 512, K: 512, transA: false, transB: true },
  { name: '3×4096×512×512 (q/k/v input gradient parts)', batch: 3, M: 4096, N: 512, K: 512, transA: false, transB: false },
  { name: '2×4096×1536×512 Bᵀ (gate/up forward)', batch: 2, M: 4096, N: 1536, K: 512, transA: false, transB: true },
  { name: '2×4096×512×1536 (gate/up input gradient parts)', batch: 2, M: 4096, N: 512, K: 1536, transA: false, transB: false },
];

/** The training step's GEMMs by the profile's labels (bench/train-step --profile), and bench/matmul's. */
const STEP_SHAPES: Shape[] = [
  { name: '4096×512×512 Bᵀ (q/k/v/o forward)', batch: 1, M: 4096, N: 512, K: 512, transA: false, transB: true },
  { name: '4096×512×512 (q/k/v/o input gradient)', batch: 1, M: 4096, N: 512, K: 512, transA: false, transB: false },
  { name: '16×512×512×256 Aᵀ (q/k/v/o weight gradient)', batch: 16, M: 512, N: 512, K: 256, transA: true, transB: false },
  { name: '4096×1536×512 Bᵀ (gate/up forward)', batch: 1, M: 4096, N: 1536, K: 512, transA: false, transB: true },
  { name: '4096×512×1536 (gate/up input gradient)', batch: 1, M: 4096, N: 512, K: 1536, transA: false, transB: false },
  { name: '4×1536×512×1024 Aᵀ (gate/up weight gradient)', batch: 4, M: 1536, N: 512, K: 1024, transA: true, transB: false },
  { name: '4096×512×1536 Bᵀ (down forward)', batch: 1, M: 4096, N: 512, K: 1536, transA: false, transB: true },
  { name: '4096×1536×512 (down input gradient)', batch: 1, M: 4096, N: 1536, K: 512, transA: false, transB: false },
  { name: '4×512×1536×1024 Aᵀ (down weight gradient)', batch: 4, M: 512, N: 1536, K: 1024, transA: true, transB: false },
  { name: '4096×32000×512 Bᵀ (LM head forward)', batch: 1, M: 4096, N: 32000, K: 512, transA: false, transB: true },
  { name: '4096×512×32000 (LM head input gradient)', batch: 1, M: 4096, N: 512, K: 32000, transA: false, transB: false },
  { name: '32000×512×4096 Aᵀ (LM head weight gradient)', batch: 1, M: 32000, N: 512, K: 4096, transA: true, transB: false },
  { name: 'GEMM 4096³ (bench/matmul)', batch: 1, M: 4096, N: 4096, K: 4096, transA: false, transB: false },
  { name: 'GEMM 8192 × 5632 × 2048 (bench/matmul)', batch: 1, M: 8192, N: 5632, K: 2048, transA: false, transB: false },
];

/**
 * `--tiles`' candidates: 512 threads a workgroup (16 warps), 4 × 8 or 8 × 8 outputs a thread; 128 threads
 * (4 warps) of 8 × 8 or 16 × 8 (cuBLAS's SIMT kernels' 4-warp shapes), at BK 4 and 8.
 */
const TILES: Record<string, NonNullable<MatmulParams['tile']>> = {
  '128×128, 4×8 a thread': { BM: 128, BN: 128, BK: 4, TM: 4, TN: 8, double: false, warp4x8: true },
  '256×128, 8×8 a thread': { BM: 256, BN: 128, BK: 4, TM: 8, TN: 8, double: false, warp4x8: true },
  '128×256, 8×8 a thread': { BM: 128, BN: 256, BK: 4, TM: 8, TN: 8, double: false, warp4x8: true },
  '64×128 t128': { BM: 64, BN: 128, BK: 4, TM: 8, TN: 8, double: false, warp4x8: true },
  '64×128 t128 BK 8': { BM: 64, BN: 128, BK: 8, TM: 8, TN: 8, double: false, warp4x8: true },
  '128×64 t128': { BM: 128, BN: 64, BK: 4, TM: 8, TN: 8, double: false, warp4x8: true },
  '128×128 t128 16×8': { BM: 128, BN: 128, BK: 4, TM: 16, TN: 8, double: false, warp4x8: true },
  '128×128 t128 16×8 BK 8': { BM: 128, BN: 128, BK: 8, TM: 16, TN: 8, double: false, warp4x8: true },
};

/**
 * A shape's random operands on the GPU and its float64 check: entry i of the output (split-K part p
 * of batch entry z at (p·batch + z)·strideC, over its K range of ⌈K / splitK⌉).
 */
async function operands(be: WebGpuBackend, s: Shape, splitK: number) {
  const [ar, ac] = s.transA ? [s.K, s.M] : [s.M, s.K];
  const [br, bc] = s.transB ? [s.N, s.K] : [s.K, s.N];
  const a = randomTensor(be, [s.batch, ar, ac], 1);
  const b = randomTensor(be, [s.batch, br, bc], 2);
  const [ah, bh] = [(await a.data()) as Float32Array, (await b.data()) as Float32Array];
  const base: MatmulParams = { batch: s.batch, M: s.M, N: s.N, K: s.K, transA: s.transA, transB: s.transB, bDtype: 'f32', strideA: ar * ac, strideB: br * bc, strideC: s.M * s.N };
  const ks = Math.ceil(s.K / splitK);
  const want = (i: number) => {
    const [q, r] = [Math.floor(i / (s.M * s.N)), i % (s.M * s.N)];
    const [part, z] = [Math.floor(q / s.batch), q % s.batch];
    const [m, n] = [Math.floor(r / s.N), r % s.N];
    let v = 0;
    let mag = 0;
    for (let k = part * ks; k < Math.min(s.K, (part + 1) * ks); k++) {
      const x = ah[z * ar * ac + (s.transA ? k * s.M + m : m * s.K + k)];
      const y = bh[z * br * bc + (s.transB ? n * s.K + k : k * s.N + n)];
      v += x * y;
      mag += Math.abs(x * y);
    }
    return { v, mag };
  };
  return { a, b, base, ks, want };
}

/** `--tiles`: each shape's default program against the candidates, checked first, then timed in turn. */
async function tilePairs(be: WebGpuBackend, quick: boolean) {
  const only = argValue('--only');
  const chosen = STEP_SHAPES.filter((s) => !only || s.name.includes(only));
  const shapes = quick ? chosen.map((s) => ({ ...s, M: s.M / 8, N: s.N / 8, K: s.K / 8 })) : chosen;
  const results = [];
  for (const s of shapes) {
    const splitK = matmulSplitK({ batch: s.batch, M: s.M, N: s.N, K: s.K, transA: s.transA, transB: s.transB, bDtype: 'f32', strideA: 0, strideB: 0, strideC: 0 });
    const { a, b, base: base1, ks, want } = await operands(be, s, splitK);
    const base: MatmulParams = { ...base1, splitK };
    const total = splitK * s.batch * s.M * s.N;
    const at = samples(256, total, 5);
    const flop = 2 * s.batch * s.M * s.N * s.K;
    const row: Record<string, unknown> = { ...s, splitK, variant: matmulVariant(base) };
    const c = Tensor.empty(be, [total]);
    const runs: Record<string, () => void> = { default: () => be.run(matmul, base, [a.arg(), b.arg(), c.arg()]) };
    for (const [name, tile] of Object.entries(TILES)) {
      if ((tile.BM * tile.BN) / (tile.TM * tile.TN) > be.caps.maxInvocations) continue;
      const t = { ...tile, pad: s.transB || !s.transA };
      runs[name] = () => be.run(matmul, { ...base, variant: 'tiled', tile: t }, [a.arg(), b.arg(), c.arg()]);
    }
    const times: Record<string, number[]> = {};
    for (const [name, run] of Object.entries(runs)) {
      be.write(c.storage, new Float32Array(total).fill(Number.NaN));
      run();
      const err = sampledError((await c.data()) as Float32Array, at, want, ks);
      if (!(err <= 1)) throw new Error(`${s.name} ${name}: ${err} of the f32 bound`);
      times[name] = [];
    }
    for (let round = 0; round < (quick ? 1 : 2); round++) {
      for (const [name, run] of Object.entries(runs)) times[name].push((await timeGpu(be, run, quick ? 1 : flop > 1e11 ? 5 : 20, quick ? 3 : 10)).medianMs);
    }
    row.medianMs = times;
    const best = (n: string) => Math.min(...times[n]);
    console.error(`${s.name}: ${Object.keys(times).map((n) => `${n} ${(best(n) * 1e3).toFixed(1)} µs`).join(', ')}`);
    results.push(row);
    for (const t of [a, b, c]) t.dispose();
  }
  return results;
}

/**
 * `--occupancy`: how many workgroups share an SM. Each program at one to four waves of its tiles (one
 * a wave per SM), K 4096: w waves take ~w× one where a workgroup fills an SM, less where several
 * workgroups share one and hide each other's latency.
 */
async function occupancy(be: WebGpuBackend, quick: boolean) {
  const sms = quick ? 4 : 132;
  const K = quick ? 256 : 4096;
  const tiles: Record<string, NonNullable<MatmulParams['tile']>> = {
    'default 128², 256 threads': { BM: 128, BN: 128, BK: 4, TM: 8, TN: 8, double: false, pad: false, warp4x8: true },
    '64 × 128, 128 threads': { BM: 64, BN: 128, BK: 4, TM: 8, TN: 8, double: false, pad: false, warp4x8: true },
    '64², 256 threads (4 × 4)': { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 },
    // more registers: do two of these still share an SM?
    '128², BK 8, two buffers': { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, double: true, pad: false, warp4x8: true },
    '128², BK 8, one buffer': { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, double: false, pad: false, warp4x8: true },
  };
  const results = [];
  for (const [name, tile] of Object.entries(tiles)) {
    const row: Record<string, unknown> = { name, tile };
    for (const waves of [1, 2, 3, 4]) {
      // sms · waves tiles: 11 tile rows (12 on 4 SMs: 2) by the rest
      const rows = quick ? 2 : 11;
      const M = rows * tile.BM;
      const N = ((sms * waves) / rows) * tile.BN;
      const s: Shape = { name, batch: 1, M, N, K, transA: false, transB: false };
      const { a, b, base, want } = await operands(be, s, 1);
      const c = Tensor.empty(be, [M, N]);
      const run = () => be.run(matmul, { ...base, variant: 'tiled', tile }, [a.arg(), b.arg(), c.arg()]);
      run();
      const err = sampledError((await c.data()) as Float32Array, samples(128, M * N, 3), want, K);
      if (!(err <= 1)) throw new Error(`${name} ${waves} waves: ${err} of the f32 bound`);
      row[`waves${waves}`] = { M, N, K, ms: (await timeGpu(be, run, quick ? 1 : 10, quick ? 3 : 10)).medianMs };
      for (const t of [a, b, c]) t.dispose();
    }
    const ms = [1, 2, 3, 4].map((w) => (row[`waves${w}`] as { ms: number }).ms);
    console.error(`${name}: 1–4 waves ${ms.map((t) => `${(t * 1e3).toFixed(1)} µs`).join(', ')} (${ms.map((t) => (t / ms[0]).toFixed(2)).join(' / ')})`);
    results.push(row);
  }
  return results;
}

async function main() {
  const be = await WebGpuBackend.create({ dawnFlags: BENCH_DAWN_FLAGS });
  const quick = process.argv.includes('--quick');
  if (process.argv.includes('--tiles')) {
    const results = await tilePairs(be, quick);
    writeJson(argValue('--json'), { bench: 'matmul-variants --tiles', commit: gitCommit(), adapter: be.report(), dawnFlags: BENCH_DAWN_FLAGS, results });
    be.destroy();
    return;
  }
  if (process.argv.includes('--occupancy')) {
    const results = await occupancy(be, quick);
    writeJson(argValue('--json'), { bench: 'matmul-variants --occupancy', commit: gitCommit(), adapter: be.report(), dawnFlags: BENCH_DAWN_FLAGS, results });
    be.destroy();
    return;
  }
  // --only TEXT: the shapes whose name contains TEXT
  const only = argValue('--only');
  const chosen = (process.argv.includes('--fused') ? FUSED_SHAPES : SHAPES).filter((s) => !only || s.name.includes(only));
  const shapes = quick ? chosen.map((s) => ({ ...s, M: s.M / 8, N: s.N / 8, K: s.K / 8 })) : chosen;
  const results = [];
  for (const s of shapes) {
    const { a, b, base, want } = await operands(be, s, 1);
    const auto = matmulVariant(base);
    const at = samples(256, s.batch * s.M * s.N, 5);
    const row: Record<string, unknown> = { ...s, auto };
    const flop = 2 * s.batch * s.M * s.N * s.K;
    // the 128² tile with its transposed-on-store operand rows padded (bank conflicts), BK 4 and 8
    const LARGE = { BM: 128, BN: 128, BK: 4, TM: 8, TN: 8, double: false, pad: false, warp4x8: true };
    const extra: Record<string, object> = s.transB || !s.transA ? { tiledPad: { variant: 'tiled', tile: { ...LARGE, pad: true } }, tiledPadBK8: { variant: 'tiled', tile: { ...LARGE, pad: true, BK: 8 } } } : {};
    // rectangular 128 × 64 / 64 × 128 tiles (two workgroups an SM where 128² gives one wave) and 64² with the warp layout
    const shapes: Record<string, object> = {
      tile128x64: { variant: 'tiled', tile: { ...LARGE, BN: 64, TN: 4, pad: s.transB } },
      tile64x128: { variant: 'tiled', tile: { ...LARGE, BM: 64, TM: 4, pad: s.transB } },
      tile64w: { variant: 'tiled', tile: { ...LARGE, BM: 64, BN: 64, TM: 4, TN: 4, BK: 8, pad: s.transB } },
      // 128 threads of 8 × 8 (up to four workgroups an SM: bench --occupancy)
      tile64x128t128: { variant: 'tiled', tile: { ...LARGE, BM: 64, pad: s.transB } },
      tile128x64t128: { variant: 'tiled', tile: { ...LARGE, BN: 64, pad: s.transB } },
      // two workgroup-memory buffers (one barrier a K slice), BK 4 and 8
      double4: { variant: 'tiled', tile: { ...LARGE, double: true, pad: s.transB || !s.transA } },
      double8: { variant: 'tiled', tile: { ...LARGE, double: true, BK: 8, pad: s.transB || !s.transA } },
    };
    for (const [variant, opts] of [['tiled', { variant: 'tiled' }], ['tiledSmall', { variant: 'tiledSmall' }], ...Object.entries(extra), ...Object.entries(shapes)] as [string, object][]) {
      const c = Tensor.empty(be, [s.batch, s.M, s.N]);
      const run = () => be.run(matmul, { ...base, ...opts }, [a.arg(), b.arg(), c.arg()]);
      run();
      const err = sampledError((await c.data()) as Float32Array, at, want, s.K);
      if (!(err <= 1)) throw new Error(`${s.name} ${variant}: ${err} of the f32 bound`);
      const timing: Timing = await timeGpu(be, run, quick ? 1 : flop > 1e11 ? 5 : 20, quick ? 3 : 10);
      row[variant] = { timing, tflops: flop / (timing.medianMs * 1e-3) / 1e12, error: err };
      console.error(`${s.name} ${variant}: ${(timing.medianMs * 1e3).toFixed(1)} µs, ${(flop / (timing.medianMs * 1e-3) / 1e12).toFixed(1)} TFLOP/s${variant === auto ? ' (auto)' : ''}`);
      c.dispose();
    }
    results.push(row);
    a.dispose();
    b.dispose();
  }
  writeJson(argValue('--json'), { bench: 'matmul-variants', commit: gitCommit(), adapter: be.report(), dawnFlags: BENCH_DAWN_FLAGS, results });
  be.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
