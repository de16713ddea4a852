/**
 * moeDispatch on the GPU, three dispatches and no host round trip (math in moeDispatch.ref.ts):
 *   moeCount   one workgroup per block of 1024 assignments: the block's expert ids go to workgroup
 *              memory, thread e counts expert e (no atomics, so the counts and the order are exact);
 *   moeScan    one workgroup: thread e sums its column of block counts, thread 0 scans the E totals
 *              (offsets and the grouped GEMM's tile schedule), thread e writes its block offsets;
 *   moeScatter one workgroup per block again: thread e walks the block in order and places its
 *              assignments, so each expert's rows keep increasing assignment order (stable).
 * v1. E ≤ 256 (one thread per expert).
 */
import { type BufferBinding, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { MOE_SORT_BLOCK, type MoeDispatchParams, moeCountRef, moeScanRef, moeScatterRef, moeSortBlocks } from './moeDispatch.ref.js';

const U = defineUniforms({ A: 'u32', E: 'u32', nb: 'u32', tileM: 'u32' });
const uniforms = (p: MoeDispatchParams) => U.pack({ A: p.A, E: p.E, nb: moeSortBlocks(p.A), tileM: p.tileM });
const u32 = (name: string, access: 'read' | 'read_write' = 'read'): BufferBinding => ({ name, access, type: 'u32' });

/** Loads the block's expert ids into `ids` (padding 0xffffffff matches no expert). */
const LOAD_BLOCK = `
  let b = ${WGSL_LINEAR_WORKGROUP};
  let a0 = b * ${MOE_SORT_BLOCK}u;
  for (var i = lid; i < ${MOE_SORT_BLOCK}u; i += 256u) {
    var v = 0xffffffffu;
    if (a0 + i < u.A) { v = u32(idx[a0 + i]); }
    ids[i] = v;
  }
  workgroupBarrier();`;

const COUNT_BUFFERS: BufferBinding[] = [{ name: 'idx', access: 'read', type: 'i32' }, u32('blockCounts', 'read_write')];
const countWgsl = () => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(COUNT_BUFFERS, 'U')}
var<workgroup> ids: array<u32, ${MOE_SORT_BLOCK}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
${LOAD_BLOCK}
  if (lid >= u.E) { return; }
  var n = 0u;
  for (var i = 0u; i < ${MOE_SORT_BLOCK}u; i++) { n += select(0u, 1u, ids[i] == lid); }
  blockCounts[b * u.E + lid] = n;
}`;

const SCAN_BUFFERS: BufferBinding[] = [u32('blockCounts'), u32('blockOffsets', 'read_write'), u32('offsets', 'read_write'), u32('tileStart', 'read_write')];
const scanWgsl = () => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(SCAN_BUFFERS, 'U')}
var<workgroup> tot: array<u32, 257>;
var<workgroup> tiles: array<u32, 257>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  let e = lid;
  if (e < u.E) {
    var n = 0u;
    for (var b = 0u; b < u.nb; b++) { n += blockCounts[b * u.E + e]; }
    tot[e] = n;
    tiles[e] = (n + u.tileM - 1u) / u.tileM;
  }
  workgroupBarrier();
  if (lid == 0u) {
    var s = 0u; var ts = 0u;
    for (var i = 0u; i < u.E; i++) {
      let n = tot[i]; let t = tiles[i];
      tot[i] = s; tiles[i] = ts;
      s += n; ts += t;
    }
    tot[u.E] = s; tiles[u.E] = ts;
    offsets[u.E] = s; tileStart[u.E] = ts;
  }
  workgroupBarrier();
  if (e < u.E) {
    offsets[e] = tot[e];
    tileStart[e] = tiles[e];
    var run = tot[e];
    for (var b = 0u; b < u.nb; b++) {
      blockOffsets[b * u.E + e] = run;
      run += blockCounts[b * u.E + e];
    }
  }
}`;

const SCATTER_BUFFERS: BufferBinding[] = [{ name: 'idx', access: 'read', type: 'i32' }, u32('blockOffsets'), u32('perm', 'read_write')];
const scatterWgsl = () => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(SCATTER_BUFFERS, 'U')}
var<workgroup> ids: array<u32, ${MOE_SORT_BLOCK}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
${LOAD_BLOCK}
  if (lid >= u.E) { return; }
  var pos = blockOffsets[b * u.E + lid];
  for (var i = 0u; i < ${MOE_SORT_BLOCK}u; i++) {
    if (ids[i] == lid) { perm[pos] = a0 + i; pos++; }
  }
}`;

const blocksGrid = (p: MoeDispatchParams, caps: Parameters<Kernel<MoeDispatchParams>['program']>[1]) =>
  p.A === 0 ? ([0, 1, 1] as [number, number, number]) : grid(moeSortBlocks(p.A), caps);

/** Per-block expert counts. */
export const moeCount: Kernel<MoeDispatchParams> = {
  name: 'moeCount',
  ref: moeCountRef,
  program: (p, caps) => ({ key: 'moeCount', code: countWgsl, buffers: COUNT_BUFFERS, uniforms: uniforms(p), workgroups: blocksGrid(p, caps) }),
};

/** Expert offsets, block offsets and the grouped GEMM tile schedule (one workgroup). */
export const moeScan: Kernel<MoeDispatchParams> = {
  name: 'moeScan',
  ref: moeScanRef,
  program: (p) => ({ key: 'moeScan', code: scanWgsl, buffers: SCAN_BUFFERS, uniforms: uniforms(p), workgroups: [1, 1, 1] }),
};

/** Stable placement of every assignment into its expert's rows. */
export const moeScatter: Kernel<MoeDispatchParams> = {
  name: 'moeScatter',
  ref: moeScatterRef,
  program: (p, caps) => ({ key: 'moeScatter', code: scatterWgsl, buffers: SCATTER_BUFFERS, uniforms: uniforms(p), workgroups: blocksGrid(p, caps) }),
};
