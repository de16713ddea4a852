// The differentiable MoE layer (moeForwardAg): float64 analytic gradients of x, the router weight,
// every expert's gate/up/down and the shared expert against central finite differences (CPU
// references), then each backend's f32 gradients (grouped WGSL backward kernels) against the float64
// ones. Sizes: 1 token, experts that receive no token, T not a multiple of the 64-row tile, groups,
// softmax, no norm, scaled weights. The top-k choice is held fixed by construction (a step of 1e-5
// does not flip it for random inputs; a flip would show as a gross mismatch with the seed logged).
import type { MoeRouterParams } from '@hsa/kernels';
import { type Backend, Tensor } from '@hsa/tensor';
import { type GradCase, gradientSuites, randF32 } from '@hsa/tensor/test-utils';
import { vi } from 'vitest';
import { moeForwardAg } from './train.js';

// the first WebGPU case compiles every MoE pipeline on SwiftShader: ~15 s alone, over a minute under
// the parallel load of `pnpm check`
vi.setConfig({ testTimeout: 240_000 });

type Router = Omit<MoeRouterParams, 'T' | 'E'>;
const router = (k: number, o: Partial<Router> = {}): Router => ({ k, nGroup: 1, topkGroup: 1, scoreFn: 'sigmoid', norm: true, scale: 1, ...o });

interface Dims {
  T: number;
  d: number;
  E: number;
  F: number;
  Fs: number;
}

function moeCase(name: string, m: Dims, r: Router): GradCase {
  const { T, d, E, F, Fs } = m;
  const shapes = [[T, d], [E, d], [E, F, d], [E, F, d], [E, d, F], ...(Fs > 0 ? [[Fs, d], [Fs, d], [d, Fs]] : [])];
  const f = (xs: Tensor[], be: Backend) => {
    const [x, gate, wg, wu, wd, sg, su, sd] = xs;
    const bias = Tensor.from(be, randF32(E, 7, -0.05, 0.05), [E]);
    const shared = Fs > 0 ? { gate: sg, up: su, down: sd } : null;
    const fwd = moeForwardAg(x, { gate, experts: { gate: wg, up: wu, down: wd }, shared }, bias, r);
    for (const t of [bias, fwd.logits, fwd.routing.scores, fwd.routing.idx, fwd.routing.weights, ...fwd.offsets]) t.dispose();
    return fwd.out;
  };
  return { name, shapes, f };
}

const CASES: GradCase[] = [
  moeCase('E=5 k=2 sigmoid, shared expert, T=7', { T: 7, d: 6, E: 5, F: 4, Fs: 4 }, router(2)),
  moeCase('one token, groups, no norm, scale 2.5', { T: 1, d: 5, E: 8, F: 3, Fs: 0 }, router(3, { nGroup: 4, topkGroup: 2, norm: false, scale: 2.5 })),
  moeCase('softmax, k=1, E=12 over 3 tokens (idle experts)', { T: 3, d: 4, E: 12, F: 5, Fs: 3 }, router(1, { scoreFn: 'softmax', scale: 1.5 })),
  moeCase('T=70 (not a multiple of the tile), E=4 k=2', { T: 70, d: 5, E: 4, F: 3, Fs: 0 }, router(2)),
];

// f32 sums of a few dozen terms through sigmoid/softmax: bounded relative to each tensor's largest gradient.
gradientSuites('moeForwardAg', CASES, 2e-4);
