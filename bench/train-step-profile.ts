/**
 * Where a training step's time goes (bench/train-step --profile): the step's pieces timed alone at
 * the benchmark's shapes with the same calls the ag.* backward closures make, times how often a step
 * runs each. The rest of the step (norms, RoPE, SwiGLU, residual adds, the tape's bookkeeping) is the
 * measured step minus their sum.
 */
import {
  type AdamW,
  crossEntropyRows,
  embeddingBackward,
  matmul,
  matmulTransA,
  mul,
  swaAttentionBackward,
  swaAttentionWithLse,
  Tensor,
  type WebGpuBackend,
} from '@hsa/tensor';
import { fillRandom, timeGpu } from './common.js';
import type { DenseConfig } from './train-step-model.js';

export interface Piece {
  name: string;
  /** times per step */
  count: number;
  /** GPU ms of one, median */
  ms: number;
  /** count · ms */
  stepMs: number;
  tflops?: number;
}

const rand = (be: WebGpuBackend, shape: number[], seed: number) =>
  Tensor.from(be, fillRandom(new Float32Array(shape.reduce((a, b) => a * b, 1)), seed), shape);

/** One linear layer y = x·Wᵀ (x [T, din], W [dout, din]) forward + both gradients, as ag.matmul runs them. */
async function linear(be: WebGpuBackend, t: number, din: number, dout: number, count: number, name: string): Promise<Piece> {
  const [x, w, dy] = [rand(be, [t, din], 1), rand(be, [dout, din], 2), rand(be, [t, dout], 3)];
  const step = () => {
    matmul(x, w, { transB: true }).dispose();
    matmul(dy, w).dispose(); // dx = dy·W
    matmulTransA(dy, x).dispose(); // dW = dyᵀ·x (split over the tokens where ag.matmul splits it)
  };
  const tm = await timeGpu(be, step, 1, 5);
  for (const z of [x, w, dy]) z.dispose();
  return { name, count, ms: tm.medianMs, stepMs: count * tm.medianMs, tflops: (6 * t * din * dout) / (tm.medianMs * 1e-3) / 1e12 };
}

/** Causal attention over [T, H, Dh] (flash-style kernels, window = T): the forward, then the backward alone. */
async function attention(be: WebGpuBackend, c: DenseConfig): Promise<Piece[]> {
  const dh = c.d / c.heads;
  const shape = [c.tokens, c.heads, dh];
  const [q, k, v, dy] = [rand(be, shape, 4), rand(be, shape, 5), rand(be, shape, 6), rand(be, shape, 7)];
  const opt = { window: c.tokens };
  const fwd = await timeGpu(
    be,
    () => {
      const r = swaAttentionWithLse(q, k, v, opt);
      r.out.dispose();
      r.lse?.dispose();
    },
    1,
    5,
  );
  const { out, lse } = swaAttentionWithLse(q, k, v, opt);
  const bwd = await timeGpu(
    be,
    () => {
      const g = swaAttentionBackward(q, k, v, out, lse as Tensor, dy, opt);
      for (const z of [g.dq, g.dk, g.dv]) z.dispose();
    },
    1,
    5,
  );
  for (const z of [q, k, v, dy, out, lse as Tensor]) z.dispose();
  // causal q·kᵀ and p·v: 2·T²·d forward, twice that backward (recomputation not counted)
  const flops = 2 * c.tokens * c.tokens * c.d;
  const piece = (name: string, ms: number, f: number): Piece => ({ name, count: c.layers, ms, stepMs: c.layers * ms, tflops: f / (ms * 1e-3) / 1e12 });
  return [piece('attention forward (one layer)', fwd.medianMs, flops), piece('attention backward (one layer)', bwd.medianMs, 2 * flops)];
}

/** Fused cross-entropy over [T, V] and its backward scaling (the LM head's matmuls are `linear`). */
async function crossEntropy(be: WebGpuBackend, c: DenseConfig): Promise<Piece> {
  const logits = rand(be, [c.tokens, c.vocab], 8);
  const targets = Tensor.from(be, Int32Array.from({ length: c.tokens }, (_, i) => (i * 7919) % c.vocab), [c.tokens], 'i32');
  const step = () => {
    const r = crossEntropyRows(logits, targets);
    mul(r.dlogits, 0.5).dispose();
    for (const z of [r.loss, r.dlogits, r.valid]) z.dispose();
  };
  const tm = await timeGpu(be, step, 1, 5);
  for (const z of [logits, targets]) z.dispose();
  return { name: 'cross-entropy fwd+bwd', count: 1, ms: tm.medianMs, stepMs: tm.medianMs };
}

async function embedding(be: WebGpuBackend, c: DenseConfig): Promise<Piece> {
  const ids = Tensor.from(be, Int32Array.from({ length: c.tokens }, (_, i) => (i * 7919) % c.vocab), [c.tokens], 'i32');
  const dy = rand(be, [c.tokens, c.d], 9);
  const tm = await timeGpu(be, () => embeddingBackward(ids, dy, c.vocab).dispose(), 1, 5);
  for (const z of [ids, dy]) z.dispose();
  return { name: 'embedding backward', count: 1, ms: tm.medianMs, stepMs: tm.medianMs };
}

async function optimizer(be: WebGpuBackend, opt: AdamW): Promise<Piece> {
  for (const p of opt.params) p.grad = Tensor.from(be, new Float32Array(p.value.size), p.value.shape);
  const tm = await timeGpu(be, () => opt.update(0), 1, 5);
  opt.zeroGrad();
  return { name: 'AdamW (all parameters)', count: 1, ms: tm.medianMs, stepMs: tm.medianMs };
}

/** The pieces, and the rest of `stepMs`. */
export async function profileStep(be: WebGpuBackend, c: DenseConfig, opt: AdamW, stepMs: number): Promise<{ pieces: Piece[]; restMs: number }> {
  const { tokens: t, d, ffn, layers } = c;
  const pieces = [
    await linear(be, t, d, d, 4 * layers, 'q/k/v/o projection fwd+bwd'),
    await linear(be, t, d, ffn, 2 * layers, 'gate/up fwd+bwd'),
    await linear(be, t, ffn, d, layers, 'down fwd+bwd'),
    await linear(be, t, d, c.vocab, 1, 'LM head fwd+bwd'),
    ...(await attention(be, c)),
    await crossEntropy(be, c),
    await embedding(be, c),
    await optimizer(be, opt),
  ];
  const restMs = stepMs - pieces.reduce((s, p) => s + p.stepMs, 0);
  for (const p of pieces) console.error(`  ${p.name}: ${p.count} × ${p.ms.toFixed(3)} ms = ${p.stepMs.toFixed(2)} ms${p.tflops ? ` (${p.tflops.toFixed(1)} TFLOP/s)` : ''}`);
  console.error(`  rest (norms, RoPE, SwiGLU, adds, copies): ${restMs.toFixed(2)} ms`);
  return { pieces, restMs };
}
