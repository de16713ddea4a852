/**
 * swaDecodeSplitPartial / swaDecodeSplitMerge: one token's SWA attention over the ring in splits of
 * B keys (the math is in swaDecodeSplit.ref.ts).
 * v1 (swaAttentionDecodeForward, the dense kernel in ring mode): one workgroup per head walks all
 * W + 1 keys: 12 such layers took 13 ms of a 28 ms decode step at W = 4096 on the H200.
 * v2 (these): a workgroup of 64 per (split, head) scores its B ≤ 256 keys into workgroup memory
 * (tree max / Σexp), then accumulates o[D] with one thread per output column; a second pass merges
 * the splits per head. Workgroup memory: q (D ≤ 256) + B scores + two 64-float buffers of the
 * shared tree reductions (reduce/tree.wgsl.ts) ≤ 2.5 KiB.
 */
import { type BufferBinding, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { wgslWorkgroupReduce } from '../reduce/tree.wgsl.js';
import { decodeKeys, type SwaDecodeSplitParams, swaDecodeSplitMergeRef, swaDecodeSplitPartialRef } from './swaDecodeSplit.ref.js';

const WG = 64;
/** largest head size and split length the kernels take */
export const SWA_SPLIT_MAX_D = 256;
export const SWA_SPLIT_BLOCK = 256;

const U = defineUniforms({ n: 'u32', first: 'u32', window: 'u32', group: 'u32', hk: 'u32', d: 'u32', block: 'u32', splits: 'u32', scale: 'f32' });
const PARTIAL: BufferBinding[] = [
  { name: 'q', access: 'read', type: 'f32' },
  { name: 'kc', access: 'read', type: 'f32' },
  { name: 'vc', access: 'read', type: 'f32' },
  { name: 'kn', access: 'read', type: 'f32' },
  { name: 'vn', access: 'read', type: 'f32' },
  { name: 'part', access: 'read_write', type: 'f32' },
];
const MERGE: BufferBinding[] = [
  { name: 'part', access: 'read', type: 'f32' },
  { name: 'out', access: 'read_write', type: 'f32' },
  { name: 'lse', access: 'read_write', type: 'f32' },
];

function partialWgsl(): string {
  return `${U.wgsl('U')}
${wgslBindings(PARTIAL, 'U')}
var<workgroup> qs: array<f32, ${SWA_SPLIT_MAX_D}>;
var<workgroup> sc: array<f32, ${SWA_SPLIT_BLOCK}>;
${wgslWorkgroupReduce('wgMax', WG, 'max')}
${wgslWorkgroupReduce('wgSum', WG, 'sum')}
/** element e of key/value row i (0-based among the visible keys) of KV head kv */
fn kAt(i: u32, kv: u32, e: u32) -> f32 {
  if (i + 1u == u.n) { return kn[kv * u.d + e]; }
  return kc[(((u.first + i) % u.window) * u.hk + kv) * u.d + e];
}
fn vAt(i: u32, kv: u32, e: u32) -> f32 {
  if (i + 1u == u.n) { return vn[kv * u.d + e]; }
  return vc[(((u.first + i) % u.window) * u.hk + kv) * u.d + e];
}
@compute @workgroup_size(${WG}) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let s = wg.x;
  let h = wg.y;
  let kv = h / u.group;
  for (var e = t; e < u.d; e += ${WG}u) { qs[e] = q[h * u.d + e]; }
  workgroupBarrier();
  let lo = s * u.block;
  let hi = min(u.n, lo + u.block);
  var mx = -3.402823e38;
  for (var i = lo + t; i < hi; i += ${WG}u) {
    var dot = 0.0;
    for (var e = 0u; e < u.d; e++) { dot += qs[e] * kAt(i, kv, e); }
    let v = dot * u.scale;
    sc[i - lo] = v;
    mx = max(mx, v);
  }
  let m = wgMax(t, mx);
  var sum = 0.0;
  for (var i = lo + t; i < hi; i += ${WG}u) {
    let w = exp(sc[i - lo] - m);
    sc[i - lo] = w;
    sum += w;
  }
  let l = wgSum(t, sum);
  let base = (h * u.splits + s) * (u.d + 2u);
  for (var e = t; e < u.d; e += ${WG}u) {
    var acc = 0.0;
    for (var i = lo; i < hi; i++) { acc += sc[i - lo] * vAt(i, kv, e); }
    part[base + 2u + e] = acc;
  }
  if (t == 0u) {
    part[base] = m;
    part[base + 1u] = l;
  }
}`;
}

function mergeWgsl(): string {
  return `${U.wgsl('U')}
${wgslBindings(MERGE, 'U')}
@compute @workgroup_size(${WG}) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let h = wg.x;
  let w = u.d + 2u;
  var m = -3.402823e38;
  for (var s = 0u; s < u.splits; s++) { m = max(m, part[(h * u.splits + s) * w]); }
  var l = 0.0;
  for (var s = 0u; s < u.splits; s++) {
    let b = (h * u.splits + s) * w;
    l += exp(part[b] - m) * part[b + 1u];
  }
  for (var e = t; e < u.d; e += ${WG}u) {
    var acc = 0.0;
    for (var s = 0u; s < u.splits; s++) {
      let b = (h * u.splits + s) * w;
      acc += exp(part[b] - m) * part[b + 2u + e];
    }
    out[h * u.d + e] = acc / l;
  }
  if (t == 0u) { lse[h] = m + log(l); }
}`;
}

function uniforms(p: SwaDecodeSplitParams) {
  const { first, n, splits } = decodeKeys(p);
  return U.pack({ n, first, window: Math.max(p.window, 1), group: p.hq / p.hk, hk: p.hk, d: p.d, block: p.block, splits, scale: p.scale });
}

export const swaDecodeSplitPartial: Kernel<SwaDecodeSplitParams> = {
  name: 'swaDecodeSplitPartial',
  ref: (arrays, p) => swaDecodeSplitPartialRef(arrays as Float32Array[], p),
  program: (p) => ({
    key: 'swaDecodeSplitPartial',
    code: partialWgsl,
    buffers: PARTIAL,
    uniforms: uniforms(p),
    workgroups: [decodeKeys(p).splits, p.hq, 1],
  }),
};

export const swaDecodeSplitMerge: Kernel<SwaDecodeSplitParams> = {
  name: 'swaDecodeSplitMerge',
  ref: (arrays, p) => swaDecodeSplitMergeRef(arrays as Float32Array[], p),
  program: (p) => ({
    key: 'swaDecodeSplitMerge',
    code: mergeWgsl,
    buffers: MERGE,
    uniforms: uniforms(p),
    workgroups: [p.hq, 1, 1],
  }),
};
