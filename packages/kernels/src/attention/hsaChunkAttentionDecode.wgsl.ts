/**
 * WGSL for the chunk attention's `decode` variant (v5): one workgroup per (token, query head, js) over
 * the slots js, js + jsplit, …, their fusion sum taken inside, into output plane plane0 + js (with
 * jsplit 1, one plane: no plane-sum dispatch). K/V are read as 16-byte words (8 packed f16/bf16
 * values or 4 f32), a memory row's words by neighbouring invocations (coalesced):
 *   scores: rows (slot, key) of a group of slots; invocation (word e, lane l) loads word e of NR rows
 *     (all loads issued before use), its partial dots go to workgroup memory and one invocation a row
 *     sums them in word order;
 *   softmax: per slot over TS invocations (tree reductions), the probabilities scaled by w / (smN·e^−m + l);
 *   values: invocation (word e, lane l) accumulates p·V over the rows l, l + LANES, … (UV loads in
 *     flight), the lanes summed in order at the end.
 * Slots of weight 0 and chunks outside the bound memory are not read.
 * With `merge` (v6) each workgroup first merges its retrieval row's candidate lists (sgMergeRow) and
 * takes its slots' chunks and weights from that; a row's dot (transposeSum) and a slot's softmax
 * (subgroupExpSum) then reduce by subgroup shuffles, where the subgroups hold their lanes.
 */
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';
import { type ChunkTile, partSwitch, rowExpSum } from './hsaChunkAttention.wgsl.js';

export const DECODE_WG = 256;
/** Rows (slot × key) of one slot group: its scores stay in workgroup memory. */
const GROUP_ROWS = 1024;
/** Value loads a lane keeps in flight. */
const UV = 8;

export interface DecodeTile {
  D: number;
  S: number;
  kv: ChunkTile['kv'];
  /** K and V memory parts bound (default 1) */
  NP?: number;
  /**
   * the retrieval's merge in the kernel (v6): `header` then also declares candS, candI, idx, w, sel,
   * the merge's uniforms, validSlots and sgMergeFns' pieces; each workgroup merges its row's candidate
   * lists first and reads its slots' chunks and weights from mI / mW (no merge dispatch before it);
   * the value is the subgroup size; where it holds a slot's softmax lanes (TS) the softmax, and where
   * it holds a row's DW words (a power of two, NR = DW) the row's dot, reduce by subgroup shuffles
   * instead of through workgroup memory
   */
  merge?: number;
}

const pow2Floor = (n: number): number => 2 ** Math.floor(Math.log2(Math.max(1, n)));

/** The variant's layout for a head size and chunk size. */
export function decodeLayout(c: DecodeTile) {
  const { D, S } = c;
  const VPW = c.kv === 'f32' ? 4 : 8;
  const DW = D / VPW;
  const LANES = Math.floor(DECODE_WG / DW);
  const NR = Math.min(DW, 16);
  const RP = LANES * NR;
  const GS = Math.max(1, Math.min(DECODE_WG, Math.floor(GROUP_ROWS / S)));
  const TS = pow2Floor(Math.floor(DECODE_WG / GS));
  const PZ = Math.max(RP * (DW + 1), LANES * D);
  return { VPW, DW, LANES, NR, RP, GS, ROWS: GS * S, TS, PZ };
}

/** Why the decode variant cannot run for head size d (null when it can): whole 16-byte words a row. */
export function decodeUnsupported(d: number, kv: ChunkTile['kv']): string | null {
  const vpw = kv === 'f32' ? 4 : 8;
  return d % vpw === 0 ? null : `head size ${d} is not a multiple of ${vpw} (16-byte ${kv} words)`;
}

/** Workgroup memory of the decode variant in bytes. */
export function decodeBytes(c: DecodeTile): number {
  const L = decodeLayout(c);
  return 4 * (c.D + L.ROWS + L.PZ + DECODE_WG + 3 * L.GS);
}

/** Word → floats: lo4 / hi4 of a packed word (f16 / bf16), or the f32 word itself. */
function unpackFns(kv: ChunkTile['kv']): string {
  if (kv === 'f32') return '';
  const h =
    kv === 'bf16'
      ? (a: string, b: string) => `vec4<f32>(bitcast<f32>(x.${a} << 16u), bitcast<f32>(x.${a} & 0xffff0000u), bitcast<f32>(x.${b} << 16u), bitcast<f32>(x.${b} & 0xffff0000u))`
      : (a: string, b: string) => `vec4<f32>(unpack2x16float(x.${a}), unpack2x16float(x.${b}))`;
  return `fn lo4(x: vec4<u32>) -> vec4<f32> { return ${h('x', 'y')}; }
fn hi4(x: vec4<u32>) -> vec4<f32> { return ${h('z', 'w')}; }`;
}

/**
 * Sums the DW partial dots pd0 … pd{DW−1} (rows 0 … DW − 1 of the lane's group) over the DW lanes
 * wd of a row group: log2 DW halving steps, each lane keeping half of its rows and adding its
 * partner's half (subgroupShuffleXor); lane wd ends with row wd's sum in pd0.
 */
function transposeSum(DW: number): string {
  const out: string[] = [];
  let n = DW;
  for (let st = DW >> 1; st >= 1; st >>= 1) {
    const h = n / 2;
    out.push(`      let hi${st} = (wd & ${st}u) != 0u;`);
    for (let j = 0; j < h; j++) out.push(`      pd${j} = select(pd${j}, pd${j + h}, hi${st}) + subgroupShuffleXor(select(pd${j + h}, pd${j}, hi${st}), ${st}u);`);
    n = h;
  }
  return out.join('\n');
}

/**
 * rowExpSum's work for row rh of ps with a slot's TS lanes in one subgroup (lanes SL of subgroup G,
 * sgInit's): max and sum by shuffles between the TS lanes, no barrier.
 */
function subgroupExpSum(S: number, TS: number, GS: number): string {
  const steps = (v: string, op: (a: string, b: string) => string) =>
    Array.from({ length: Math.log2(TS) }, (_, i) => `    ${v} = ${op(v, `subgroupShuffleXor(${v}, ${TS >> (i + 1)}u)`)};`).join('\n');
  return `    // each slot's own softmax over TS lanes of one subgroup (G, SL: sgInit's)
    let rr = G * (SG / ${TS}u) + SL / ${TS}u;
    let rh = min(rr, ${GS - 1}u);
    let part = SL % ${TS}u;
    let row = rh * ${S}u;
    let live = rr < gs && slotF[rh] != 0.0;
    var m = -3.0e38;
    if (live) { for (var s = part; s < ${S}u; s += ${TS}u) { m = max(m, ps[row + s]); } }
${steps('m', (a, b) => `max(${a}, ${b})`)}
    var l = 0.0;
    if (live) { for (var s = part; s < ${S}u; s += ${TS}u) { let e = exp(ps[row + s] - m); ps[row + s] = e; l += e; } }
${steps('l', (a, b) => `${a} + ${b}`)}`;
}

/** `header` declares `u` and q, memK…, memV… (as arrays of 16-byte words), idx (i32), w, out. */
export function hsaChunkAttentionDecodeWgsl(c: DecodeTile, header: string): string {
  const { D, S } = c;
  const NP = c.NP ?? 1;
  const L = decodeLayout(c);
  const { DW, LANES, NR, RP, GS, ROWS, TS } = L;
  // with the merge (subgroups of SG ≥ TS, sgInit's G and SL): a slot's TS lanes in one subgroup, reduced by shuffles
  const sgSoftmax = c.merge !== undefined && c.merge >= TS;
  // with the merge: a row's NR = DW partial dots (DW a power of two) summed by a transpose reduction in its DW lanes
  const SGN = c.merge ?? 0;
  const tr = c.merge !== undefined && NR === DW && DW <= c.merge && Number.isInteger(Math.log2(DW));
  const f32 = c.kv === 'f32';
  const W = f32 ? 'vec4<f32>' : 'vec4<u32>';
  const zero = `${W}()`;
  const loads =
    NP === 1
      ? `fn ldK(p: u32, i: u32) -> ${W} { return memK[i]; }\nfn ldV(p: u32, i: u32) -> ${W} { return memV[i]; }`
      : ['K', 'V'].map((m) => partSwitch(`ld${m}`, W, NP, (p) => `mem${m}${p}[i]`, true)).join('\n');
  const dotw = (x: string) => (f32 ? `dot(${x}, qs[wd])` : `dot(lo4(${x}), qs[2u * wd]) + dot(hi4(${x}), qs[2u * wd + 1u])`);
  // word wd of row r of the group (slot r / S, key r % S), zero for a dead slot or a row past the group
  const rowLoad = (fn: string, x: string, row: string) => {
    const r = `(${row})`;
    return `    var ${x} = ${zero};
    if (${r} < rows) { let jj = ${r} / ${S}u; if (slotF[jj] != 0.0) { ${x} = ${fn}(slotP[jj], ((slotB[jj] + ${r} % ${S}u) * u.hk + g) * ${DW}u + wd); } }`;
  };
  const ks = Array.from({ length: NR }, (_, i) => i);
  const vs = Array.from({ length: UV }, (_, i) => i);
  const accumulate = (x: string, p: string) => (f32 ? `      acc0 += ${p} * ${x};` : `      acc0 += ${p} * lo4(${x}); acc1 += ${p} * hi4(${x});`);
  return /* wgsl */ `
${header}
${unpackFns(c.kv)}
${loads}
var<workgroup> qs: array<vec4<f32>, ${D / 4}>;
var<workgroup> ps: array<f32, ${ROWS}>;
var<workgroup> pz: array<f32, ${L.PZ}>;
var<workgroup> red: array<f32, ${DECODE_WG}>;
var<workgroup> slotB: array<u32, ${GS}>;
var<workgroup> slotP: array<u32, ${GS}>;
var<workgroup> slotF: array<f32, ${GS}>;
@compute @workgroup_size(${DECODE_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32${c.merge ? ', @builtin(subgroup_invocation_id) sl: u32' : ''}) {
  var wgi = ${WGSL_LINEAR_WORKGROUP};
  if (wgi >= u.nwg) { return; }
  // slots js, js + jsplit, … of (t, h), into output plane plane0 + js
  let js = wgi % u.jsplit; wgi /= u.jsplit;
  let h = wgi % u.hq;
  let t = wgi / u.hq;
  let nj = (u.k - min(js, u.k) + u.jsplit - 1u) / u.jsplit;
  let g = h / u.ratio;
  for (var i = lid; i < ${D / 4}u; i += ${DECODE_WG}u) {
    let o = (t * u.hq + h) * ${D}u + 4u * i;
    qs[i] = vec4<f32>(q[o], q[o + 1u], q[o + 2u], q[o + 3u]) * u.scale;
  }
${
  c.merge
    ? `  // the row's merge (its outputs written once: by the first head of the row's heads, slot group 0)
  sgInit(sl);
  sgMergeRow(t * u.hr + select(g, 0u, u.hr == 1u), lid, u.writeSel != 0u && js == 0u && select(h % u.ratio == 0u, h == 0u, u.hr == 1u));
`
    : ''
}${
  tr
    ? `  // a row's DW words on DW lanes of one subgroup (sgInit's G and SL): its dot summed by shuffles
  let wd = SL % ${DW}u;
  let ln = G * ${SGN / DW}u + SL / ${DW}u;`
    : `  let wd = lid % ${DW}u;
  let ln = lid / ${DW}u;`
}
  let act = ln < ${LANES}u;
  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  for (var j0 = 0u; j0 < nj; j0 += ${GS}u) {
    let gs = min(${GS}u, nj - j0);
    let rows = gs * ${S}u;
    if (lid < gs) {
${
  c.merge
    ? `      let jj = js + (j0 + lid) * u.jsplit;
      let wj = mW[jj];
      let cj = mI[jj] - i32(u.c0);`
    : `      let slot = (t * u.hk + g) * u.k + js + (j0 + lid) * u.jsplit;
      let wj = w[slot];
      let cj = idx[slot] - i32(u.c0);`
}
      // w = 0 (invalid or masked slot) contributes nothing; a chunk outside this memory is not read
      let live = wj != 0.0 && cj >= 0 && cj < i32(u.cn);
      let cc = u32(max(cj, 0));
      let p = ${NP === 1 ? '0u' : `min(cc / u.perPart, ${NP - 1}u)`};
      slotP[lid] = p;
      slotB[lid] = (cc - p * u.perPart) * ${S}u;
      slotF[lid] = select(0.0, wj, live);
    }
    workgroupBarrier();
    for (var r0 = 0u; r0 < rows; r0 += ${RP}u) {
${
  tr
    ? `${ks.map((i) => rowLoad('ldK', `x${i}`, `r0 + ln + ${i * LANES}u`)).join('\n')}
${ks.map((i) => `      var pd${i} = ${dotw(`x${i}`)};`).join('\n')}
${transposeSum(DW)}
      if (r0 + ln + wd * ${LANES}u < rows) { ps[r0 + ln + wd * ${LANES}u] = pd0; }
      workgroupBarrier();
    }`
    : `      if (act) {
${ks.map((i) => rowLoad('ldK', `x${i}`, `r0 + ln + ${i * LANES}u`).replace(/^/gm, '    ')).join('\n')}
${ks.map((i) => `        pz[(ln + ${i * LANES}u) * ${DW + 1}u + wd] = ${dotw(`x${i}`)};`).join('\n')}
      }
      workgroupBarrier();
      if (lid < ${RP}u && r0 + lid < rows) {
        var z = 0.0;
        for (var e = 0u; e < ${DW}u; e++) { z += pz[lid * ${DW + 1}u + e]; }
        ps[r0 + lid] = z;
      }
      workgroupBarrier();
    }`
}
${sgSoftmax ? subgroupExpSum(S, TS, GS) : `    // each slot's own softmax over TS invocations (rowExpSum over row rh of ps)
    let rh = min(lid / ${TS}u, ${GS - 1}u);
    let part = lid % ${TS}u;
    let row = rh * ${S}u;
    let live = lid / ${TS}u < gs && slotF[rh] != 0.0;
${rowExpSum(S, TS)}`}
    let f = slotF[rh] / (u.smN * exp(-m) + l);
    if (live) { for (var s = part; s < ${S}u; s += ${TS}u) { ps[row + s] *= f; } }
    workgroupBarrier();
    if (act) {
      for (var r = ln; r < rows; r += ${UV * LANES}u) {
${vs.map((i) => rowLoad('ldV', `y${i}`, `r + ${i * LANES}u`)).join('\n')}
${vs.map((i) => `      if (r + ${i * LANES}u < rows) {\n  ${accumulate(`y${i}`, `ps[r + ${i * LANES}u]`)}\n      }`).join('\n')}
      }
    }
    workgroupBarrier();
  }
  // the lanes' sums, in lane order
  if (act) {
${(f32 ? [0, 1, 2, 3].map((i) => `    pz[ln * ${D}u + 4u * wd + ${i}u] = acc0[${i}];`) : [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `    pz[ln * ${D}u + 8u * wd + ${i}u] = ${i < 4 ? `acc0[${i}]` : `acc1[${i - 4}]`};`)).join('\n')}
  }
  workgroupBarrier();
  for (var d = lid; d < ${D}u; d += ${DECODE_WG}u) {
    var s = 0.0;
    for (var r = 0u; r < ${LANES}u; r++) { s += pz[r * ${D}u + d]; }
    let a = (u.plane0 + js) * u.planeSize + (t * u.hq + h) * ${D}u + d;
    out[a] = select(s, out[a] + s, u.accumulate != 0u);
  }
}`;
}
