/**
 * gpu.js matmul against the CPU backend's reference (llm.c style: the GPU result validated against
 * the plain-TS one), through the backends' `run` as the model calls it: every transpose layout,
 * packed bf16 weights, a column block (ldc), batches that fold into one product and one that must
 * stay on the CPU. Bound per element: |Δ| ≤ 2·K·ε_f32·Σ|a·b| (each side within K·ε·Σ|terms| of the
 * exact sum). selfcheck.html runs it; the result is JSON in body[data-selfcheck].
 */
import { type MatmulParams, matmul as matmulKernel, packHalf, unpackHalf } from '@hsa/kernels';
import { type Backend, CpuBackend } from '@hsa/tensor';
import { GpuJsBackend } from './gpujs-backend.js';

const EPS = 2 ** -23;

interface Case {
  name: string;
  p: MatmulParams;
  /** whether the product should go through gpu.js */
  gpu: boolean;
}

const base = { batch: 1, transA: false, transB: false, bDtype: 'f32', strideA: 0, strideB: 0, strideC: 0 } as const;
const CASES: Case[] = [
  { name: 'nn f32', p: { ...base, M: 5, N: 7, K: 13 }, gpu: true },
  { name: 'nt f32', p: { ...base, M: 5, N: 7, K: 13, transB: true }, gpu: true },
  { name: 'tn f32', p: { ...base, M: 5, N: 7, K: 13, transA: true }, gpu: true },
  { name: 'tt f32', p: { ...base, M: 5, N: 7, K: 13, transA: true, transB: true }, gpu: true },
  { name: 'decode row, bf16 weight', p: { ...base, M: 1, N: 300, K: 64, transB: true, bDtype: 'bf16' }, gpu: true },
  { name: 'column block (ldc), bf16', p: { ...base, M: 33, N: 96, K: 64, transB: true, bDtype: 'bf16', ldc: 128 }, gpu: true },
  { name: 'batch folded (shared weight)', p: { ...base, batch: 3, M: 4, N: 8, K: 16, transB: true, bDtype: 'bf16', strideA: 64, strideC: 32 }, gpu: true },
  { name: 'batch of own weights (CPU)', p: { ...base, batch: 2, M: 4, N: 8, K: 16, transB: true, strideA: 64, strideB: 128, strideC: 32 }, gpu: false },
];

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

const sizes = (p: MatmulParams) => ({
  a: (p.batch - 1) * p.strideA + p.M * p.K,
  b: (p.batch - 1) * p.strideB + p.N * p.K,
  c: (p.batch - 1) * p.strideC + p.M * (p.ldc ?? p.N),
});

async function runOn(backend: Backend, p: MatmulParams, a: Float32Array, b: Float32Array | Uint16Array, cLength: number): Promise<Float32Array> {
  const [sa, sb, sc] = [backend.alloc(a.byteLength), backend.alloc(b.byteLength), backend.alloc(cLength * 4)];
  backend.write(sa, a);
  backend.write(sb, b);
  backend.run(matmulKernel, p, [
    { storage: sa, dtype: 'f32' },
    { storage: sb, dtype: p.bDtype },
    { storage: sc, dtype: 'f32' },
  ]);
  const out = new Float32Array(await backend.read(sc, 0, cLength * 4));
  for (const s of [sa, sb, sc]) backend.release(s);
  return out;
}

/** Σ|a·b| per output element, in float64, for the bound. */
function magnitudes(p: MatmulParams, a: Float32Array, b: Float32Array, cLength: number): Float64Array {
  const m = new Float64Array(cLength);
  const ldc = p.ldc ?? p.N;
  for (let bi = 0; bi < p.batch; bi++)
    for (let i = 0; i < p.M; i++)
      for (let j = 0; j < p.N; j++) {
        let s = 0;
        for (let k = 0; k < p.K; k++) {
          const av = a[bi * p.strideA + (p.transA ? k * p.M + i : i * p.K + k)];
          const bv = b[bi * p.strideB + (p.transB ? j * p.K + k : k * p.N + j)];
          s += Math.abs(av * bv);
        }
        m[bi * p.strideC + i * ldc + j] = s;
      }
  return m;
}

/** A weight used twice (its texture reused), then rewritten in place (its texture must be dropped). */
async function rewrittenWeight(cpu: CpuBackend, gpu: GpuJsBackend) {
  const p: MatmulParams = { ...base, M: 3, N: 16, K: 32, transB: true, bDtype: 'bf16' };
  const a = random(p.M * p.K, 101);
  const [w1, w2] = [packHalf(random(p.N * p.K, 102), 'bf16'), packHalf(random(p.N * p.K, 103), 'bf16')];
  const run = async (backend: Backend, sb: ReturnType<Backend['alloc']>) => {
    const [sa, sc] = [backend.alloc(a.byteLength), backend.alloc(p.M * p.N * 4)];
    backend.write(sa, a);
    backend.run(matmulKernel, p, [
      { storage: sa, dtype: 'f32' },
      { storage: sb, dtype: 'bf16' },
      { storage: sc, dtype: 'f32' },
    ]);
    return new Float32Array(await backend.read(sc, 0, p.M * p.N * 4));
  };
  const sb = gpu.alloc(w1.byteLength);
  gpu.write(sb, w1);
  const calls = gpu.gpujs.calls;
  const first = await run(gpu, sb);
  const again = await run(gpu, sb);
  gpu.write(sb, w2);
  const second = await run(gpu, sb);
  const ref = async (w: Uint16Array) => {
    const s = cpu.alloc(w.byteLength);
    cpu.write(s, w);
    return run(cpu, s);
  };
  const [want1, want2] = [await ref(w1), await ref(w2)];
  let ratio = 0;
  for (const [got, want, w] of [[first, want1, w1], [again, want1, w1], [second, want2, w2]] as const) {
    const mag = magnitudes(p, a, unpackHalf(w, 'bf16'), p.M * p.N);
    for (let j = 0; j < got.length; j++) ratio = Math.max(ratio, Math.abs(got[j] - want[j]) / (2 * p.K * EPS * mag[j] + 1e-30));
  }
  const viaGpu = gpu.gpujs.calls === calls + 3;
  return { name: 'weight reused, then rewritten', ratio, viaGpu, ok: ratio <= 1 && viaGpu };
}

export async function selfCheck(): Promise<{ name: string; ratio: number; viaGpu: boolean; ok: boolean }[]> {
  const cpu = new CpuBackend();
  const gpu = new GpuJsBackend({ minWork: 0 });
  const results = [];
  for (const [i, c] of CASES.entries()) {
    const n = sizes(c.p);
    const a = random(n.a, 2 * i + 1);
    const b32 = random(n.b, 2 * i + 2);
    const b = c.p.bDtype === 'f32' ? b32 : packHalf(b32, c.p.bDtype);
    const bExact = c.p.bDtype === 'f32' ? b32 : unpackHalf(b as Uint16Array, c.p.bDtype);
    const calls = gpu.gpujs.calls;
    const [want, got] = [await runOn(cpu, c.p, a, b, n.c), await runOn(gpu, c.p, a, b, n.c)];
    const mag = magnitudes(c.p, a, bExact, n.c);
    let ratio = 0;
    for (let j = 0; j < n.c; j++) ratio = Math.max(ratio, Math.abs(got[j] - want[j]) / (2 * c.p.K * EPS * mag[j] + 1e-30));
    const viaGpu = gpu.gpujs.calls > calls;
    results.push({ name: c.name, ratio, viaGpu, ok: ratio <= 1 && viaGpu === c.gpu });
  }
  results.push(await rewrittenWeight(cpu, gpu));
  gpu.destroy();
  return results;
}

if (typeof document !== 'undefined' && document.getElementById('out')) {
  selfCheck().then(
    (r) => {
      document.body.dataset.selfcheck = JSON.stringify(r);
      document.getElementById('out')!.textContent = r.map((x) => `${x.ok ? 'ok  ' : 'FAIL'} ${x.name}: |Δ|/bound ${x.ratio.toExponential(2)}, gpu.js ${x.viaGpu}`).join('\n');
    },
    (e) => {
      document.body.dataset.selfcheck = JSON.stringify({ error: String(e) });
      document.getElementById('out')!.textContent = String(e);
    },
  );
}
