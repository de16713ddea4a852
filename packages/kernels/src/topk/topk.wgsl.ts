/**
 * WGSL for one `topk` pass: a workgroup loads one chunk as (key, index) pairs into workgroup memory,
 * bitonic-sorts it best-first and writes the first k. Every binding is u32 (raw f32 bits), so no
 * float operation can flush subnormals or touch NaN payloads.
 */
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';

/** `header` declares `u` (rows, n, len, chunks, k) and xs[, candK, candI], outA, outB. */
export function topkWgsl(chunk: number, wg: number, first: boolean, final: boolean, header: string): string {
  const load = first
    ? 'key = keyOf(xs[row * u.n + j]); idx = j;'
    : 'key = candK[row * u.len + j]; idx = candI[row * u.len + j];';
  const store = final ? 'outA[o] = xs[row * u.n + si[t]];' : 'outA[o] = sk[t];';
  return /* wgsl */ `
${header}
var<workgroup> sk: array<u32, ${chunk}>;
var<workgroup> si: array<u32, ${chunk}>;
fn keyOf(b: u32) -> u32 {
  let m = b & 0x7fffffffu;
  if (m > 0x7f800000u) { return 0u; }
  if (m == 0u) { return 0x80000000u; }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = ${WGSL_LINEAR_WORKGROUP};
  let row = g / u.chunks;
  let c = g - row * u.chunks;
  if (row >= u.rows) { return; }
  for (var t = lid; t < ${chunk}u; t += ${wg}u) {
    let j = c * ${chunk}u + t;
    var key = 0u;
    var idx = 0xffffffffu;
    if (j < u.len) { ${load} }
    sk[t] = key;
    si[t] = idx;
  }
  workgroupBarrier();
  for (var size = 2u; size <= ${chunk}u; size <<= 1u) {
    for (var stride = size >> 1u; stride > 0u; stride >>= 1u) {
      for (var p = lid; p < ${chunk / 2}u; p += ${wg}u) {
        let lo = 2u * p - (p & (stride - 1u));
        let hi = lo + stride;
        let kl = sk[lo]; let il = si[lo]; let kh = sk[hi]; let ih = si[hi];
        let hiBetter = kh > kl || (kh == kl && ih < il);
        // first half of each size-block sorts best-first, second half worst-first
        if (hiBetter == ((lo & size) == 0u)) { sk[lo] = kh; si[lo] = ih; sk[hi] = kl; si[hi] = il; }
      }
      workgroupBarrier();
    }
  }
  for (var t = lid; t < u.k; t += ${wg}u) {
    let o = (row * u.chunks + c) * u.k + t;
    ${store}
    outB[o] = si[t];
  }
}`;
}
