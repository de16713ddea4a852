/**
 * The routed experts of a training forward, in token blocks so that no intermediate passes the
 * backend's binding limit (16K tokens × k = 4 × d = 2048 in f32 is 512 MiB, over the 128 MiB default):
 * each block of Tb tokens (a multiple of 64, so every row range starts 256-byte aligned) is sorted by
 * expert, run through the grouped GEMMs and combined into its rows of the output; its gate/up
 * pre-activations and unweighted outputs are kept for the backward, which walks the same blocks:
 *   dy = w·g, dw = g·y (moeCombineBackward);  dWd += dyᵀ·act;  dact = dy·Wd;  dg, du = SwiGLU';
 *   dWg += dgᵀ·x, dWu += duᵀ·x;  dx_t = Σ_j (dg·Wg + du·Wu)[t·k + j]   (all grouped over experts).
 */
import { ArgumentError, moeCombine, moeCombineBackward, moeGroupedGemm, moeWeightGrad } from '@hsa/kernels';
import { type Backend, fill, type KernelArg, swiglu, swigluBackward, Tensor } from '@hsa/tensor';
import { type Dispatch, dispatch, type ExpertWeights, gemmParams } from './ops.js';

/** Tokens [t0, t1) of one block. */
export interface Block {
  t0: number;
  t1: number;
}

/** What one block's forward keeps for its backward (g, u sorted by expert; y in assignment order). */
export interface BlockSaved extends Block {
  disp: Dispatch;
  g: Tensor;
  u: Tensor;
  y: Tensor;
}

/** Rows [r0, r1) of a row-major tensor of `width` columns, as a kernel argument. */
export function rowsArg(t: Tensor, r0: number, r1: number, width: number): KernelArg {
  return { storage: t.storage, dtype: t.dtype, byteOffset: r0 * width * 4, bytes: Math.max(r1 - r0, 1) * width * 4 };
}

/** Token blocks of T tokens: one when everything fits the binding limit, else multiples of 64. */
export function tokenBlocks(backend: Backend, T: number, k: number, d: number, F: number): Block[] {
  const perToken = k * Math.max(d, F) * 4;
  if (T * perToken <= backend.maxBindingBytes) return [{ t0: 0, t1: T }];
  const tb = Math.floor(backend.maxBindingBytes / perToken / 64) * 64;
  if (tb < 64) throw new ArgumentError(`MoE: 64 tokens × k = ${k} × ${Math.max(d, F)} floats exceed the ${backend.maxBindingBytes}-byte binding limit`);
  const out: Block[] = [];
  for (let t0 = 0; t0 < T; t0 += tb) out.push({ t0, t1: Math.min(T, t0 + tb) });
  return out;
}

const wDtype = (w: Tensor) => w.dtype as 'f32' | 'f16' | 'bf16';

/** Forward of one block: writes out rows [t0, t1) = Σ_j w·SwiGLU_e(x_t); returns what the backward needs. */
export function blockForward(x: Tensor, idx: Tensor, w: Tensor, ex: ExpertWeights, blk: Block, out: Tensor): BlockSaved {
  const b = x.backend;
  const [E, F, d] = ex.gate.shape;
  const k = idx.shape[1];
  const Tb = blk.t1 - blk.t0;
  const A = Tb * k;
  const disp = dispatch(idx, E, { start: blk.t0 * k, count: A });
  const sched = [disp.perm.arg(), disp.offsets.arg(), disp.tileStart.arg()];
  const g = Tensor.empty(b, [A, F]);
  const u = Tensor.empty(b, [A, F]);
  const base = { k, E, A, wDtype: wDtype(ex.gate) };
  const xs = rowsArg(x, blk.t0, blk.t1, d);
  b.run(moeGroupedGemm, { ...base, aSrc: 'token', outRow: 'sorted', bLayout: 'nk', nB: 2, accumulate: false, N: F, K: d }, [xs, ...sched, ex.gate.arg(), ex.up.arg(), g.arg(), u.arg()]);
  const act = swiglu(g, u);
  const y = Tensor.empty(b, [A, d]);
  b.run(moeGroupedGemm, gemmParams('down', k, E, A, d, F, ex.down), [act.arg(), ...sched, ex.down.arg(), y.arg()]);
  act.dispose();
  b.run(moeCombine, { T: Tb, k, d, shared: false }, [y.arg(), rowsArg(w, blk.t0, blk.t1, k), rowsArg(out, blk.t0, blk.t1, d)]);
  return { ...blk, disp, g, u, y };
}

export interface ExpertGrads {
  dx: Tensor;
  dw: Tensor;
  gate: Tensor;
  up: Tensor;
  down: Tensor;
}

/** Empty gradient tensors for x [T, d], w [T, k] and the stacked expert weights. */
export function expertGrads(x: Tensor, w: Tensor, ex: ExpertWeights): ExpertGrads {
  const b = x.backend;
  return {
    dx: Tensor.empty(b, x.shape),
    dw: Tensor.empty(b, w.shape),
    gate: Tensor.empty(b, ex.gate.shape),
    up: Tensor.empty(b, ex.up.shape),
    down: Tensor.empty(b, ex.down.shape),
  };
}

/** Backward of one block from dout [T, d]: writes its rows of dx and dw, adds into the weight grads. */
export function blockBackward(x: Tensor, w: Tensor, ex: ExpertWeights, s: BlockSaved, dout: Tensor, gr: ExpertGrads, first: boolean): void {
  const b = x.backend;
  const [E, F, d] = ex.gate.shape;
  const k = w.shape[1];
  const Tb = s.t1 - s.t0;
  const A = Tb * k;
  const { perm, offsets, tileStart } = s.disp;
  const xs = rowsArg(x, s.t0, s.t1, d);
  const dy = Tensor.empty(b, [A, d]);
  b.run(moeCombineBackward, { T: Tb, k, d }, [rowsArg(dout, s.t0, s.t1, d), s.y.arg(), rowsArg(w, s.t0, s.t1, k), dy.arg(), rowsArg(gr.dw, s.t0, s.t1, k)]);
  const act = swiglu(s.g, s.u);
  const wg = { k, E, accumulate: !first };
  b.run(moeWeightGrad, { ...wg, pSrc: 'assign', qSrc: 'sorted', N: d, M: F }, [dy.arg(), act.arg(), perm.arg(), offsets.arg(), gr.down.arg()]);
  act.dispose();
  const gemm = { k, E, A, nB: 1 as const, wDtype: wDtype(ex.gate) };
  const dact = Tensor.empty(b, [A, F]);
  b.run(moeGroupedGemm, { ...gemm, aSrc: 'assign', outRow: 'sorted', bLayout: 'kn', accumulate: false, N: F, K: d }, [dy.arg(), perm.arg(), offsets.arg(), tileStart.arg(), ex.down.arg(), dact.arg()]);
  dy.dispose();
  const { dgate, dup } = swigluBackward(s.g, s.u, dact);
  dact.dispose();
  b.run(moeWeightGrad, { ...wg, pSrc: 'sorted', qSrc: 'token', N: F, M: d }, [dgate.arg(), xs, perm.arg(), offsets.arg(), gr.gate.arg()]);
  b.run(moeWeightGrad, { ...wg, pSrc: 'sorted', qSrc: 'token', N: F, M: d }, [dup.arg(), xs, perm.arg(), offsets.arg(), gr.up.arg()]);
  const dxa = Tensor.empty(b, [A, d]);
  const dx = { ...gemm, aSrc: 'sorted' as const, outRow: 'assign' as const, bLayout: 'kn' as const, N: d, K: F };
  b.run(moeGroupedGemm, { ...dx, accumulate: false }, [dgate.arg(), perm.arg(), offsets.arg(), tileStart.arg(), ex.gate.arg(), dxa.arg()]);
  b.run(moeGroupedGemm, { ...dx, accumulate: true }, [dup.arg(), perm.arg(), offsets.arg(), tileStart.arg(), ex.up.arg(), dxa.arg()]);
  dgate.dispose();
  dup.dispose();
  const ones = fill(b, [Tb, k], 1);
  b.run(moeCombine, { T: Tb, k, d, shared: false }, [dxa.arg(), ones.arg(), rowsArg(gr.dx, s.t0, s.t1, d)]);
  ones.dispose();
  dxa.dispose();
}

/** Releases what a block kept. */
export function disposeBlock(s: BlockSaved): void {
  for (const t of [s.disp.perm, s.disp.offsets, s.disp.tileStart, s.g, s.u, s.y]) t.dispose();
}
