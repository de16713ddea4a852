import { expect, it } from 'vitest';
import { runDoctor } from './doctor.js';

it('finds the CPU backend, and WebGPU unless explicitly skipped, and self-checks both', async () => {
  const results = await runDoctor();
  const cpu = results.find((r) => r.backend === 'cpu')!;
  expect(cpu.ok).toBe(true);
  expect(cpu.selfCheck?.every((c) => c.ok && c.maxAbsError < 1e-4)).toBe(true);
  const gpu = results.find((r) => r.backend === 'webgpu')!;
  if (process.env.HSA_SKIP_WEBGPU !== '1') {
    expect(gpu.reason).toBeUndefined();
    expect(gpu.ok).toBe(true);
    expect(gpu.adapter?.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
  }
});
