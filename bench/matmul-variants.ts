/**
 * bench/matmul-variants: the GEMMs of bench/train-step's model (T 4096, d 512, SwiGLU 1536) with each
 * tiled variant forced: the 128² tile (`tiled`, v3) and the 64² tile (`tiledSmall`), beside what
 * `auto` picks, f32; where an operand is transposed on its way into workgroup memory, the 128² tile
 * with those rows padded (BK 4 and 8). Each variant's C is checked against float64 on 256 sampled entries first.
 * Shapes (M × N × K, batch): the projections' forward / input gradient (4096 × 512 × 512), the
 * SwiGLU's forward (4096 × 1536 × 512, 4096 × 512 × 1536) and input gradients (dY·W), the split-K weight
 * gradients (8 × 512 × 512 × 512, 8 × 512 × 1536 × 512 transA).
 *   node .device-kit/matmul-variants.mjs [--quick] [--json OUT.json]
 */
import { type MatmulParams, matmul, matmulVariant } from '@hsa/kernels';
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

async function main() {
  const be = await WebGpuBackend.create({ dawnFlags: BENCH_DAWN_FLAGS });
  const quick = process.argv.includes('--quick');
  const shapes = quick ? SHAPES.map((s) => ({ ...s, M: s.M / 8, N: s.N / 8, K: s.K / 8 })) : SHAPES;
  const results = [];
  for (const s of shapes) {
    const [ar, ac] = s.transA ? [s.K, s.M] : [s.M, s.K];
    const [br, bc] = s.transB ? [s.N, s.K] : [s.K, s.N];
    const a = randomTensor(be, [s.batch, ar, ac], 1);
    const b = randomTensor(be, [s.batch, br, bc], 2);
    const [ah, bh] = [(await a.data()) as Float32Array, (await b.data()) as Float32Array];
    const base = { batch: s.batch, M: s.M, N: s.N, K: s.K, transA: s.transA, transB: s.transB, bDtype: 'f32' as const, strideA: ar * ac, strideB: br * bc, strideC: s.M * s.N };
    const auto = matmulVariant(base);
    const at = samples(256, s.batch * s.M * s.N, 5);
    const want = (i: number) => {
      const [p, r] = [Math.floor(i / (s.M * s.N)), i % (s.M * s.N)];
      const [m, n] = [Math.floor(r / s.N), r % s.N];
      let v = 0;
      let mag = 0;
      for (let k = 0; k < s.K; k++) {
        const x = ah[p * ar * ac + (s.transA ? k * s.M + m : m * s.K + k)];
        const y = bh[p * br * bc + (s.transB ? n * s.K + k : k * s.N + n)];
        v += x * y;
        mag += Math.abs(x * y);
      }
      return { v, mag };
    };
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
  writeJson(argValue('--json'), { bench: 'matmul-variants', commit: gitCommit(), adapter: be.report(), results });
  be.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
