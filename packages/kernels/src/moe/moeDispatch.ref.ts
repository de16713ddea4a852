/**
 * moeDispatch: a stable counting sort of the A = T·k assignments (t, j) by expert idx[t·k + j].
 *   count:   blockCounts[b, e] = #{a in block b : idx[a] = e}     (blocks of MOE_SORT_BLOCK)
 *   scan:    offsets[e] = Σ_{e' < e} n_e' (offsets[E] = A); blockOffsets[b, e] = offsets[e] +
 *            Σ_{b' < b} blockCounts[b', e]; tileStart[e] = Σ_{e' < e} ⌈n_e' / tileM⌉ (grouped GEMM)
 *   scatter: perm[pos] = a, assignments of one expert in increasing a (stable, no atomics).
 * Rows perm[offsets[e] .. offsets[e+1]) are expert e's tokens (token = perm / k).
 */
import type { TypedArray } from '../core/dtype.js';

/** Assignments per sort block (one workgroup each; their expert ids fit in 4 KiB). */
export const MOE_SORT_BLOCK = 1024;

export interface MoeDispatchParams {
  /** assignments T·k */
  A: number;
  E: number;
  /** row tile of the grouped GEMM the tile schedule is for */
  tileM: number;
}

export const moeSortBlocks = (A: number): number => Math.max(1, Math.ceil(A / MOE_SORT_BLOCK));

/** arrays: idx [A] → blockCounts (u32) [blocks, E]. */
export function moeCountRef([idx, blockCounts]: TypedArray[], p: MoeDispatchParams): void {
  const nb = moeSortBlocks(p.A);
  blockCounts.fill(0, 0, nb * p.E);
  for (let a = 0; a < p.A; a++) blockCounts[Math.floor(a / MOE_SORT_BLOCK) * p.E + idx[a]]++;
}

/** arrays: blockCounts [blocks, E] → blockOffsets [blocks, E], offsets [E+1], tileStart [E+1]. */
export function moeScanRef([blockCounts, blockOffsets, offsets, tileStart]: TypedArray[], p: MoeDispatchParams): void {
  const nb = moeSortBlocks(p.A);
  let base = 0;
  let tiles = 0;
  for (let e = 0; e < p.E; e++) {
    offsets[e] = base;
    tileStart[e] = tiles;
    let run = base;
    for (let b = 0; b < nb; b++) {
      blockOffsets[b * p.E + e] = run;
      run += blockCounts[b * p.E + e];
    }
    tiles += Math.ceil((run - base) / p.tileM);
    base = run;
  }
  offsets[p.E] = base;
  tileStart[p.E] = tiles;
}

/** arrays: idx [A], blockOffsets [blocks, E] → perm (u32) [A]. */
export function moeScatterRef([idx, blockOffsets, perm]: TypedArray[], p: MoeDispatchParams): void {
  const nb = moeSortBlocks(p.A);
  const next = Array.from(blockOffsets.subarray(0, nb * p.E));
  for (let a = 0; a < p.A; a++) perm[next[Math.floor(a / MOE_SORT_BLOCK) * p.E + idx[a]]++] = a;
}
