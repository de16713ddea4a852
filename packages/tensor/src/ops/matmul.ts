/**
 * matmul(a, b): a [..., M, K] · b [..., K, N] (or b [N, K] with transB, the nn.Linear layout).
 * b may be f32 or packed f16/bf16; a and the result are f32. b's batch dims must equal a's or be
 * absent (one matrix for all); a 2-D a against a batch of b is broadcast (one input times several
 * weights in one dispatch: [M, K] · [G, K, N] → [G, M, N]). A transposed view costs no copy: it flips the operand's trans flag.
 * Operands over the backend's binding limit are processed in row blocks (of A/C, and of B when
 * transB), each bound as a range of the one buffer. A call that leaves the GPU idle (fewer output
 * tiles than one wave) over a long K is split over K (matmulSplitK), the parts summed in order.
 */
import { ArgumentError, type MatmulParams, matmul as matmulKernel, matmulSplitK, ShapeError } from '@hsa/kernels';
import { contiguousStrides, fmtShape, numel, Tensor } from '../tensor.js';
import { expectDtype, sameBackend } from './guards.js';
import { sum } from './reduce.js';

export interface MatmulOptions extends Pick<MatmulParams, 'variant' | 'tile' | 'matvec' | 'matvecShape'> {
  transA?: boolean;
  transB?: boolean;
  /**
   * Split K into S parts computed as separate output tiles, then summed in order (deterministic):
   * more workgroups where the output alone leaves the GPU idle. Default: matmulSplitK's rule.
   */
  splitK?: number;
}

/** The tensor to bind and the effective trans flag: a transposed contiguous view binds its base. */
function operand(t: Tensor, trans: boolean): { t: Tensor; trans: boolean } {
  const r = t.rank;
  if (t.isContiguous && t.offset === 0) return { t: t.contiguous(), trans };
  const swapped = [...t.shape];
  [swapped[r - 2], swapped[r - 1]] = [swapped[r - 1], swapped[r - 2]];
  const cs = contiguousStrides(swapped);
  const isT = t.offset === 0 && t.strides[r - 1] === cs[r - 2] && t.strides[r - 2] === 1 && t.shape.slice(0, -2).every((_, i) => t.strides[i] === cs[i]);
  if (isT) {
    const base = t.transpose(-2, -1);
    const c = base.contiguous();
    base.dispose();
    return { t: c, trans: !trans };
  }
  return { t: t.contiguous(), trans };
}

export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const op = 'matmul';
  sameBackend(op, a, b);
  expectDtype(op, a, 'f32');
  expectDtype(op, b, 'f32', 'f16', 'bf16');
  if (a.rank < 2 || b.rank < 2) throw new ShapeError(`${op}: operands need rank ≥ 2, got A ${fmtShape(a.shape)}, B ${fmtShape(b.shape)}`);
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const [M, K] = transA ? [a.shape[a.rank - 1], a.shape[a.rank - 2]] : [a.shape[a.rank - 2], a.shape[a.rank - 1]];
  const [Kb, N] = transB ? [b.shape[b.rank - 1], b.shape[b.rank - 2]] : [b.shape[b.rank - 2], b.shape[b.rank - 1]];
  const desc = `A ${fmtShape(a.shape)}${transA ? 'ᵀ' : ''} · B ${fmtShape(b.shape)}${transB ? 'ᵀ' : ''}`;
  if (K !== Kb) throw new ShapeError(`${op}: ${desc}: inner dimensions ${K} ≠ ${Kb}`);
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  // a 2-D A against a batch of B (one input, several weights: fused projections) is broadcast
  const broadcastA = batchA.length === 0 && numel(batchB) > 1;
  const batch = broadcastA ? numel(batchB) : numel(batchA);
  const bBatch = numel(batchB);
  if (!broadcastA && batchB.length > 0 && (batchB.length !== batchA.length || batchB.some((d, i) => d !== batchA[i]))) {
    if (bBatch !== 1) throw new ShapeError(`${op}: ${desc}: batch dims ${fmtShape(batchB)} do not match ${fmtShape(batchA)}`);
  }
  if (b.dtype !== 'f32' && !b.isContiguous) throw new ArgumentError(`${op}: packed ${b.dtype} B must be contiguous`);
  const A = operand(a, transA);
  const B = operand(b, transB);
  const outShape = [...(broadcastA ? batchB : batchA), M, N];
  const broadcastB = bBatch === 1 && batch > 1;
  // A contiguous [batch, M, K] against one B is one [batch·M, K] problem.
  const fold = broadcastB && !A.trans;
  const p: MatmulParams = {
    batch: fold ? 1 : batch,
    M: fold ? batch * M : M,
    N,
    K,
    transA: A.trans,
    transB: B.trans,
    bDtype: b.dtype as MatmulParams['bDtype'],
    strideA: broadcastA ? 0 : M * K,
    strideB: broadcastB ? 0 : K * N,
    strideC: M * N,
    variant: options.variant,
    tile: options.tile,
    matvec: options.matvec,
    matvecShape: options.matvecShape,
  };
  const splits = splitsFor(p, options.splitK, A.t, B.t);
  const work = numel(outShape) > 0 && K > 0;
  let out: Tensor;
  if (splits > 1 && work) {
    // S partial products [S, batch, M, N], summed over S in order
    const parts = Tensor.empty(a.backend, [splits, ...outShape], 'f32');
    a.backend.run(matmulKernel, { ...p, splitK: splits, strideC: p.M * p.N }, [A.t.arg(), B.t.arg(), parts.arg()]);
    out = sum(parts, 0);
    parts.dispose();
  } else {
    out = Tensor.empty(a.backend, outShape, 'f32');
    if (work) runBlocked(p, A.t, B.t, out);
    else if (numel(outShape) > 0) fillZero(out);
  }
  A.t.dispose();
  B.t.dispose();
  return out;
}

/**
 * The split-K parts of a call: `asked`, or on WebGPU matmulSplitK's rule where the parts fit one
 * binding each (the CPU backend gains nothing from more output tiles).
 */
function splitsFor(p: MatmulParams, asked: number | undefined, a: Tensor, b: Tensor): number {
  if (asked !== undefined && (!Number.isInteger(asked) || asked < 1)) throw new ArgumentError(`matmul: splitK must be an integer ≥ 1, got ${asked}`);
  const s = asked ?? (a.backend.name === 'webgpu' ? matmulSplitK(p) : 1);
  if (s === 1) return 1;
  const limit = a.backend.maxBindingBytes;
  const fits = a.size * 4 <= limit && b.storage.bytes <= limit && s * p.batch * p.M * p.N * 4 <= limit;
  if (fits) return s;
  if (asked !== undefined) throw new ArgumentError(`matmul: splitK ${s} needs A, B and the ${s} partial products each within the ${limit}-byte binding limit`);
  return 1;
}

function fillZero(out: Tensor): void {
  out.backend.write(out.storage, new Float32Array(out.size));
}

/**
 * Runs the kernel over row blocks so that no binding passes maxBindingBytes: blocks of M (A and
 * C rows; needs batch 1, A not transposed) and of N (B rows; needs transB), each a multiple of 128
 * rows so range offsets stay 256-byte aligned.
 */
function runBlocked(p: MatmulParams, a: Tensor, b: Tensor, c: Tensor): void {
  const be = c.backend;
  const limit = be.maxBindingBytes;
  const bBytesPerRow = (p.K * (p.bDtype === 'f32' ? 4 : 2));
  const fitsA = a.size * 4 <= limit;
  const fitsB = b.storage.bytes <= limit;
  const fitsC = c.size * 4 <= limit;
  if (fitsA && fitsB && fitsC) {
    be.run(matmulKernel, p, [a.arg(), b.arg(), c.arg()]);
    return;
  }
  const canSplitM = p.batch === 1 && !p.transA;
  const canSplitN = p.batch === 1 && p.transB;
  if ((!fitsA || !fitsC) && !canSplitM) {
    throw new ArgumentError(`matmul: A or C over the ${limit}-byte binding limit needs batch 1 and A not transposed`);
  }
  if (!fitsB && !canSplitN) throw new ArgumentError(`matmul: B over the ${limit}-byte binding limit needs transB (B stored [N, K])`);
  const rowsFor = (bytesPerRow: number) => Math.max(128, Math.floor(limit / bytesPerRow / 128) * 128);
  const mBlock = fitsA && fitsC ? p.M : Math.min(p.M, rowsFor(Math.max(p.K, p.N) * 4));
  const nBlock = fitsB ? p.N : Math.min(p.N, rowsFor(bBytesPerRow));
  for (let m0 = 0; m0 < p.M; m0 += mBlock) {
    const mRows = Math.min(mBlock, p.M - m0);
    for (let n0 = 0; n0 < p.N; n0 += nBlock) {
      const nRows = Math.min(nBlock, p.N - n0);
      const cOff = (m0 * p.N + n0) * 4;
      be.run(matmulKernel, { ...p, M: mRows, N: nRows, ldc: p.N, strideA: 0, strideB: 0, strideC: 0 }, [
        { storage: a.storage, dtype: 'f32', byteOffset: m0 * p.K * 4, bytes: mRows * p.K * 4 },
        { storage: b.storage, dtype: b.dtype, byteOffset: n0 * bBytesPerRow, bytes: Math.ceil((nRows * bBytesPerRow) / 4) * 4 },
        { storage: c.storage, dtype: 'f32', byteOffset: cOff, bytes: ((mRows - 1) * p.N + nRows) * 4 },
      ]);
    }
  }
}
