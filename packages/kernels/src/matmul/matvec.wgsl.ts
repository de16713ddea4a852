/**
 * WGSL for the decode matrix-vector path: y[m, n] = Σ_k x[m, k] · W[n, k] for M ≤ MATVEC_MAX_M rows
 * of x and a weight W stored [N, K] (nn.Linear layout, `transB`), f32 or packed f16/bf16.
 * Memory-bound: 64 threads share one row of W, each reading 16-byte words (8 packed or 4 f32 values)
 * four at a time so many loads are in flight, then a tree reduction in workgroup memory.
 */
export const MATVEC_MAX_M = 8;
export const MATVEC_ROWS_PER_WG = 4;

export interface MatvecSpec {
  bDtype: 'f32' | 'f16' | 'bf16';
  /** K is a multiple of the 16-byte word (8 packed or 4 f32 values): vector loads */
  vec: boolean;
}

/** Values per 16-byte word, and the WGSL that turns word `w` (vec4<u32> or vec4<f32>) into 8 or 4 f32s. */
function unpackWord(dtype: MatvecSpec['bDtype']): { per: number; code: string } {
  if (dtype === 'f32') return { per: 4, code: 'let wv = array<f32, 4>(w.x, w.y, w.z, w.w);' };
  const halves =
    dtype === 'bf16'
      ? (c: string) => `bitcast<f32>(${c} << 16u), bitcast<f32>(${c} & 0xffff0000u)`
      : (c: string) => `unpack2x16float(${c}).x, unpack2x16float(${c}).y`;
  return { per: 8, code: `let wv = array<f32, 8>(${['w.x', 'w.y', 'w.z', 'w.w'].map(halves).join(', ')});` };
}

export function matvecWgsl(spec: MatvecSpec, uniformStruct: string): string {
  const { per, code } = unpackWord(spec.bDtype);
  const wType = spec.bDtype === 'f32' ? 'vec4<f32>' : 'vec4<u32>';
  const scalarB = spec.bDtype === 'f32' ? 'f32' : 'u32';
  const R = MATVEC_ROWS_PER_WG;
  const T = 256 / R;
  const readScalar =
    spec.bDtype === 'f32'
      ? 'bs[i]'
      : spec.bDtype === 'bf16'
        ? 'bitcast<f32>(select(bs[i >> 1u] << 16u, bs[i >> 1u] & 0xffff0000u, (i & 1u) == 1u))'
        : 'unpack2x16float(bs[i >> 1u])[i & 1u]';
  const body = spec.vec
    ? `  let words = u.K / ${per}u;
  let rowBase = row * words;
  var i = t;
  for (; i + ${3 * T}u < words; i += ${4 * T}u) {
    var ws: array<${wType}, 4>;
    for (var q = 0u; q < 4u; q++) { ws[q] = bv[rowBase + i + q * ${T}u]; }
    for (var q = 0u; q < 4u; q++) { accumulate(ws[q], (i + q * ${T}u) * ${per}u); }
  }
  for (; i < words; i += ${T}u) { accumulate(bv[rowBase + i], i * ${per}u); }`
    : `  for (var k = t; k < u.K; k += ${T}u) {
    let i = row * u.K + k;
    let wk = ${readScalar};
    for (var m = 0u; m < u.M; m++) { acc[m] += xs[m * u.K + k] * wk; }
  }`;
  const bBinding = spec.vec
    ? `@group(0) @binding(2) var<storage, read> bv: array<${wType}>;`
    : `@group(0) @binding(2) var<storage, read> bs: array<${scalarB}>;`;
  return /* wgsl */ `
${uniformStruct}
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> xs: array<f32>;
${bBinding}
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
var<workgroup> part: array<f32, ${256 * 8}>;
var<private> acc: array<f32, 8>;

fn accumulate(w: ${wType}, k: u32) {
  ${code}
  for (var m = 0u; m < u.M; m++) {
    let base = m * u.K + k;
    var s = 0.0;
    for (var j = 0u; j < ${per}u; j++) { s = fma(xs[base + j], wv[j], s); }
    acc[m] += s;
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * ${R}u + lid / ${T}u;
  let t = lid % ${T}u;
  if (row < u.N) {
${body}
  }
  for (var m = 0u; m < u.M; m++) { part[m * 256u + lid] = acc[m]; }
  workgroupBarrier();
  for (var s = ${T / 2}u; s > 0u; s >>= 1u) {
    if (t < s) {
      for (var m = 0u; m < u.M; m++) { part[m * 256u + lid] += part[m * 256u + lid + s]; }
    }
    workgroupBarrier();
  }
  if (t == 0u && row < u.N) {
    for (var m = 0u; m < u.M; m++) { c[m * u.ldc + row] = part[m * 256u + lid]; }
  }
}`;
}
