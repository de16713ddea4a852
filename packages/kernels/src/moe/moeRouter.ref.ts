/**
 * moeRouterForward (Ling-2.0 / DeepSeek-V3 rule), per token t of logits r [T, E]:
 *   p = sigmoid(r) or softmax(r);  key_e = p_e + b_e (selection only);
 *   group-limited: groups of E/nGroup experts scored by the sum of their two best keys, only the
 *   topkGroup best groups compete; idx = the k best keys, best first; w_j = p[idx_j]
 *   (÷ Σ_j p[idx_j] when norm) × scale.
 * Order everywhere: larger first, ties to the lower expert (group) index, so both backends agree.
 * With f32 arrays the key is rounded to f32 (p + b as the GPU forms it).
 */
import type { TypedArray } from '../core/dtype.js';

export type MoeScoreFn = 'sigmoid' | 'softmax';

export interface MoeRouterParams {
  /** tokens */
  T: number;
  /** experts (≤ MOE_MAX_EXPERTS) */
  E: number;
  /** experts per token */
  k: number;
  /** expert groups (divides E); 1 = no group limit */
  nGroup: number;
  /** groups that compete per token */
  topkGroup: number;
  scoreFn: MoeScoreFn;
  /** divide the k weights by their sum */
  norm: boolean;
  /** routed_scaling_factor */
  scale: number;
  /** GPU kernel: one thread a token (v1), one workgroup a token (v2), or by token count (default) */
  variant?: 'thread' | 'workgroup' | 'auto';
  /**
   * the workgroup selection's picks (v2 and moeGatherMatvec's in-kernel routing) by a subgroup
   * butterfly instead of a workgroup tree (v3; default where the device has subgroups)
   */
  selectOnSubgroups?: boolean;
  /**
   * with the picks on subgroups: each pick's best by a subgroupMax of the keys' order codes and a
   * subgroupMin of the indices holding it (v4, the default) or by a shuffle butterfly (v3)
   */
  subgroupPicks?: 'reduce' | 'butterfly';
}

/** Largest E the router kernel handles (one thread per token keeps a group mask of E bits). */
export const MOE_MAX_EXPERTS = 256;

/** Scores of one token's row into `p` (offset o). */
function scoreRow(r: TypedArray, p: TypedArray, o: number, E: number, fn: MoeScoreFn): void {
  if (fn === 'sigmoid') {
    for (let e = 0; e < E; e++) p[o + e] = 1 / (1 + Math.exp(-r[o + e]));
    return;
  }
  let m = Number.NEGATIVE_INFINITY;
  for (let e = 0; e < E; e++) m = Math.max(m, r[o + e]);
  let s = 0;
  for (let e = 0; e < E; e++) s += Math.exp(r[o + e] - m);
  for (let e = 0; e < E; e++) p[o + e] = Math.exp(r[o + e] - m) / s;
}

/** True when (v, i) comes after (pv, pi) in the order "larger first, then lower index". */
const after = (v: number, i: number, pv: number, pi: number) => v < pv || (v === pv && i > pi);

/** The n best of keys[0..len) allowed by `ok`, best first (a selection pass per pick, as the GPU). */
export function moeSelect(keys: ArrayLike<number>, len: number, n: number, ok: (i: number) => boolean = () => true): number[] {
  const out: number[] = [];
  let pv = Number.POSITIVE_INFINITY;
  let pi = -1;
  for (let j = 0; j < n; j++) {
    let bv = Number.NEGATIVE_INFINITY;
    let bi = -1;
    for (let i = 0; i < len; i++) {
      if (!ok(i) || !after(keys[i], i, pv, pi)) continue;
      if (bi < 0 || keys[i] > bv) {
        bv = keys[i];
        bi = i;
      }
    }
    out.push(bi);
    pv = bv;
    pi = bi;
  }
  return out;
}

/** Groups allowed for one token: the topkGroup best by the sum of each group's two best keys. */
export function moeAllowedGroups(keys: ArrayLike<number>, p: MoeRouterParams, round: (v: number) => number): Set<number> {
  const gs = p.E / p.nGroup;
  const gScore: number[] = [];
  for (let g = 0; g < p.nGroup; g++) {
    const sub = Array.from({ length: gs }, (_, i) => keys[g * gs + i]);
    const best = moeSelect(sub, gs, Math.min(2, gs));
    gScore.push(best.length === 2 ? round(sub[best[0]] + sub[best[1]]) : sub[best[0]]);
  }
  return new Set(moeSelect(gScore, p.nGroup, p.topkGroup));
}

/** arrays: logits [T,E], bias [E] → scores [T,E], idx (i32) [T,k], weights [T,k]. */
export function moeRouterRef([logits, bias, scores, idx, weights]: TypedArray[], p: MoeRouterParams): void {
  const { E, k } = p;
  const round = scores instanceof Float32Array ? Math.fround : (v: number) => v;
  const keys = new Float64Array(E);
  for (let t = 0; t < p.T; t++) {
    const o = t * E;
    scoreRow(logits, scores, o, E, p.scoreFn);
    for (let e = 0; e < E; e++) keys[e] = round(scores[o + e] + bias[e]);
    const gs = E / p.nGroup;
    const groups = p.nGroup > 1 ? moeAllowedGroups(keys, p, round) : null;
    const sel = moeSelect(keys, E, k, groups ? (e) => groups.has(Math.floor(e / gs)) : undefined);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += scores[o + sel[j]];
    for (let j = 0; j < k; j++) {
      idx[t * k + j] = sel[j];
      const w = scores[o + sel[j]];
      weights[t * k + j] = (p.norm ? w / sum : w) * p.scale;
    }
  }
}
