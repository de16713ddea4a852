/**
 * bench/overlap: whether independent dispatches in one compute pass run concurrently through Dawn.
 * The step's one-wave GEMM (4096 × 512 × 512, x·Wᵀ: 128 tiles of 128², one workgroup an SM) timed
 * alone, then n of them back to back that share only their read-only input (distinct outputs: Dawn
 * needs no barrier between them), then the same n writing one output (a barrier between each). Each
 * output is checked against float64 on sampled entries first.
 *   node .device-kit/overlap.mjs [--json OUT.json]
 */
import { type MatmulParams, matmul } from '@hsa/kernels';
import { Tensor, WebGpuBackend } from '@hsa/tensor';
import { argValue, BENCH_DAWN_FLAGS, gitCommit, sampledError, samples, timeGpu, writeJson } from './common.js';
import { heat, randomTensor } from './fill.js';

async function main() {
  const be = await WebGpuBackend.create({ dawnFlags: BENCH_DAWN_FLAGS });
  await heat(be, 1000);
  const [M, N, K] = [4096, 512, 512];
  const p: MatmulParams = { batch: 1, M, N, K, transA: false, transB: true, bDtype: 'f32', strideA: 0, strideB: 0, strideC: 0 };
  const x = randomTensor(be, [M, K], 1);
  const ws = [2, 3, 4].map((s) => randomTensor(be, [N, K], s));
  const outs = ws.map(() => Tensor.empty(be, [M, N]));
  const [xh, wh] = [(await x.data()) as Float32Array, await Promise.all(ws.map(async (w) => (await w.data()) as Float32Array))];
  const at = samples(256, M * N, 5);
  for (const [i, w] of ws.entries()) {
    be.run(matmul, p, [x.arg(), w.arg(), outs[i].arg()]);
    const want = (e: number) => {
      const [m, n] = [Math.floor(e / N), e % N];
      let v = 0;
      let mag = 0;
      for (let k = 0; k < K; k++) {
        v += xh[m * K + k] * wh[i][n * K + k];
        mag += Math.abs(xh[m * K + k] * wh[i][n * K + k]);
      }
      return { v, mag };
    };
    const err = sampledError((await outs[i].data()) as Float32Array, at, want, K);
    if (!(err <= 1)) throw new Error(`GEMM ${i}: ${err} of the f32 bound`);
  }
  const rows: Record<string, number[]> = {};
  const time = async (name: string, step: () => void) => {
    (rows[name] ??= []).push((await timeGpu(be, step, 20, 10)).medianMs * 1e3);
  };
  for (let round = 0; round < 3; round++) {
    await time('one GEMM', () => be.run(matmul, p, [x.arg(), ws[0].arg(), outs[0].arg()]));
    for (const n of [2, 3]) {
      await time(`${n} GEMMs, distinct outputs`, () => {
        for (let i = 0; i < n; i++) be.run(matmul, p, [x.arg(), ws[i].arg(), outs[i].arg()]);
      });
      await time(`${n} GEMMs, one output`, () => {
        for (let i = 0; i < n; i++) be.run(matmul, p, [x.arg(), ws[i].arg(), outs[0].arg()]);
      });
    }
  }
  for (const [name, t] of Object.entries(rows)) console.error(`${name}: ${t.map((v) => v.toFixed(1)).join(' / ')} µs`);
  writeJson(argValue('--json'), { bench: 'overlap', commit: gitCommit(), adapter: be.report(), shape: { M, N, K, transB: true }, microseconds: rows });
  be.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
