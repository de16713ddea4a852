/**
 * Backward of hsaChunkAttention (f32 memory in one part): dq and dw per (token, KV head); dK and dV
 * of the memory summed over every (token, head, slot) that selected each chunk, deterministically:
 * the selection is inverted on the GPU (radix passes of the moeDispatch counting sort by chunk and
 * KV head, bucket starts by binary search), then one workgroup per (chunk, KV head, key tile) sums
 * its slots in slot order. Where the device offers f16 subgroup matrices (and the shapes allow:
 * chunkBackwardMmaUnsupported), both kernels run on them (v2, `mma`) over f16 copies of the memory,
 * q and dout, as the forward's `mma` variant rounds them; else on f32 (v1).
 */
import {
  ArgumentError,
  chunkBackwardMmaUnsupported,
  hsaChunkAttentionDkv,
  hsaChunkAttentionDq,
  type HsaChunkAttentionParams,
  hsaSlotKeys,
  ShapeError,
} from '@hsa/kernels';
import { fmtShape, Tensor } from '../../tensor.js';
import { cast } from '../cast.js';
import { fill } from '../fill.js';
import { expectDtype, sameBackend } from '../guards.js';
import { sortByKey } from '../sortByKey.js';
import type { HsaChunkAttentionOptions } from './hsaChunkAttention.js';

export interface HsaChunkAttentionGrads {
  /** [T, Hq, D] */
  dq: Tensor;
  /** [C·S, Hk, D] */
  dK: Tensor;
  /** [C·S, Hk, D] */
  dV: Tensor;
  /** [T, Hk, k]: for every slot, also those with w = 0 */
  dw: Tensor;
}

function params(q: Tensor, memK: Tensor, memV: Tensor, idx: Tensor, w: Tensor, dout: Tensor, o: HsaChunkAttentionOptions): HsaChunkAttentionParams {
  const op = 'hsaChunkAttentionBackward';
  sameBackend(op, q, memK, memV, idx, w, dout);
  for (const t of [q, w, dout]) expectDtype(op, t, 'f32');
  for (const t of [memK, memV]) expectDtype(op, t, 'f32', 'f16');
  expectDtype(op, idx, 'i32');
  const s = o.chunkSize;
  if (!Number.isInteger(s) || s <= 0) throw new ArgumentError(`${op}: chunkSize must be a positive integer, got ${s}`);
  const desc = `q ${fmtShape(q.shape)}, memK ${fmtShape(memK.shape)}, memV ${fmtShape(memV.shape)}, idx ${fmtShape(idx.shape)}, w ${fmtShape(w.shape)}, dout ${fmtShape(dout.shape)}`;
  const same = (a: Tensor, b: Tensor) => a.rank === b.rank && a.shape.every((x, i) => x === b.shape[i]);
  const [t, hq, d] = q.shape;
  const [rows, hk] = memK.shape;
  const ok =
    q.rank === 3 &&
    same(q, dout) &&
    memK.rank === 3 &&
    same(memK, memV) &&
    memK.dtype === memV.dtype &&
    memK.shape[2] === d &&
    rows % s === 0 &&
    idx.rank === 3 &&
    same(idx, w) &&
    idx.shape[0] === t &&
    idx.shape[1] === hk;
  if (!ok) throw new ShapeError(`${op}: expected q, dout [T, Hq, D], memK, memV [C·${s}, Hk, D], idx, w [T, Hk, k]; got ${desc}`);
  if (hk === 0 || hq % hk !== 0) throw new ShapeError(`${op}: ${hq} query heads do not divide into ${hk} KV heads (${desc})`);
  return { t, hq, hk, d, s, chunks: rows / s, k: idx.shape[2], smN: o.smN, scale: o.scale };
}

/**
 * Slots of idx, w [T, Hk, k] (contiguous) with w ≠ 0 ordered by (chunk·Hk + g, slot), and each
 * bucket's start: { order [A] u32, starts [chunks·Hk + 1] u32 }.
 */
export function invertSelection(idx: Tensor, w: Tensor, p: Pick<HsaChunkAttentionParams, 't' | 'hk' | 'k' | 'chunks'>) {
  const be = idx.backend;
  const n = p.t * p.hk * p.k;
  const key = Tensor.empty(be, [n], 'i32');
  be.run(hsaSlotKeys, { n, hk: p.hk, k: p.k, chunks: p.chunks }, [idx.arg(), w.arg(), key.arg()]);
  const runs = sortByKey(key, p.chunks * p.hk);
  key.dispose();
  return runs;
}

export interface HsaChunkAttentionBackwardOptions extends HsaChunkAttentionOptions {
  /**
   * `mma` (f16 subgroup matrices; Q, dout, K, V and the score gradients rounded to f16, sums in f32)
   * or `f32`; default `mma` where chunkBackwardMmaUnsupported allows it, else `f32`
   */
  backwardVariant?: 'f32' | 'mma';
  /** mma: the f32 sums in each subgroup's matrices (default) or in workgroup memory (the first version) */
  mmaAcc?: 'workgroup' | 'registers';
}

/**
 * The backward variant for these inputs (q [T, Hq, D], memK [C·S, Hk, D], idx [T, Hk, k]): the
 * option's, checked, or the default; a typed error where `mma` is asked for and cannot run.
 */
export function chunkBackwardVariant(q: Tensor, memK: Tensor, idx: Tensor, options: HsaChunkAttentionBackwardOptions): 'f32' | 'mma' {
  const [hq, d, hk, k] = [q.shape[1], q.shape[2], memK.shape[1], idx.shape[2]];
  const why = chunkBackwardMmaUnsupported(q.backend.caps, d, options.chunkSize, hq / hk, k);
  const variant = options.backwardVariant ?? (why === null ? 'mma' : 'f32');
  if (variant !== 'mma' && variant !== 'f32') throw new ArgumentError(`hsaChunkAttentionBackward: backwardVariant must be 'f32' or 'mma', got ${variant}`);
  if (variant === 'mma' && why !== null) throw new ArgumentError(`hsaChunkAttentionBackward: the mma variant cannot run here (${why})`);
  return variant;
}

/**
 * Gradients of hsaChunkAttention(q, memK, memV, idx, w) for the upstream dout [T, Hq, D]: q [T, Hq, D],
 * memK, memV [C·S, Hk, D] (f32 or f16, one part), idx (i32), w [T, Hk, k] → dq, dK, dV (f32), dw.
 */
export function hsaChunkAttentionBackward(
  q: Tensor,
  memK: Tensor,
  memV: Tensor,
  idx: Tensor,
  w: Tensor,
  dout: Tensor,
  options: HsaChunkAttentionBackwardOptions,
): HsaChunkAttentionGrads {
  const p = params(q, memK, memV, idx, w, dout, options);
  const be = q.backend;
  const variant = chunkBackwardVariant(q, memK, idx, options);
  const dq = Tensor.empty(be, q.shape, 'f32');
  const dw = Tensor.empty(be, w.shape, 'f32');
  if (p.t * p.hk * p.k === 0 || p.chunks === 0) {
    for (const x of [dq, dw]) if (x.size > 0) be.write(x.storage, new Float32Array(x.size));
    return { dq, dw, dK: fill(be, memK.shape, 0), dV: fill(be, memK.shape, 0) };
  }
  const mem = variant === 'mma' ? 'f16' : 'f32';
  const [ck, cv] = [memK, memV].map((x) => cast(x, mem));
  const [cq, ci, cw, cd] = [q, idx, w, dout].map((x) => x.contiguous());
  const slotLse = Tensor.empty(be, [p.t, p.hq, p.k], 'f32');
  const slotDw = Tensor.empty(be, [p.t, p.hq, p.k], 'f32');
  const pv = { ...p, variant, mmaAcc: options.mmaAcc };
  be.run(hsaChunkAttentionDq, pv, [cq, ck, cv, ci, cw, cd, dq, dw, slotLse, slotDw].map((x) => x.arg()));
  const { order, starts } = invertSelection(ci, cw, p);
  const dK = Tensor.empty(be, memK.shape, 'f32');
  const dV = Tensor.empty(be, memK.shape, 'f32');
  // v2 reads q and dout as f16 matrices too
  const [kq, kd] = variant === 'mma' ? [cast(cq, 'f16'), cast(cd, 'f16')] : [cq, cd];
  be.run(hsaChunkAttentionDkv, pv, [kq, ck, cv, cw, kd, slotLse, slotDw, order, starts, dK, dV].map((x) => x.arg()));
  for (const x of new Set([cq, ck, cv, ci, cw, cd, kq, kd, slotLse, slotDw, order, starts])) x.dispose();
  return { dq, dK, dV, dw };
}
