/**
 * Global gradient norm, its finiteness check, and the clipping factor. The per-tensor Σg² are reduced
 * on the device and read back in one transfer; a NaN or Inf names the first offending parameter.
 */
import { NumericError } from '@hsa/kernels';
import type { Parameter } from '../autograd/parameter.js';
import { mul } from '../ops/binary.js';
import { concat } from '../ops/copy.js';
import { sum } from '../ops/reduce.js';
import type { Tensor } from '../tensor.js';

function sumSquares(g: Tensor): Tensor {
  const flat = g.reshape([-1]);
  const sq = mul(flat, flat);
  const s = sum(sq, 0, { keepDims: true });
  flat.dispose();
  sq.dispose();
  return s;
}

/** √Σ‖g‖² over the parameters with gradients (times `scale`); throws NumericError on NaN/Inf. */
export async function globalGradNorm(params: readonly Parameter[], scale = 1): Promise<number> {
  const withGrad = params.filter((p) => p.grad && p.grad.size > 0);
  if (withGrad.length === 0) return 0;
  const parts = withGrad.map((p) => sumSquares(p.grad as Tensor));
  const all = concat(parts, 0);
  for (const t of parts) t.dispose();
  const sq = await all.data();
  all.dispose();
  let total = 0;
  for (let i = 0; i < sq.length; i++) {
    if (!Number.isFinite(sq[i])) {
      throw new NumericError(`gradient of parameter '${withGrad[i].name}' holds NaN or Inf (Σg² = ${sq[i]}); the step was not applied`);
    }
    total += sq[i];
  }
  return Math.sqrt(total) * scale;
}

/** The factor that brings a gradient of norm `norm` to at most `maxNorm` (PyTorch's clip_grad_norm_). */
export function clipFactor(norm: number, maxNorm: number | undefined): number {
  if (maxNorm === undefined || !(maxNorm > 0)) return 1;
  return Math.min(1, maxNorm / (norm + 1e-6));
}
