/**
 * WGSL for the block scan of HSA retrieval (hsaSelect's `scan` pass) when dr is a multiple of 4: the
 * landmarks of a row are read as coalesced 16-byte loads, all issued before use (RT chunks per tile,
 * ⌈RT·dr/4 / 256⌉ loads per invocation), each load's 4-term dot with the query lands in workgroup
 * memory, one invocation per chunk sums its dr/4 partials in order, and the first NL invocations
 * keep the best-k lists (LIST / MERGE of hsaSelect.wgsl.ts, same order and tie rules).
 */
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';
import { selectListWgsl, selectMergeWgsl } from './hsaSelect.wgsl.js';

export const SCAN_WG = 256;

export interface Scan4Shape {
  /** invocations that keep a list (the merge's list count) */
  NL: number;
  KMAX: number;
  DR: number;
  /** chunks per tile (≤ SCAN_WG) */
  RT: number;
}

/** Chunks per tile that fit the workgroup memory left by the lists and the query. */
export function scanTileRows(NL: number, KMAX: number, DR: number, maxStorage: number): number {
  const avail = Math.min(maxStorage, 32768) - NL * KMAX * 8 - DR * 4 - 64;
  return Math.max(1, Math.min(SCAN_WG, Math.floor(avail / (4 * (DR / 4 + 2)))));
}

function tileLoads(DV: number, TV: number): string {
  const lines: string[] = [];
  const lpt = Math.ceil(TV / SCAN_WG);
  for (let j = 0; j < lpt; j++) {
    lines.push(`    let e${j} = lid + ${j * SCAN_WG}u;`);
    lines.push(`    let v${j} = lmk[((tc + min(e${j} / ${DV}u, n - 1u)) * u.hr + h) * ${DV}u + e${j} % ${DV}u];`);
  }
  for (let j = 0; j < lpt; j++) {
    const guard = (j + 1) * SCAN_WG <= TV ? '' : `if (e${j} < ${TV}u) `;
    lines.push(`    ${guard}{ part[(e${j} / ${DV}u) * ${DV + 1}u + e${j} % ${DV}u] = dot(v${j}, qv[e${j} % ${DV}u]); }`);
  }
  return lines.join('\n');
}

/** `header` declares `u`, qr (f32), lmk (vec4<f32>), candS, candI (see hsaSelect.ts). */
export function hsaScan4Wgsl(c: Scan4Shape, header: string): string {
  const { NL, KMAX, DR, RT } = c;
  const DV = DR / 4;
  return /* wgsl */ `
${header}
${selectListWgsl(KMAX)}
${selectMergeWgsl(NL, KMAX)}
var<workgroup> qv: array<vec4<f32>, ${DV}>;
var<workgroup> part: array<f32, ${RT * (DV + 1)}>;
var<workgroup> sc: array<f32, ${RT}>;
@compute @workgroup_size(${SCAN_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let wgi = ${WGSL_LINEAR_WORKGROUP};
  if (wgi >= u.nwg) { return; }
  let blk = wgi % u.nblocks;
  let row = wgi / u.nblocks;
  let t = row / u.hr;
  let h = row % u.hr;
  for (var i = lid; i < ${DV}u; i += ${SCAN_WG}u) {
    let o = row * ${DR}u + 4u * i;
    qv[i] = vec4<f32>(qr[o], qr[o + 1u], qr[o + 2u], qr[o + 3u]);
  }
  for (var j = 0u; j < u.k; j++) { ls[j] = NEG; li[j] = 0xffffffffu; }
  let c0 = blk * u.blockLen;
  let c1 = min(u.chunks, c0 + u.blockLen);
  let pos = u.posOffset + t;
  workgroupBarrier();
  for (var tc = c0; tc < c1; tc += ${RT}u) {
    let n = min(${RT}u, c1 - tc);
${tileLoads(DV, RT * DV)}
    workgroupBarrier();
    if (lid < n) {
      var acc = 0.0;
      for (var d = 0u; d < ${DV}u; d++) { acc += part[lid * ${DV + 1}u + d]; }
      let ch = tc + lid;
      let vis = select((ch + 1u) * u.s <= pos, ch * u.s + u.maskWindow <= pos, u.maskOn != 0u);
      sc[lid] = select(NEG, acc * u.scale, vis);
    }
    workgroupBarrier();
    if (lid < ${NL}u) { for (var i = lid; i < n; i += ${NL}u) { insert(sc[i], tc + i); } }
  }
  mergeLists(lid);
  if (lid < u.k) { let o = (row * u.nblocks + blk) * u.k + lid; candS[o] = shS[lid]; candI[o] = shI[lid]; }
}`;
}
