/**
 * bench/matmul: f32 GEMM at 4096³ and an LLM shape (8192×2048 · 2048×5632), and the decode
 * matrix-vector product with bf16-packed weights (1×4096 · 4096×14336, W stored [14336, 4096]).
 * Each result is checked on sampled entries against float64 before anything is timed. A > 2 GiB
 * weight (over maxStorageBufferBindingSize) is multiplied through the row-block split and checked.
 * Run on the GPU machine through the kit; bench/matmul_torch.py is the same-run PyTorch baseline.
 */
import { bf16ToF32, f32ToBf16 } from '@hsa/kernels';
import { matmul, Tensor, WebGpuBackend } from '@hsa/tensor';
import { argValue, BENCH_DAWN_FLAGS, fillRandom, gitCommit, sampledError, samples, type Timing, timeGpu, writeJson } from './common.js';

interface GemmCase {
  name: string;
  M: number;
  N: number;
  K: number;
  variant: 'tiled' | 'tiledSmall';
  tile?: NonNullable<Parameters<typeof matmul>[2]>['tile'];
  default?: boolean;
}

const L = { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 };
/** Earlier tile settings, timed beside the default (previous kernel versions as baselines). */
const TILES = {
  v2: { ...L, double: false, unrollK: false, pad: false },
  v2DoubleBuffered: { ...L, double: true, unrollK: false, pad: true },
  v3Wide: { ...L, BN: 256, TN: 16, BK: 4, double: false, pad: true, warp4x8: true },
  // the default's warp layout with two workgroup-memory buffers (one barrier a K slice), BK 4 and 8
  v3Double: { ...L, BK: 4, double: true, pad: false, warp4x8: true },
  v3DoubleBK8: { ...L, BK: 8, double: true, pad: false, warp4x8: true },
  v3BK8: { ...L, BK: 8, double: false, pad: false, warp4x8: true },
};

async function gemm(be: WebGpuBackend, c: GemmCase) {
  const a = fillRandom(new Float32Array(c.M * c.K), 1);
  const b = fillRandom(new Float32Array(c.K * c.N), 2);
  const A = Tensor.from(be, a, [c.M, c.K]);
  const B = Tensor.from(be, b, [c.K, c.N]);
  const C = matmul(A, B, { variant: c.variant, tile: c.tile });
  const got = await C.data();
  const err = sampledError(got, samples(512, c.M * c.N, 3), (i) => {
    const m = Math.floor(i / c.N);
    const n = i % c.N;
    let v = 0;
    let mag = 0;
    for (let k = 0; k < c.K; k++) {
      const x = a[m * c.K + k] * b[k * c.N + n];
      v += x;
      mag += Math.abs(x);
    }
    return { v, mag };
  }, c.K);
  if (!(err <= 1)) throw new Error(`${c.name} ${c.variant}: result check failed (error/tolerance ${err})`);
  C.dispose();
  const t: Timing = await timeGpu(be, () => matmul(A, B, { variant: c.variant, tile: c.tile }).dispose(), 10);
  A.dispose();
  B.dispose();
  const tflops = (2 * c.M * c.N * c.K) / (t.medianMs * 1e-3) / 1e12;
  console.error(`${c.name} ${c.variant} ${JSON.stringify(c.tile ?? '')}: ${t.medianMs.toFixed(3)} ms, ${tflops.toFixed(1)} TFLOP/s (check ${err.toFixed(3)})`);
  return { ...c, ...t, tflops, checkErrorOverTol: err };
}

function randomBf16(n: number, seed: number): Uint16Array {
  const f = fillRandom(new Float32Array(1 << 16), seed);
  const table = Uint16Array.from(f, f32ToBf16);
  const out = new Uint16Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = table[s >>> 16];
  }
  return out;
}

async function matvec(
  be: WebGpuBackend,
  N: number,
  K: number,
  timeIt: boolean,
  version: 'rows' | 'lanes' = 'lanes',
  matvecShape?: NonNullable<Parameters<typeof matmul>[2]>['matvecShape'],
) {
  const x = fillRandom(new Float32Array(K), 5);
  const w = randomBf16(N * K, 6);
  const X = Tensor.from(be, x, [1, K]);
  const W = Tensor.from(be, w, [N, K], 'bf16');
  const Y = matmul(X, W, { transB: true, matvec: version, matvecShape });
  const got = await Y.data();
  const err = sampledError(got, samples(512, N, 7), (n) => {
    let v = 0;
    let mag = 0;
    for (let k = 0; k < K; k++) {
      const p = x[k] * bf16ToF32(w[n * K + k]);
      v += p;
      mag += Math.abs(p);
    }
    return { v, mag };
  }, K);
  if (!(err <= 1)) throw new Error(`matvec ${N}×${K}: result check failed (error/tolerance ${err})`);
  Y.dispose();
  const weightBytes = N * K * 2;
  const res: Record<string, unknown> = { N, K, version, matvecShape, weightBytes, checkErrorOverTol: err, split: weightBytes > be.maxBindingBytes };
  if (timeIt) {
    const t = await timeGpu(be, () => matmul(X, W, { transB: true, matvec: version, matvecShape }).dispose(), 200);
    res.timing = t;
    res.weightTBps = weightBytes / (t.medianMs * 1e-3) / 1e12;
    console.error(`matvec ${version} ${JSON.stringify(matvecShape ?? '')} bf16 ${N}×${K}: ${(t.medianMs * 1e3).toFixed(1)} µs, ${(res.weightTBps as number).toFixed(2)} TB/s of weights`);
  } else console.error(`matvec bf16 ${N}×${K} (${(weightBytes / 2 ** 30).toFixed(2)} GiB, split ${res.split}): check ${err.toFixed(3)}`);
  X.dispose();
  W.dispose();
  return res;
}

async function main() {
  const be = await WebGpuBackend.create({ dawnFlags: BENCH_DAWN_FLAGS });
  const quick = process.argv.includes('--quick');
  const cases: GemmCase[] = quick
    ? [{ name: 'gemm-512', M: 512, N: 512, K: 512, variant: 'tiled' }]
    : (['gemm-4096', 'gemm-llm'] as const).flatMap((name) => {
        const [M, N, K] = name === 'gemm-4096' ? [4096, 4096, 4096] : [8192, 5632, 2048];
        return [
          { name, M, N, K, variant: 'tiled' as const, default: true },
          ...Object.values(TILES).map((tile) => ({ name, M, N, K, variant: 'tiled' as const, tile })),
          { name, M, N, K, variant: 'tiledSmall' as const },
        ];
      });
  const gemms = [];
  for (const c of cases) gemms.push(await gemm(be, c));
  const [N, K] = quick ? [256, 512] : [14336, 4096];
  const decode = await matvec(be, N, K, true, 'lanes');
  const decodeVariants = [await matvec(be, N, K, true, 'rows')];
  for (const shape of [
    { wg: 256, rows: 8, unroll: 8, reduce: 'serial' as const }, // v2
    { wg: 256, rows: 4, unroll: 8, reduce: 'serial' as const },
    { wg: 256, rows: 4, unroll: 8, reduce: 'tree' as const },
    // candidates (not yet timed): finer grids, so the last wave of workgroups leaves fewer SMs idle
    // (14336 rows in 4-row workgroups are ~3.4 waves on 132 SMs), and 4 loads × 128 threads a row
    { wg: 128, rows: 2, unroll: 8, reduce: 'split' as const },
    { wg: 64, rows: 1, unroll: 8, reduce: 'split' as const },
    { wg: 256, rows: 2, unroll: 4, reduce: 'split' as const },
  ]) {
    decodeVariants.push(await matvec(be, N, K, true, 'lanes', shape));
  }
  const big = quick ? null : await matvec(be, 300_000, 4096, false);
  writeJson(argValue('--json'), {
    bench: 'matmul',
    commit: gitCommit(),
    adapter: be.report(),
    dawnFlags: BENCH_DAWN_FLAGS,
    gemm: gemms,
    decodeMatvec: decode,
    decodeMatvecVariants: decodeVariants,
    over2GiB: big,
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
