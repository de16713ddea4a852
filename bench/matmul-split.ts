/**
 * bench/matmul-split: the training step's GEMMs whose output is under one wave of 128² tiles
 * (4096 × 512: the projections, the SwiGLU's down forward and up / gate input gradients, the LM
 * head's input gradient), through the tensor op `matmul` with K split into S = 1, 2, 4, 8 parts
 * (S partial products, then their sum over S: both timed, as a step pays them), then with 128-thread
 * tiles (64 × 128, 128 × 64; 8 × 8 outputs a thread, BK 4 / 8) unsplit and in 2. Each run's result is
 * checked against float64 on 256 sampled entries first; `auto` is what matmulSplitK picks.
 * `--waves`: the step's GEMMs of 1.5 to 3 waves of 128² tiles (N or M 1536: 384 tiles; weight
 * gradients Xᵀ·dY, whose K the step splits in batched products), K in S = 1, 2, 3, 4, 6, 8, 16
 * parts with the default tile, and in 1, 2, 4, 8, 16 with the 128-thread 64 × 128 and 128 × 64
 * tiles (BK 4), in turn over two rounds: whether splitting evens out a partial last wave, and which
 * tile takes the parts best.
 *   node .device-kit/matmul-split.mjs [--quick] [--waves] [--json OUT.json]
 */
import { matmulSplitK } from '@hsa/kernels';
import { type MatmulOptions, matmul, type Tensor, WebGpuBackend } from '@hsa/tensor';
import { argValue, BENCH_DAWN_FLAGS, gitCommit, sampledError, samples, timeGpu, writeJson } from './common.js';
import { heat, randomTensor } from './fill.js';

interface Shape {
  name: string;
  M: number;
  N: number;
  K: number;
  transB: boolean;
  transA?: boolean;
}
/** 128-thread tiles: 8 × 8 outputs a thread, BK 4 and 8 */
const SMALL_TILES = {
  '64x128': { BM: 64, BN: 128, BK: 4, TM: 8, TN: 8, double: false, warp4x8: true },
  '64x128k8': { BM: 64, BN: 128, BK: 8, TM: 8, TN: 8, double: false, warp4x8: true },
  '128x64': { BM: 128, BN: 64, BK: 4, TM: 8, TN: 8, double: false, warp4x8: true },
  '128x64k8': { BM: 128, BN: 64, BK: 8, TM: 8, TN: 8, double: false, warp4x8: true },
};

const SHAPES: Shape[] = [
  { name: 'projection forward (x·Wᵀ)', M: 4096, N: 512, K: 512, transB: true },
  { name: 'projection input gradient (dY·W)', M: 4096, N: 512, K: 512, transB: false },
  { name: 'SwiGLU down forward (x·Wᵀ)', M: 4096, N: 512, K: 1536, transB: true },
  { name: 'SwiGLU up / gate input gradient (dY·W)', M: 4096, N: 512, K: 1536, transB: false },
  { name: 'LM head input gradient (dY·W)', M: 4096, N: 512, K: 32000, transB: false },
  { name: 'SwiGLU up / gate forward (x·Wᵀ)', M: 4096, N: 1536, K: 512, transB: true },
  { name: 'SwiGLU down input gradient (dY·W)', M: 4096, N: 1536, K: 512, transB: false },
];

const WAVE_SHAPES: Shape[] = [
  { name: 'SwiGLU up / gate forward (x·Wᵀ)', M: 4096, N: 1536, K: 512, transB: true },
  { name: 'SwiGLU down input gradient (dY·W)', M: 4096, N: 1536, K: 512, transB: false },
  { name: 'SwiGLU up / gate weight gradient (dYᵀ·X)', M: 1536, N: 512, K: 4096, transA: true, transB: false },
  { name: 'SwiGLU down weight gradient (dYᵀ·X)', M: 512, N: 1536, K: 4096, transA: true, transB: false },
  { name: 'projection weight gradient (dYᵀ·X)', M: 512, N: 512, K: 4096, transA: true, transB: false },
];

async function main() {
  const quick = process.argv.includes('--quick');
  const waves = process.argv.includes('--waves');
  const be = await WebGpuBackend.create({ dawnFlags: BENCH_DAWN_FLAGS });
  await heat(be, quick ? 10 : 2000);
  const rows = [];
  for (const s0 of waves ? WAVE_SHAPES : SHAPES) {
    const s = quick ? { ...s0, M: s0.M / 16, N: s0.N / 16, K: s0.K / 16 } : s0;
    const a = randomTensor(be, s.transA ? [s.K, s.M] : [s.M, s.K], 1);
    const b = randomTensor(be, s.transB ? [s.N, s.K] : [s.K, s.N], 2);
    const [ah, bh] = [(await a.data()) as Float32Array, (await b.data()) as Float32Array];
    const want = (i: number) => {
      const [m, n] = [Math.floor(i / s.N), i % s.N];
      let v = 0;
      let mag = 0;
      for (let k = 0; k < s.K; k++) {
        const x = ah[s.transA ? k * s.M + m : m * s.K + k] * bh[s.transB ? n * s.K + k : k * s.N + n];
        v += x;
        mag += Math.abs(x);
      }
      return { v, mag };
    };
    const at = samples(256, s.M * s.N, 7);
    const auto = matmulSplitK({ batch: 1, M: s.M, N: s.N, K: s.K, transA: s.transA === true, transB: s.transB, bDtype: 'f32', strideA: 0, strideB: 0, strideC: 0 });
    const flop = 2 * s.M * s.N * s.K;
    const row: Record<string, unknown> = { ...s, auto };
    // S parts with the default tiles, then 128-thread tiles of 8 × 8 a thread (64 × 128, 128 × 64) unsplit and in 2
    const runs: [string, MatmulOptions][] = waves
      ? [
          ...[1, 2, 3, 4, 6, 8, 16].map((splitK): [string, MatmulOptions] => [`s${splitK}`, { splitK }]),
          ...['64x128', '128x64'].flatMap((name) =>
            [1, 2, 4, 8, 16].map((splitK): [string, MatmulOptions] => [
              `${name}-s${splitK}`,
              { splitK, variant: 'tiled', tile: { ...SMALL_TILES[name as keyof typeof SMALL_TILES], pad: s.transB || !s.transA } },
            ]),
          ),
        ]
      : [
      ...[1, 2, 4, 8].map((splitK): [string, MatmulOptions] => [`s${splitK}`, { splitK }]),
      ...Object.entries(SMALL_TILES).flatMap(([name, tile]) =>
        [1, 2].map((splitK): [string, MatmulOptions] => [`${name}-s${splitK}`, { splitK, variant: 'tiled', tile: { ...tile, pad: s.transB } }]),
      ),
    ];
    for (const [name, o] of runs) {
      const opts = { ...o, transB: s.transB, transA: s.transA };
      const c = matmul(a, b, opts);
      const err = sampledError((await c.data()) as Float32Array, at, want, s.K);
      c.dispose();
      if (!(err <= 1)) throw new Error(`${s.name} ${name}: ${err} of the f32 bound`);
    }
    for (let round = 0; round < (waves && !quick ? 2 : 1); round++) {
      for (const [name, o] of runs) {
        const opts = { ...o, transB: s.transB, transA: s.transA };
        const timing = await timeGpu(be, () => matmul(a, b, opts).dispose(), quick ? 1 : flop > 1e11 ? 5 : 20, quick ? 3 : 10);
        const tflops = flop / (timing.medianMs * 1e-3) / 1e12;
        row[round === 0 ? name : `${name}-again`] = { timing, tflops };
        console.error(`${s.name} ${s.M}×${s.N}×${s.K} ${name}: ${(timing.medianMs * 1e3).toFixed(1)} µs, ${tflops.toFixed(1)} TFLOP/s${name === `s${auto}` ? ' (auto)' : ''}`);
      }
    }
    rows.push(row);
    for (const x of [a, b] as Tensor[]) x.dispose();
  }
  writeJson(argValue('--json'), { bench: 'matmul-split', commit: gitCommit(), adapter: be.report(), dawnFlags: BENCH_DAWN_FLAGS, rows });
  be.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
