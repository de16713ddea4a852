/**
 * WGSL for HSA retrieval's decode passes (hsaSelect's `scan` when dr is a multiple of 4, and `merge`),
 * 256 invocations, top-k by rank counting (hsaSelectTopk.wgsl.ts):
 *   scan4: the landmarks of a row are read as coalesced 16-byte loads, all issued before use (RT
 *     chunks per tile, ⌈RT·dr/4 / 256⌉ loads per invocation); each load's 4-term dot with the query
 *     lands in workgroup memory, one invocation per chunk sums its dr/4 partials in order and offers
 *     the score; the block's best k (sorted) are its candidate list.
 *   merge: the candidate lists of all blocks of a row, offered 1024 at a time (v4: only those as good
 *     as a bound from the block heads), then the slot rules and the fusion weights in parallel over the k
 *     slots.
 */
import { WGSL_LINEAR_WORKGROUP, WGSL_SUBGROUPS } from '../core/program.js';
import { sgTopkOfferWgsl } from './hsaSelectSubgroup.wgsl.js';
import { finalizeParWgsl, groupBound, TOPK_WG, topkWgsl } from './hsaSelectTopk.wgsl.js';

export const SCAN_WG = TOPK_WG;

export interface Scan4Shape {
  KMAX: number;
  DR: number;
  /** chunks per tile (≤ SCAN_WG) */
  RT: number;
  /** the top-k's threshold stage (topkWgsl) */
  threshold?: boolean;
  /** v4: each tile's loads issued before the previous tile's sums and offer */
  pipelined?: boolean;
  /** landmarks packed bf16 (lmk: array<vec4<u32>>, 8 values a load); else f32 (vec4<f32>, 4 a load) */
  bf16?: boolean;
  /** v5 (blocks of one tile): the top-k on subgroups of `size`, lists of `list` (hsaSelectSubgroup.wgsl.ts) */
  subgroup?: { size: number; list: number };
}

/** Chunks per tile that fit the workgroup memory left by the top-k lists and the query. */
export function scanTileRows(KMAX: number, DR: number, maxStorage: number): number {
  const avail = Math.min(maxStorage, 32768) - TOPK_WG * 12 - KMAX * 8 - DR * 4 - 64;
  return Math.max(1, Math.min(SCAN_WG, Math.floor(avail / (4 * (DR / 4 + 1)))));
}

/**
 * Load v of word e of a chunk row (DV words) dotted with the query: f32 words are 4 values, packed
 * bf16 words 8 (the lower half of each u32 first).
 */
function partDot(DV: number, bf16: boolean, v: string, e: string): string {
  if (!bf16) return `dot(${v}, qv[${e} % ${DV}u])`;
  const h = (c: string) => `bitcast<f32>(${v}.${c} << 16u), bitcast<f32>(${v}.${c} & 0xffff0000u)`;
  return `dot(vec4<f32>(${h('x')}, ${h('y')}), qv[2u * (${e} % ${DV}u)]) + dot(vec4<f32>(${h('z')}, ${h('w')}), qv[2u * (${e} % ${DV}u) + 1u])`;
}

/**
 * A tile's pieces: `decl` declares e0 … and loads the tile at `base` (n chunks) into v0 … (`let`, or
 * `var` for the pipelined loop, whose `load` refills them), `dots` their 4- or 8-term dots into `part`.
 */
function tileCode(DV: number, TV: number, bf16: boolean) {
  const js = Array.from({ length: Math.ceil(TV / SCAN_WG) }, (_, j) => j);
  const addr = (j: number, base: string, n: string) => `lmk[((${base} + min(e${j} / ${DV}u, ${n} - 1u)) * u.hr + h) * ${DV}u + e${j} % ${DV}u]`;
  return {
    decl: (base: string, n: string, kw: 'let' | 'var') => js.map((j) => `    let e${j} = lid + ${j * SCAN_WG}u;\n    ${kw} v${j} = ${addr(j, base, n)};`).join('\n'),
    load: (base: string, n: string) => js.map((j) => `      v${j} = ${addr(j, base, n)};`).join('\n'),
    dots: js
      .map((j) => {
        const guard = (j + 1) * SCAN_WG <= TV ? '' : `if (e${j} < ${TV}u) `;
        return `    ${guard}{ part[(e${j} / ${DV}u) * ${DV + 1}u + e${j} % ${DV}u] = ${partDot(DV, bf16, `v${j}`, `e${j}`)}; }`;
      })
      .join('\n'),
  };
}

/** The decode passes' entry; with `sg`, the lane index too (sl). */
export const scanEntry = (sg = false) => `@compute @workgroup_size(${SCAN_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32${sg ? ',\n        @builtin(subgroup_invocation_id) sl: u32' : ''}) {
  let wgi = ${WGSL_LINEAR_WORKGROUP};
  if (wgi >= u.nwg) { return; }`;
const ENTRY = scanEntry();

/** v4's tile loop: the next tile's loads are issued before this tile's sums and offer. */
function pipelinedLoop(t: ReturnType<typeof tileCode>, RT: number): string {
  return `  var tc = c0;
  var n = min(${RT}u, c1 - tc);
${t.decl('tc', 'n', 'var')}
  loop {
    if (tc >= c1) { break; }
${t.dots}
    workgroupBarrier();
    let tn = tc + ${RT}u;
    let nn = min(${RT}u, c1 - min(tn, c1));
    if (nn > 0u) {
${t.load('tn', 'nn')}
    }`;
}

/** `header` declares `u`, qr (f32), lmk (vec4<f32>), candS, candI (see hsaSelect.ts). */
export function hsaScan4Wgsl(c: Scan4Shape, header: string): string {
  const { KMAX, DR, RT } = c;
  // words a chunk row: DR/4 vec4<f32> or DR/8 vec4<u32> of packed bf16
  const DV = DR / (c.bf16 ? 8 : 4);
  const tile = tileCode(DV, RT * DV, c.bf16 === true);
  // the best list: the subgroup top-k's list 0, else bS / bI
  const [BS, BI] = c.subgroup ? ['lS', 'lI'] : ['bS', 'bI'];
  return /* wgsl */ `${c.subgroup ? WGSL_SUBGROUPS : ''}
${header}
${c.subgroup ? sgTopkOfferWgsl(c.subgroup.size, c.subgroup.list) : topkWgsl(KMAX, c.threshold)}
var<workgroup> qv: array<vec4<f32>, ${DR / 4}>;
var<workgroup> part: array<f32, ${RT * (DV + 1)}>;
${scanEntry(!!c.subgroup)}
${c.subgroup ? '  sgInit(sl);\n' : ''}  let blk = wgi % u.nblocks;
  let row = wgi / u.nblocks;
  let t = row / u.hr;
  let h = row % u.hr;
  for (var i = lid; i < ${DR / 4}u; i += ${SCAN_WG}u) {
    let o = row * ${DR}u + 4u * i;
    qv[i] = vec4<f32>(qr[o], qr[o + 1u], qr[o + 2u], qr[o + 3u]);
  }
  topkInit(lid);
  let c0 = blk * u.blockLen;
  let c1 = min(u.chunks, c0 + u.blockLen);
  let pos = u.posOffset + t;
${c.pipelined ? pipelinedLoop(tile, RT) : `  for (var tc = c0; tc < c1; tc += ${RT}u) {
    let n = min(${RT}u, c1 - tc);
${tile.decl('tc', 'n', 'let')}
${tile.dots}
    workgroupBarrier();`}
    var sc = NEG;
    let ch = tc + lid;
    if (lid < n) {
      var acc = 0.0;
      for (var d = 0u; d < ${DV}u; d++) { acc += part[lid * ${DV + 1}u + d]; }
      sc = select(NEG, acc * u.scale, visible(ch, pos));
    }
    topkOffer(lid, lid < n, sc, ch);
${c.pipelined ? '    tc = tn;\n    n = nn;' : ''}
  }
  if (lid < u.k) {
    let o = (row * u.nblocks + blk) * u.k + lid;
    candS[o] = ${BS}[lid];
    candI[o] = select(${BI}[lid], 0xffffffffu, ${BI}[lid] >= u.chunks);
  }
}`;
}

/**
 * `header` declares `u`, candS, candI, idx, w, sel (see hsaSelect.ts). With `bound` (v4): the blocks'
 * heads (each block's list is sorted, best first) bound the candidates (groupBound: the worst of k
 * group bests has k distinct candidates at least as good as it), so a worse one cannot be in the top
 * k (nb / k steps for one invocation a group; the exact k-th best head, a rank count over all nb
 * heads by each, took 1.3x the merge's time on the H200 at 16M tokens in the runs before). The ones
 * as good as it (a few dozen) are compacted in one pass over all lists and ranked once; more than
 * one offer holds (many equal scores) are offered 256 at a time. Used when the row has k to 256
 * blocks (a head an invocation); otherwise every candidate is offered, 1024 at a time.
 */
const indent = (text: string, n: number) => text.replace(/^/gm, ' '.repeat(n));

export function hsaMergeWgsl(KMAX: number, header: string, threshold = false, bound = false): string {
  const loads = [0, 1, 2, 3].map((q) => `    let i${q} = b0 + lid + ${q * SCAN_WG}u; let o${q} = row * u.ncand + min(i${q}, u.ncand - 1u);
    let s${q} = candS[o${q}]; let c${q} = candI[o${q}];`);
  const keep = (q: number) => `i${q} < u.ncand${bound ? ` && !better(ts, ti, s${q}, c${q})` : ''}`;
  const offerAll = `  for (var b0 = 0u; b0 < u.ncand; b0 += ${4 * SCAN_WG}u) {
${loads.join('\n')}
${[0, 1, 2, 3].map((q) => `    topkOffer(lid, ${keep(q)}, s${q}, c${q});`).join('\n')}
  }`;
  const compact = [0, 1, 2, 3].map(
    (q) => `    if (${keep(q)} && better(s${q}, c${q}, kS, kI)) { let p = atomicAdd(&nLive, 1u); if (p < ${SCAN_WG}u) { cS[p] = s${q}; cI[p] = c${q}; } }`,
  );
  const headBound = `  var ts = NEG; var ti = 0xffffffffu;
  let nb = u.ncand / u.k;
  let useBound = nb >= u.k && nb <= ${SCAN_WG}u;
  if (useBound) {
    let hb = lid < nb;
    let ho = row * u.ncand + min(lid, nb - 1u) * u.k;
    let hs = select(NEG, candS[ho], hb); let hi = select(0xffffffffu, candI[ho], hb);
    hS[lid] = hs; hI[lid] = hi;
    workgroupBarrier();
    // the heads are distinct but for empty blocks' (NEG, 2^32 − 1), the bottom: every candidate kept
${groupBound('hS', 'hI', 'nb')}
    workgroupBarrier();
  }
  // the empty list's k-th: candidates no better (empty lists' entries) are never kept
  let kS = bS[u.k - 1u]; let kI = bI[u.k - 1u];
  if (useBound) {
    for (var b0 = 0u; b0 < u.ncand; b0 += ${4 * SCAN_WG}u) {
${indent(loads.join('\n'), 2)}
${indent(compact.join('\n'), 2)}
    }
    workgroupBarrier();
    if (lid == 0u) { nL = atomicLoad(&nLive); }
    let m = workgroupUniformLoad(&nL);
    if (m <= ${SCAN_WG}u) {
      topkRank(lid, m);
    } else {
      if (lid == 0u) { atomicStore(&nLive, 0u); }
      workgroupBarrier();
${indent(offerAll, 4)}
    }
  } else {
${indent(offerAll, 2)}
  }`;
  return /* wgsl */ `
${header}
${topkWgsl(KMAX, threshold)}
${finalizeParWgsl(KMAX)}
${bound ? `var<workgroup> hS: array<f32, ${SCAN_WG}>;\nvar<workgroup> hI: array<u32, ${SCAN_WG}>;` : ''}
${ENTRY}
  let row = wgi;
  topkInit(lid);
${bound ? headBound : offerAll}
  finalizePar(lid, row / u.hr, row % u.hr);
}`;
}
