/**
 * hsaSelect: HSA retrieval on the GPU (hsaRetrieval.ref.ts): landmark scores with the visibility mask,
 * top-k without a sort of the C scores, the slot rules (valid slots most recent first, invalid idx 0)
 * and the fusion weights, in one or two passes:
 *   fused (prefill, or few chunks): a workgroup per (token, retrieval head) scans all C landmarks;
 *   scan + merge (decode over a long memory): a workgroup per (row, block of chunks) reads each
 *   landmark once and keeps its block's best k; one workgroup per row merges the block lists.
 * Buffers: fused [qr, lmk, idx, w, sel]; scan [qr, lmk, candS, candI]; merge [candS, candI, idx, w, sel]
 * with qr [T, Hr, dr], lmk [C, Hr, dr], idx (i32) / w [T, Hk, k], sel [T, Hr, k] (−∞ for dead slots),
 * candS / candI [T·Hr, blocks, k] (candidate scores and chunk indices).
 * v1: per-invocation insertion lists, log2(WG) pairwise merges in workgroup memory (fused; scan of
 * dr ≠ 4m). v2 (decode): the scan of dr = 4m landmarks in coalesced vec4 tiles and the merge, with a
 * workgroup top-k by rank counting and parallel fusion weights (hsaSelectScan.wgsl.ts).
 * v3 (`topkMode: 'threshold'`, the default): the decode passes' top-k bounds the k-th first and ranks
 * only the candidates as good as the bound (the first offer of a block: a few dozen, not 256); on the
 * H200 the retrieval of one decode step takes 1.3–1.5× less time than v2's (0.041 vs 0.052 ms at 1M,
 * 0.105 vs 0.138 ms at 16M; bench/attention). v2 stays as `topkMode: 'rank'`.
 * v4 (`topkMode: 'bound'`, the default): the merge offers only the candidates as good as a bound
 * from the blocks' heads (hsaMergeWgsl), not every block's whole list; the scan issues each tile's loads
 * before the previous tile's sums and offer. The scan reads landmarks in f32 or packed bf16 (`lmkDtype`).
 * v5 (`topkMode: 'subgroup'`, the default where sgTopkUnsupported allows): the decode passes' top-k on
 * subgroups (bitonic sorts and merges between lanes, hsaSelectSubgroup.wgsl.ts); the scan for blocks
 * of one tile, the merge where it stages a row's lists. On the H200 at 1M tokens: scan 7.2 µs against
 * v4's 11.8, merge 7.2 against 10.5 (bench/probe-topk); the decode step 27.5 µs against 36.0.
 * fused v2 (prefill; `fusedVersion` 2): the row's query in registers and the landmarks read as
 * vec4 (dr = 4m), the list's k-th entry in registers (a rejected candidate reads no list), and the
 * chunks past the last visible one not visited.
 * fused v3 (prefill, dr = 4m, the default): v2's scores, no per-invocation lists and no pairwise
 * merge: 1024 chunks at a time, the k-th best of the invocations' bests and the list so far bounds
 * the candidates, which are ranked among themselves (hsaSelectBoundWgsl). The same lists as v2; on
 * the H200 1.27× less time than v2 at 128K tokens (bench/attention). Tried and dropped: 4 tokens a
 * workgroup reading each landmark once for the 4 (queries in workgroup memory, 30 KB of it): 1.6×
 * v3's time.
 */
import { type FloatArray, unpackHalf } from '../core/dtype.js';
import { ArgumentError } from '../core/errors.js';
import { type BufferBinding, grid, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type FusionMode, hsaFusionWeightsRef } from './hsaFusion.ref.js';
import { type HsaRetrievalParams, hsaLandmarkScoresRef, hsaSlots, retrievalForward, topkRow, validSlots } from './hsaRetrieval.ref.js';
import { hsaSelectBoundWgsl, hsaSelectWgsl, type SelectBoundShape, type SelectMode, selectBoundBytes } from './hsaSelect.wgsl.js';
import { hsaMergeWgsl, hsaScan4Wgsl, SCAN_WG, scanEntry, scanTileRows } from './hsaSelectScan.wgsl.js';
import { hsaMergeSgWgsl, SG_MERGE_MAX, sgListLength, sgTopkUnsupported } from './hsaSelectSubgroup.wgsl.js';

/** Largest k_eff and retrieval head size the selection kernels compile. */
export const SELECT_MAX_K = 128;
export const SELECT_MAX_DR = 1024;

export interface HsaSelectParams extends HsaRetrievalParams {
  mode: HsaRetrievalParams['mode'];
  pass: SelectMode;
  /** chunks per scan block (scan and merge) */
  blockLen: number;
  /**
   * the decode passes' workgroup top-k: `subgroup` (v5, the default where sgTopkUnsupported allows:
   * bitonic sorts and merges in subgroups, hsaSelectSubgroup.wgsl.ts; the scan takes it over blocks of
   * one tile and keeps v4 over longer ones), `bound` (v4, the default elsewhere: the merge bounded by
   * the block heads), `threshold` (v3: each offer bounds its k-th first) or `rank` (v2)
   */
  topkMode?: 'rank' | 'threshold' | 'bound' | 'subgroup';
  /**
   * landmark storage (scan pass): f32 (default) or packed bf16 (half the bytes the decode scan reads;
   * needs dr a multiple of 8 and the vec4 scan: the adapter's 256 invocations)
   */
  lmkDtype?: 'f32' | 'bf16';
  /**
   * the fused pass's version: 1 (scalar landmark loads, every chunk visited, per-invocation lists
   * merged pairwise), 2 (v1 with the query in registers and vec4 landmark loads) or 3 (v2's scores,
   * a bounded rank selection instead of lists); default 3 where dr is a multiple of 4, else 1
   */
  fusedVersion?: 1 | 2 | 3;
}

const U = defineUniforms({
  hr: 'u32',
  hk: 'u32',
  chunks: 'u32',
  k: 'u32',
  s: 'u32',
  posOffset: 'u32',
  maskOn: 'u32',
  maskWindow: 'u32',
  segLen: 'u32',
  blockLen: 'u32',
  nblocks: 'u32',
  ncand: 'u32',
  nwg: 'u32',
  stick: 'u32',
  posDecay: 'f32',
  scale: 'f32',
});

const R = { access: 'read', type: 'f32' } as const;
const W = { access: 'read_write', type: 'f32' } as const;
const OUTS: BufferBinding[] = [{ name: 'idx', access: 'read_write', type: 'i32' }, { name: 'w', ...W }, { name: 'sel', ...W }];
const CANDS_OUT: BufferBinding[] = [{ name: 'candS', ...W }, { name: 'candI', access: 'read_write', type: 'u32' }];
const CANDS_IN: BufferBinding[] = [{ name: 'candS', ...R }, { name: 'candI', access: 'read', type: 'u32' }];
const LMK: BufferBinding[] = [{ name: 'qr', ...R }, { name: 'lmk', ...R }];
const BUFFERS: Record<SelectMode, BufferBinding[]> = { fused: [...LMK, ...OUTS], scan: [...LMK, ...CANDS_OUT], merge: [...CANDS_IN, ...OUTS] };
/** The scan's bindings with packed bf16 landmarks (u32 words). */
const SCAN_BF16: BufferBinding[] = [LMK[0], { name: 'lmk', access: 'read', type: 'u32' }, ...CANDS_OUT];

/**
 * WGSL of every select pass, the rules of hsaRetrieval.ref.ts: segStart (the first position of pos's
 * segment, packed sequences; 0 when segLen = 0), visible (is chunk c visible at position pos) and
 * validSlots (slots that hold a chunk at pos: min(k, completed chunks of its segment)).
 */
export const SLOT_RULES = /* wgsl */ `
fn segStart(pos: u32) -> u32 { if (u.segLen == 0u) { return 0u; } return pos - pos % u.segLen; }
fn visible(c: u32, pos: u32) -> bool {
  return select((c + 1u) * u.s <= pos, c * u.s + u.maskWindow <= pos, u.maskOn != 0u) && c * u.s >= segStart(pos);
}
fn validSlots(pos: u32) -> u32 { return min(u.k, (pos - segStart(pos)) / u.s); }`;

/** The uniforms SLOT_RULES and the fusion weights read (hsaSelect's and the v6 chunk attention's). */
export function slotRuleUniforms(p: { posOffset?: number; maskWindow?: number; segLen?: number; mode: FusionMode; posDecay?: number }) {
  return {
    posOffset: p.posOffset ?? 0,
    maskOn: p.maskWindow === undefined ? 0 : 1,
    maskWindow: p.maskWindow ?? 0,
    segLen: p.segLen ?? 0,
    stick: p.mode === 'stickBreaking' ? 1 : 0,
    posDecay: p.posDecay ?? 0,
  };
}

/** Fused v3: invocations a workgroup (hsaSelectBoundWgsl). */
const FUSED_BOUND_WG = 128;

/** Fused v3's shape: blocks of 1024 chunks, else the first smaller size that fits the workgroup memory (null: none does). */
function boundShape(KMAX: number, DR: number, maxStorage: number): SelectBoundShape | null {
  const tries = [1024, 512, 256].map((CB) => ({ WG: FUSED_BOUND_WG, KMAX, DR, CB }));
  return tries.find((c) => selectBoundBytes(c) <= maxStorage) ?? null;
}

export const selectBlocks = (p: HsaSelectParams): number => (p.pass === 'fused' ? 1 : Math.max(1, Math.ceil(p.chunks / p.blockLen)));

function shape(p: HsaSelectParams) {
  const k = hsaSlots(p);
  if (k > SELECT_MAX_K) throw new ArgumentError(`hsaRetrieval: k = ${k} is over the compiled maximum ${SELECT_MAX_K}`);
  if (p.dr > SELECT_MAX_DR) throw new ArgumentError(`hsaRetrieval: retrieval head size ${p.dr} is over the compiled maximum ${SELECT_MAX_DR}`);
  const KMAX = Math.max(4, 2 ** Math.ceil(Math.log2(Math.max(k, 1))));
  return { k, KMAX, WG: Math.min(64, 2048 / KMAX) };
}

export const hsaSelect: Kernel<HsaSelectParams> = {
  name: 'hsaSelect',
  ref: (a, p) => selectRef(a as FloatArray[], p),
  program(p, caps) {
    const { k, KMAX, WG } = shape(p);
    const nblocks = selectBlocks(p);
    const rows = p.t * p.hr;
    // the fused pass: v3 where dr = 4m unless asked for another version (v2 and v3 read vec4 landmarks)
    const fv = p.pass !== 'fused' ? 0 : (p.fusedVersion ?? (p.dr % 4 === 0 ? 3 : 1));
    if (fv >= 2 && p.dr % 4 !== 0) throw new ArgumentError(`hsaRetrieval: the fused pass's v${fv} needs dr a multiple of 4 (dr ${p.dr})`);
    const bounded = fv === 3 ? boundShape(KMAX, p.dr, caps.maxWorkgroupStorage) : null;
    if (fv === 3 && !bounded) throw new ArgumentError(`hsaRetrieval: the fused pass v3 does not fit this device's workgroup memory (k ${k})`);
    const nwg = p.pass === 'merge' ? rows : rows * nblocks;
    // the merge reads no landmarks: its lmkDtype is ignored
    const bf16 = p.lmkDtype === 'bf16' && p.pass !== 'merge';
    const bufs = bf16 ? SCAN_BF16 : BUFFERS[p.pass];
    const header = `${U.wgsl('U')}\n${wgslBindings(bufs, 'U')}\n${SLOT_RULES}`;
    // decode passes (the scan of dr = 4m landmarks, read as vec4; the merge): 256 invocations, top-k
    // by rank counting (hsaSelectScan.wgsl.ts); the landmarks bind as f32 and are declared vec4
    const wide = caps.maxInvocations >= SCAN_WG && (p.pass === 'merge' || (p.pass === 'scan' && p.dr % 4 === 0));
    const RT = wide && p.pass === 'scan' ? scanTileRows(KMAX, p.dr, caps.maxWorkgroupStorage) : 0;
    if (bf16 && !(p.pass === 'scan' && wide && p.dr % 8 === 0)) {
      throw new ArgumentError(`hsaRetrieval: bf16 landmarks need the decode block scan with dr a multiple of 8 (pass ${p.pass}, dr ${p.dr})`);
    }
    const KS = sgListLength(k);
    const sgWhy = sgTopkUnsupported(caps, KS);
    if (p.topkMode === 'subgroup' && sgWhy !== null) throw new ArgumentError(`hsaRetrieval: the subgroup top-k cannot run here: ${sgWhy}`);
    // v5 where it can run (lists of KS ≤ the subgroup size): the scan over blocks of one tile (over
    // more, v4's bounded offers after the first took less time on the H200: 36 against 48 µs at 16M
    // tokens), the merge where it stages the row's lists (≤ SG_MERGE_MAX entries)
    const sgMode = wide && (p.topkMode ?? (sgWhy === null ? 'subgroup' : 'bound')) === 'subgroup';
    const sg = sgMode && (p.pass === 'scan' ? p.blockLen <= RT : nblocks * KS <= SG_MERGE_MAX) ? caps.subgroupMinSize : 0;
    const threshold = wide && p.topkMode !== 'rank';
    const bound = threshold && p.topkMode !== 'threshold';
    const vec4 = fv >= 2;
    const lmkHeader = vec4 ? header.replace(/lmk: array<f32>/, 'lmk: array<vec4<f32>>') : header;
    const code = !wide
      ? bounded
        ? () => hsaSelectBoundWgsl(bounded, lmkHeader)
        : () => hsaSelectWgsl({ mode: p.pass, WG, KMAX, DR: p.dr, vec4 }, lmkHeader)
      : p.pass === 'merge'
        ? sg
          ? () => hsaMergeSgWgsl(sg, KS, header, scanEntry(true))
          : () => hsaMergeWgsl(KMAX, header, threshold, bound)
        : () =>
            hsaScan4Wgsl(
              { KMAX, DR: p.dr, RT, threshold, pipelined: bound, bf16, subgroup: sg ? { size: sg, list: KS } : undefined },
              header.replace(/lmk: array<(f32|u32)>/, bf16 ? 'lmk: array<vec4<u32>>' : 'lmk: array<vec4<f32>>'),
            );
    return {
      key: `hsaSelect:${p.pass}:${WG}:${KMAX}:${p.dr}:${wide}:${RT}:${sg ? `sg${sg}x${KS}` : bound ? 'bound' : threshold ? 'thr' : 'rank'}:${bf16 ? 'bf16' : 'f32'}:v${fv}${bounded ? `:${bounded.CB}` : ''}`,
      code,
      buffers: bufs,
      uniforms: U.pack({
        hr: p.hr,
        hk: p.hk,
        chunks: p.chunks,
        k,
        s: p.s,
        ...slotRuleUniforms(p),
        blockLen: p.pass === 'fused' ? Math.max(p.chunks, 1) : p.blockLen,
        nblocks: p.pass === 'merge' ? 1 : nblocks,
        ncand: nblocks * k,
        nwg,
        scale: p.scale ?? 1 / Math.sqrt(p.dr),
      }),
      workgroups: nwg === 0 || k === 0 ? [0, 1, 1] : grid(nwg, caps),
    };
  },
};

/** Writes idx, w [T, Hk, k] and sel [T, Hr, k] from per-row chosen chunk lists (best first). */
function finalizeRef(top: Int32Array, score: (row: number, c: number) => number, outs: FloatArray[], p: HsaSelectParams): void {
  const [idx, w, sel] = outs;
  const k = hsaSlots(p);
  for (let t = 0; t < p.t; t++) {
    const valid = validSlots((p.posOffset ?? 0) + t, k, p);
    for (let h = 0; h < p.hr; h++) {
      const row = t * p.hr + h;
      const chosen = Array.from(top.subarray(row * k, row * k + valid)).sort((a, b) => b - a);
      for (let j = 0; j < k; j++) sel[row * k + j] = j < valid ? score(row, chosen[j]) : Number.NEGATIVE_INFINITY;
      const wr = new Float64Array(k);
      hsaFusionWeightsRef([sel.subarray(row * k, row * k + k), wr], { rows: 1, k, mode: p.mode, posDecay: p.posDecay });
      for (let g = 0; g < p.hk; g++) {
        if (p.hr !== 1 && g !== h) continue;
        for (let j = 0; j < k; j++) {
          idx[(t * p.hk + g) * k + j] = j < valid ? chosen[j] : 0;
          w[(t * p.hk + g) * k + j] = wr[j];
        }
      }
    }
  }
}

function selectRef(a: FloatArray[], p: HsaSelectParams): void {
  const k = hsaSlots(p);
  if (k === 0) return;
  if (p.pass === 'fused') {
    const f = retrievalForward(a[0], a[1], p);
    finalizeRef(f.idx, (row, c) => f.scores[row * p.chunks + c], a.slice(2), p);
    return;
  }
  const rows = p.t * p.hr;
  const nb = selectBlocks(p);
  const [candS, candI] = p.pass === 'scan' ? [a[2], a[3] as unknown as Uint32Array] : [a[0], a[1] as unknown as Uint32Array];
  if (p.pass === 'scan') {
    const scores = new Float64Array(rows * p.chunks);
    const lmk = p.lmkDtype === 'bf16' ? unpackHalf(a[1] as unknown as Uint16Array, 'bf16') : a[1];
    hsaLandmarkScoresRef([a[0], lmk, scores], p);
    const top = new Int32Array(k);
    for (let r = 0; r < rows; r++) {
      for (let b = 0; b < nb; b++) {
        const c0 = b * p.blockLen;
        const n = Math.min(p.blockLen, p.chunks - c0);
        top.fill(-1);
        topkRow(scores, r * p.chunks + c0, n, Math.min(k, n), top);
        for (let j = 0; j < k; j++) {
          const o = (r * nb + b) * k + j;
          candS[o] = top[j] < 0 ? Number.NEGATIVE_INFINITY : scores[r * p.chunks + c0 + top[j]];
          candI[o] = top[j] < 0 ? 0xffffffff : c0 + top[j];
        }
      }
    }
    return;
  }
  // merge: best k of the candidates by (score desc, chunk asc)
  const top = new Int32Array(rows * k);
  const byChunk = new Map<number, number>();
  for (let r = 0; r < rows; r++) {
    const order = Array.from({ length: nb * k }, (_, i) => r * nb * k + i).sort((x, y) => candS[y] - candS[x] || candI[x] - candI[y]);
    for (let j = 0; j < k; j++) {
      top[r * k + j] = candI[order[j]];
      byChunk.set(r * p.chunks + candI[order[j]], candS[order[j]]);
    }
  }
  finalizeRef(top, (row, c) => byChunk.get(row * p.chunks + c) ?? Number.NEGATIVE_INFINITY, a.slice(2), p);
}
