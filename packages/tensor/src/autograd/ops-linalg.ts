/**
 * Differentiable matmul. With C = op(A)·op(B) (op = transpose where the flag is set):
 *   dA = dC·op(B)ᵀ (or op(B)·dCᵀ when transA),  dB = op(A)ᵀ·dC (or dCᵀ·op(A) when transB),
 * each one call of the existing matmul with trans flags, so no copy is made. A B shared by the batch
 * (nn.Linear weights) gets its gradient from the batch folded into rows: one [K, batch·M]·[batch·M, N].
 * A weight gradient Xᵀ·Y with a long shared dim (the tokens) and a small output is split over that
 * dim into S batched products summed in order (split-K; deterministic), so it fills the GPU.
 * A 2-D A against a batch of B (fused projections, [T, d] · [G, N, d]ᵀ) sums its G input gradients
 * and takes the G weight gradients as one batched (split-K) product.
 */
import { UnsupportedError } from '@hsa/kernels';
import { type MatmulOptions, matmul as mm } from '../ops/matmul.js';
import { sum } from '../ops/reduce.js';
import { numel, type Tensor } from '../tensor.js';
import { reduceToShape } from './ops-elementwise.js';
import { keep, record, shouldRecord } from './tape.js';

/** A 2-D A against a batch of B (broadcast A, one input times several weights). */
const sharedA = (a: Tensor, b: Tensor): boolean => a.rank === 2 && b.rank > 2 && numel(b.shape.slice(0, -2)) > 1;

function gradA(a: Tensor, b: Tensor, dy: Tensor, tA: boolean, tB: boolean): Tensor {
  if (b.rank === 2 && a.rank > 2 && tA) throw new UnsupportedError('ag.matmul: transA with a shared (rank-2) B has no backward; transpose A explicitly');
  const g = tA ? mm(b, dy, { transA: tB, transB: true }) : mm(dy, b, { transB: !tB });
  // a broadcast A sums its batch of gradients (in order: deterministic)
  return sharedA(a, b) ? reduceToShape(g, a.shape) : g;
}

/**
 * Most 128² output tiles a split-K Xᵀ·Y aims at: three waves of a 132-SM GPU. bench/matmul-split
 * --waves (H200, the parts' sum included): 1536 × 512 × 4096 in 8 parts 203 µs against 240 in 4 (the
 * limit was 264 tiles: 4 parts), 352 whole; 512 × 512 × 4096 in 8 76 against 90 in 4.
 */
const SPLIT_MAX_TILES = 3 * 132;

/** Splits of a split-K Xᵀ·Y (1: none): powers of two up to 16 while the output tiles stay ≤ SPLIT_MAX_TILES. */
export function splitKFactor(k: number, m: number, n: number): number {
  if (k < 2048) return 1;
  const tiles = Math.ceil(m / 128) * Math.ceil(n / 128);
  let s = 1;
  while (s < 16 && tiles * s * 2 <= SPLIT_MAX_TILES && k % (s * 2) === 0 && k / (s * 2) >= 256) s *= 2;
  return s;
}

/** xᵀ·y for x [K, M], y [K, N] (f32, 2-D): split over K into batched products when that fills the GPU. */
export function matmulTransA(x: Tensor, y: Tensor): Tensor {
  const [k, m] = x.shape;
  const s = splitKFactor(k, m, y.shape[1]);
  if (s === 1) return mm(x, y, { transA: true });
  const x3 = x.reshape([s, k / s, m]);
  const y3 = y.reshape([s, k / s, y.shape[1]]);
  const parts = mm(x3, y3, { transA: true });
  const g = sum(parts, 0);
  for (const t of [x3, y3, parts]) t.dispose();
  return g;
}

function gradB(a: Tensor, b: Tensor, dy: Tensor, tA: boolean, tB: boolean): Tensor {
  if (sharedA(a, b) && !tA) {
    // dB_g = Aᵀ·dY_g (or dY_gᵀ·A): one batched product over the tokens, split-K like matmulTransA
    const batch = numel(b.shape.slice(0, -2));
    const [rows, cols] = tB ? [dy.shape[dy.rank - 1], a.shape[1]] : [a.shape[1], dy.shape[dy.rank - 1]];
    const splitK = splitKFactor(a.shape[0], batch * rows, cols);
    return tB ? mm(dy, a, { transA: true, splitK }) : mm(a, dy, { transA: true, splitK });
  }
  const shared = b.rank === 2 && a.rank > 2;
  // a non-contiguous 2-D A (a transposed view) keeps the copy-free transposed-operand path below
  if (!tA && (shared || (a.rank === 2 && b.rank === 2 && a.isContiguous))) {
    const a2 = a.reshape([numel(a.shape.slice(0, -1)), a.shape[a.rank - 1]]);
    const d2 = dy.reshape([a2.shape[0], dy.shape[dy.rank - 1]]);
    const g = tB ? matmulTransA(d2, a2) : matmulTransA(a2, d2);
    a2.dispose();
    d2.dispose();
    return g;
  }
  const g = tB ? mm(dy, a, { transA: true, transB: tA }) : mm(a, dy, { transA: !tA });
  return shared ? reduceToShape(g, b.shape) : g;
}

/** matmul(a, b) (see ops/matmul) with gradients for both operands (f32). */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const out = mm(a, b, options);
  if (!shouldRecord(a, b)) return out;
  const tA = options.transA ?? false;
  const tB = options.transB ?? false;
  const sa = keep(a);
  const sb = keep(b);
  return record({
    op: 'matmul',
    inputs: [a, b],
    output: out,
    saved: [sa, sb],
    backward: (dy) => [gradA(sa, sb, dy, tA, tB), gradB(sa, sb, dy, tA, tB)],
  });
}
