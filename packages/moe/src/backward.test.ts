// Float64 finite differences of the MoE backward references (routed experts, router weights, combine
// weights, shared expert, the optional sequence-level balance loss); the top-k choice is held fixed
// (a step of 1e-6 does not flip it for these random inputs).
import { type FloatArray, moeLayerBackwardRef, moeLayerForwardRef, moeSeqAuxLossBackwardRef, moeSeqAuxLossRef } from '@hsa/kernels';
import { freshSeed, randF32 } from '@hsa/tensor/test-utils';
import { describe, expect, it } from 'vitest';
import { randomLayer } from './test-utils/layer.js';

const H = 1e-6;

/** Central difference of f at a few random entries of arr, against the analytic gradient. */
function checkGrad(arr: FloatArray, grad: ArrayLike<number>, f: () => number, label: string, samples = 12): void {
  for (let s = 0; s < samples; s++) {
    const i = Math.floor(Math.random() * arr.length);
    const v = arr[i];
    arr[i] = v + H;
    const up = f();
    arr[i] = v - H;
    const down = f();
    arr[i] = v;
    const fd = (up - down) / (2 * H);
    // float64 central differences: O(h²) truncation + O(ε/h) rounding, both ≪ 1e-6 here
    expect(Math.abs(fd - grad[i]), `${label}[${i}]: fd ${fd}, analytic ${grad[i]}`).toBeLessThan(1e-6 * (1 + Math.abs(fd)));
  }
}

const CONFIGS = [
  { hidden_size: 6, num_experts: 5, num_experts_per_tok: 2, moe_intermediate_size: 4, num_shared_experts: 1 },
  { hidden_size: 5, num_experts: 8, num_experts_per_tok: 3, moe_intermediate_size: 3, n_group: 4, topk_group: 2, norm_topk_prob: false, routed_scaling_factor: 2.5 },
  { hidden_size: 4, num_experts: 6, num_experts_per_tok: 2, moe_intermediate_size: 5, score_function: 'softmax' as const, routed_scaling_factor: 1.5 },
];

describe('MoE backward references (float64 finite differences)', () => {
  it.each(CONFIGS)('gradients of x, router, experts, shared expert: %o', (json) => {
    const seed = freshSeed();
    const L = randomLayer(json, seed, [-0.3, 0.3]);
    const T = 7;
    const d = L.config.hidden;
    const x = Float64Array.from(randF32(T * d, seed + 1));
    const dout = Float64Array.from(randF32(T * d, seed + 2));
    const W = L.ref;
    const dims = L.dims(T);
    const loss = () => moeLayerForwardRef(x, W, dims).out.reduce((s, v, i) => s + v * dout[i], 0);
    const fwd = moeLayerForwardRef(x, W, dims);
    const g = moeLayerBackwardRef(x, W, dims, fwd, dout);
    checkGrad(x, g.x, loss, `x seed=${seed}`);
    checkGrad(W.gate, g.gate, loss, `gate seed=${seed}`);
    checkGrad(W.wg, g.wg, loss, `wg seed=${seed}`, 30);
    checkGrad(W.wu, g.wu, loss, `wu seed=${seed}`, 30);
    checkGrad(W.wd, g.wd, loss, `wd seed=${seed}`, 30);
    if (W.shared && g.shared) {
      checkGrad(W.shared.wg, g.shared.wg, loss, `shared wg seed=${seed}`);
      checkGrad(W.shared.wd, g.shared.wd, loss, `shared wd seed=${seed}`);
    }
    // the combine weights: perturbing w_tj directly changes out by δ·y_tj
    const y = fwd.y;
    for (let a = 0; a < T * L.config.topk; a++) {
      const t = Math.floor(a / L.config.topk);
      let s = 0;
      for (let c = 0; c < d; c++) s += dout[t * d + c] * y[a * d + c];
      expect(Math.abs(g.weights[a] - s)).toBeLessThan(1e-12 * (1 + Math.abs(s)));
    }
  });

  it.each(['sigmoid', 'softmax'] as const)('sequence-level balance loss gradient (%s)', (scoreFn) => {
    const seed = freshSeed();
    const p = { T: 9, E: 6, k: 2, alpha: 0.3, scoreFn };
    const logits = Float64Array.from(randF32(p.T * p.E, seed, -2, 2));
    const scores = (r: Float64Array) =>
      Float64Array.from(r, (v, i) => {
        if (scoreFn === 'sigmoid') return 1 / (1 + Math.exp(-v));
        const row = r.subarray(Math.floor(i / p.E) * p.E, Math.floor(i / p.E) * p.E + p.E);
        const m = Math.max(...row);
        return Math.exp(v - m) / row.reduce((s, u) => s + Math.exp(u - m), 0);
      });
    const idx = Array.from({ length: p.T * p.k }, (_, a) => (a * 5 + Math.floor(a / p.k)) % p.E);
    const dr = moeSeqAuxLossBackwardRef(scores(logits), idx, p);
    checkGrad(logits, dr, () => moeSeqAuxLossRef(scores(logits), idx, p), `aux seed=${seed}`, 20);
    // perfectly uniform routing and scores give the loss its minimum α
    const flat = new Float64Array(p.T * p.E).fill(0.5);
    const even = Array.from({ length: p.T * p.k }, (_, a) => a % p.E);
    expect(moeSeqAuxLossRef(flat, even.slice(0, 6), { ...p, T: 3 })).toBeCloseTo(p.alpha, 12);
  });
});
