/**
 * `hsa doctor`: which backends exist and why a missing one is missing, the adapter with its features
 * and limits, and a self-check that runs kernels on each backend against the CPU reference.
 * Exits 0 when at least one backend works.
 */
import { bf16ToF32, f32ToBf16 } from '@hsa/kernels';
import { type Backend, createBackend, matmul, Tensor, unary } from '@hsa/tensor';
import type { Command } from 'commander';

export interface BackendCheck {
  backend: 'cpu' | 'webgpu';
  ok: boolean;
  reason?: string;
  adapter?: ReturnType<Backend['report']>;
  selfCheck?: { kernel: string; maxAbsError: number; ok: boolean }[];
  ms?: number;
}

/** Deterministic inputs so the check is reproducible. */
function inputs(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

async function selfCheck(be: Backend): Promise<NonNullable<BackendCheck['selfCheck']>> {
  const [M, N, K] = [67, 129, 33];
  const a = inputs(M * K, 1);
  const b = inputs(N * K, 2);
  const A = Tensor.from(be, a, [M, K]);
  const B = Tensor.from(be, b, [N, K], 'bf16');
  const C = matmul(A, B, { transB: true });
  const S = unary('silu', A);
  const [c, s] = [await C.data(), await S.data()];
  // float64 oracle: C = A · bf16(B)ᵀ and silu(A)
  const bq = Float64Array.from(b, (v) => bf16ToF32(f32ToBf16(v)));
  const refC = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += a[m * K + k] * bq[n * K + k];
      refC[m * N + n] = acc;
    }
  }
  const ref = [refC, Float64Array.from(a, (x) => x / (1 + Math.exp(-x)))];
  const err = (x: ArrayLike<number>, y: ArrayLike<number>) => {
    let m = 0;
    for (let i = 0; i < x.length; i++) m = Math.max(m, Number.isNaN(x[i]) ? Number.POSITIVE_INFINITY : Math.abs(x[i] - y[i]));
    return m;
  };
  for (const t of [A, B, C, S]) t.dispose();
  const mm = err(c, ref[0]);
  const si = err(s, ref[1]);
  return [
    { kernel: `matmul ${M}×${K}·(${N}×${K})ᵀ bf16`, maxAbsError: mm, ok: mm < 1e-4 },
    { kernel: `silu ${M * K}`, maxAbsError: si, ok: si < 1e-5 },
  ];
}

export async function runDoctor(): Promise<BackendCheck[]> {
  const results: BackendCheck[] = [];
  for (const name of ['webgpu', 'cpu'] as const) {
    const t0 = performance.now();
    try {
      const be = await createBackend(name);
      const checks = await selfCheck(be);
      results.push({ backend: name, ok: checks.every((c) => c.ok), adapter: be.report(), selfCheck: checks, ms: performance.now() - t0 });
      if (name === 'webgpu') be.destroy();
    } catch (e) {
      results.push({ backend: name, ok: false, reason: (e as Error).message, ms: performance.now() - t0 });
    }
  }
  return results;
}

function print(results: BackendCheck[]): void {
  for (const r of results) {
    console.log(`${r.ok ? '✔' : '✘'} ${r.backend}${r.reason ? `: ${r.reason}` : ''}`);
    if (r.adapter) {
      console.log(`    adapter   ${r.adapter.description}${r.adapter.software ? ' (software)' : ''}`);
      if (r.adapter.note) console.log(`    note      ${r.adapter.note}`);
      if (r.adapter.features.length) console.log(`    features  ${r.adapter.features.join(', ')}`);
      const l = r.adapter.limits;
      const pick = ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupStorageSize'];
      const shown = pick.filter((k) => k in l).map((k) => `${k}=${l[k]}`);
      if (shown.length) console.log(`    limits    ${shown.join(' ')}`);
    }
    for (const c of r.selfCheck ?? []) {
      console.log(`    ${c.ok ? 'ok  ' : 'FAIL'}      ${c.kernel}: max |Δ| vs float64 ${c.maxAbsError.toExponential(2)}`);
    }
  }
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('list backends, the adapter, its features and limits, and self-check kernels on each')
    .option('--json', 'print JSON instead of text')
    .action(async (opts: { json?: boolean }) => {
      const results = await runDoctor();
      if (opts.json) console.log(JSON.stringify(results, null, 2));
      else print(results);
      const ok = results.some((r) => r.ok);
      if (!ok) console.error('no backend works');
      process.exitCode = ok ? 0 : 1;
    });
}
