/**
 * Differentiable matmul. With C = op(A)·op(B) (op = transpose where the flag is set):
 *   dA = dC·op(B)ᵀ (or op(B)·dCᵀ when transA),  dB = op(A)ᵀ·dC (or dCᵀ·op(A) when transB),
 * each one call of the existing matmul with trans flags, so no copy is made. A B shared by the batch
 * (nn.Linear weights) gets its gradient from the batch folded into rows: one [K, batch·M]·[batch·M, N].
 */
import { UnsupportedError } from '@hsa/kernels';
import { type MatmulOptions, matmul as mm } from '../ops/matmul.js';
import { numel, type Tensor } from '../tensor.js';
import { reduceToShape } from './ops-elementwise.js';
import { keep, record, shouldRecord } from './tape.js';

function gradA(a: Tensor, b: Tensor, dy: Tensor, tA: boolean, tB: boolean): Tensor {
  if (!tA) return mm(dy, b, { transB: !tB });
  if (b.rank === 2 && a.rank > 2) throw new UnsupportedError('ag.matmul: transA with a shared (rank-2) B has no backward; transpose A explicitly');
  return mm(b, dy, { transA: tB, transB: true });
}

function gradB(a: Tensor, b: Tensor, dy: Tensor, tA: boolean, tB: boolean): Tensor {
  const shared = b.rank === 2 && a.rank > 2;
  if (shared && !tA) {
    const m = a.shape[a.rank - 2];
    const a2 = a.reshape([numel(a.shape.slice(0, -2)) * m, a.shape[a.rank - 1]]);
    const d2 = dy.reshape([a2.shape[0], dy.shape[dy.rank - 1]]);
    const g = tB ? mm(d2, a2, { transA: true }) : mm(a2, d2, { transA: true });
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
