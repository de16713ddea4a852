/**
 * WGSL for the decode matrix-vector path: y[m, n] = Σ_k x[m, k] · W[n, k] for M ≤ MATVEC_MAX_M rows
 * of x and a weight W stored [N, K] (nn.Linear layout, `transB`), f32 or packed f16/bf16.
 * Memory-bound: 32 threads share one row of W and read 16-byte words (8 packed or 4 f32 values),
 * eight loads in flight per thread; x is read as vec4 (cached). Partial sums meet in workgroup
 * memory and one thread per (row, m) adds its 32 partials: a single barrier.
 * M is compiled in (decode uses M = 1), so the accumulators are registers.
 */
import { range } from '../core/codegen.js';

export const MATVEC_MAX_M = 8;
/** Workgroup size, rows of W per workgroup and loads in flight per thread (benchmarks tune them). */
export interface MatvecShape {
  wg: number;
  rows: number;
  unroll: number;
  /**
   * How a row's T partial sums meet: `serial` (one thread adds all), `split` (√T threads add √T
   * each, then one thread adds those), `tree` (halving, log2 T barriers).
   */
  reduce: 'serial' | 'split' | 'tree';
}
export const MATVEC_DEFAULT_SHAPE: MatvecShape = { wg: 256, rows: 4, unroll: 8, reduce: 'split' };

export interface MatvecSpec {
  bDtype: 'f32' | 'f16' | 'bf16';
  /** K is a multiple of the 16-byte word (8 packed or 4 f32 values): vector loads */
  vec: boolean;
  M: number;
  shape?: MatvecShape;
}

/** Adds word `w` (16 bytes of row n at value index k) into acc0..acc{M-1}. */
function accumulateFn(spec: MatvecSpec): string {
  const wType = spec.bDtype === 'f32' ? 'vec4<f32>' : 'vec4<u32>';
  const halves = (c: string) =>
    spec.bDtype === 'bf16'
      ? `vec2<f32>(bitcast<f32>(${c} << 16u), bitcast<f32>(${c} & 0xffff0000u))`
      : `unpack2x16float(${c})`;
  const body =
    spec.bDtype === 'f32'
      ? range(spec.M).map((m) => `  acc[${m}] += dot(w, xv[(${m}u * u.K + k) / 4u]);`)
      : [
          `  let lo = vec4<f32>(${halves('w.x')}, ${halves('w.y')});`,
          `  let hi = vec4<f32>(${halves('w.z')}, ${halves('w.w')});`,
          ...range(spec.M).map(
            (m) => `  { let i = (${m}u * u.K + k) / 4u; acc[${m}] += dot(lo, xv[i]) + dot(hi, xv[i + 1u]); }`,
          ),
        ];
  return `fn accumulate(w: ${wType}, k: u32) {\n${body.join('\n')}\n}`;
}

/** One thread per (row, m) adds the row's T partials: one barrier, T serial reads. */
function serialReduce(M: number, WG: number, R: number, T: number): string {
  return `  if (lid < ${R * M}u) {
    let r = lid % ${R}u;
    let m = lid / ${R}u;
    var s = 0.0;
    for (var j = 0u; j < ${T}u; j++) { s += part[m * ${WG}u + r * ${T}u + j]; }
    if (row0 + r < u.N) { c[m * u.ldc + row0 + r] = s; }
  }`;
}

/** Halving tree over each row's T partials, all rows at once: log2(T) barriers. */
function treeReduce(M: number, WG: number, _R: number, T: number): string {
  return `  for (var s = ${T / 2}u; s > 0u; s >>= 1u) {
    if (t < s) {
${range(M)
  .map((m) => `      part[${m * WG}u + lid] += part[${m * WG}u + lid + s];`)
  .join('\n')}
    }
    workgroupBarrier();
  }
  if (t == 0u && row < u.N) {
${range(M)
  .map((m) => `    c[${m}u * u.ldc + row] = part[${m * WG}u + lid];`)
  .join('\n')}
  }`;
}

/** √T threads per (row, m) add √T partials each; then one thread adds those: two barriers. */
function splitReduce(M: number, WG: number, _R: number, T: number): string {
  const w = 2 ** Math.floor(Math.log2(T) / 2);
  const per = T / w;
  return `  if (t < ${w}u) {
${range(M)
  .map(
    (m) => `    { var s = 0.0; for (var j = 0u; j < ${per}u; j++) { s += part[${m * WG}u + lid - t + t * ${per}u + j]; }
      part[${m * WG}u + lid - t + t * ${per}u] = s; }`,
  )
  .join('\n')}
  }
  workgroupBarrier();
  if (t == 0u && row < u.N) {
${range(M)
  .map(
    (m) =>
      `    { var s = 0.0; for (var j = 0u; j < ${w}u; j++) { s += part[${m * WG}u + lid + j * ${per}u]; } c[${m}u * u.ldc + row] = s; }`,
  )
  .join('\n')}
  }`;
}

const REDUCERS = { serial: serialReduce, split: splitReduce, tree: treeReduce };

export function matvecWgsl(spec: MatvecSpec, uniformStruct: string): string {
  const per = spec.bDtype === 'f32' ? 4 : 8;
  const wType = spec.bDtype === 'f32' ? 'vec4<f32>' : 'vec4<u32>';
  const { wg: WG, rows: R, unroll: UNROLL } = spec.shape ?? MATVEC_DEFAULT_SHAPE;
  const T = WG / R; // threads per row
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
  for (; i + ${(UNROLL - 1) * T}u < words; i += ${UNROLL * T}u) {
${range(UNROLL)
  .map((q) => `    let w${q} = bv[rowBase + i + ${q * T}u];`)
  .join('\n')}
${range(UNROLL)
  .map((q) => `    accumulate(w${q}, (i + ${q * T}u) * ${per}u);`)
  .join('\n')}
  }
  for (; i < words; i += ${T}u) { accumulate(bv[rowBase + i], i * ${per}u); }`
    : `  for (var k = t; k < u.K; k += ${T}u) {
    let i = row * u.K + k;
    let wk = ${readScalar};
${range(spec.M)
  .map((m) => `    acc[${m}] += xs[${m}u * u.K + k] * wk;`)
  .join('\n')}
  }`;
  const bindings = spec.vec
    ? `@group(0) @binding(1) var<storage, read> xv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bv: array<${wType}>;`
    : `@group(0) @binding(1) var<storage, read> xs: array<f32>;
@group(0) @binding(2) var<storage, read> bs: array<${spec.bDtype === 'f32' ? 'f32' : 'u32'}>;`;
  return /* wgsl */ `
${uniformStruct}
@group(0) @binding(0) var<uniform> u: U;
${bindings}
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
var<workgroup> part: array<f32, ${WG * spec.M}>;
var<private> acc: array<f32, ${spec.M}>;
${spec.vec ? accumulateFn(spec) : ''}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row0 = (wid.x + wid.y * nwg.x) * ${R}u;
  let row = row0 + lid / ${T}u;
  let t = lid % ${T}u;
  if (row < u.N) {
${body}
  }
${range(spec.M)
  .map((m) => `  part[${m * WG}u + lid] = acc[${m}];`)
  .join('\n')}
  workgroupBarrier();
${REDUCERS[(spec.shape ?? MATVEC_DEFAULT_SHAPE).reduce](spec.M, WG, R, T)}
}`;
}
