// Token blocks under the binding limit: with maxBindingBytes lowered so that 200 tokens take four
// blocks, every binding of the MoE kernels stays within the limit, and the output and all gradients
// equal those of one block on the CPU (up to the order of f32 sums).
import { ag, type Backend, backward, CpuBackend, type KernelArg, Parameter, Tensor, WebGpuBackend } from '@hsa/tensor';
import { expectClose, freshSeed, randF32 } from '@hsa/tensor/test-utils';
import { describe, expect, it, vi } from 'vitest';
import { tokenBlocks } from './blocks.js';
import { moeForwardAg } from './train.js';

// x [T, d] (12.5 KiB) fits the lowered limit, the [T·k, F] intermediates (62.5 KiB) do not
const [T, d, E, F, k] = [200, 16, 5, 40, 2];
// a fresh WebGPU device compiles every MoE pipeline on SwiftShader: ~20 s alone, more under `pnpm check`
vi.setConfig({ testTimeout: 240_000 });
const LIMIT = 24 * 1024;

/** Throws when a MoE or SwiGLU kernel binds more than the backend's limit. */
function guardBindings(be: Backend): string[] {
  const seen: string[] = [];
  const run = be.run.bind(be);
  be.run = (kernel, params, args: readonly KernelArg[]) => {
    if (/^(moe|swiglu)/.test(kernel.name)) {
      for (const a of args) {
        const bytes = a.bytes ?? a.storage.bytes - (a.byteOffset ?? 0);
        if (bytes > be.maxBindingBytes) throw new Error(`${kernel.name} binds ${bytes} bytes over the ${be.maxBindingBytes}-byte limit`);
      }
      seen.push(kernel.name);
    }
    run(kernel, params, args);
  };
  return seen;
}

async function grads(be: Backend, seed: number): Promise<Float32Array[]> {
  const shapes = [[T, d], [E, d], [E, F, d], [E, F, d], [E, d, F]];
  const ps = shapes.map((s, i) => new Parameter(`p${i}`, Tensor.from(be, randF32(s.reduce((a, b) => a * b, 1), seed + i), s)));
  const [x, gate, wg, wu, wd] = ps.map((p) => p.value);
  const bias = Tensor.from(be, new Float32Array(E), [E]);
  const f = moeForwardAg(x, { gate, experts: { gate: wg, up: wu, down: wd }, shared: null }, bias, { k, nGroup: 1, topkGroup: 1, scoreFn: 'sigmoid', norm: true, scale: 1 });
  const r = Tensor.from(be, randF32(T * d, seed + 9), [T, d]);
  const out = (await f.out.data()) as Float32Array;
  const prod = ag.mul(f.out, r);
  const flat = ag.reshape(prod, [-1]);
  backward(ag.sum(flat, 0));
  const res = [out];
  for (const p of ps) res.push((await p.grad!.data()) as Float32Array);
  return res;
}

const makers: [string, (limit: number) => Promise<Backend>][] = [['cpu', async (limit) => new CpuBackend({ maxBindingBytes: limit, poison: true })]];
if (process.env.HSA_SKIP_WEBGPU !== '1') makers.push(['webgpu', (limit) => WebGpuBackend.create({ maxBindingBytes: limit, poison: true })]);

describe.each(makers)('MoE token blocks on %s', (_n, make) => {
  it('keep every binding under a lowered limit, repeat bit for bit and give the gradients of one block', async () => {
    const seed = freshSeed();
    const small = await make(LIMIT);
    expect(tokenBlocks(small, T, k, d, F).map((b) => b.t1 - b.t0)).toEqual([64, 64, 64, 8]);
    const seen = guardBindings(small);
    const got = await grads(small, seed);
    expect(seen).toContain('moeWeightGrad');
    // deterministic: no float atomics, fixed summation orders, so a second run is bit-identical
    const again = await grads(small, seed);
    again.forEach((g, i) => {
      expect(Array.from(g), `tensor ${i}`).toEqual(Array.from(got[i]));
    });
    const want = await grads(new CpuBackend(), seed);
    got.forEach((g, i) => {
      const m = want[i].reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      // against one block on the CPU: the same math, summed in another order (blocks, GPU tiles) in f32
      expectClose(g, want[i], 1e-4 * m + 1e-30, `seed ${seed} tensor ${i}`);
    });
    small.destroy();
  });
});
