/**
 * WGSL for the decode matrix-vector path, v3 ("rows"): the 256 threads of a workgroup split K, and
 * each thread multiplies its slice of x (loaded once, kept in registers) against the same slice of
 * ROWS rows of W [N, K]. x is read once per workgroup instead of once per row, and each thread keeps
 * ROWS independent 16-byte loads in flight. Needs the vector layout (K a multiple of 8 packed or 4
 * f32 values). Partial sums are reduced per row with a workgroup-memory tree.
 */
import type { MatvecSpec } from './matvec.wgsl.js';
import { range } from '../core/codegen.js';

export const MATVEC_ROWS_V3 = 8;

function unpack(spec: MatvecSpec, w: string, out: string): string {
  if (spec.bDtype === 'f32') return `let ${out}lo = ${w}; let ${out}hi = vec4<f32>(0.0);`;
  const halves = (c: string) =>
    spec.bDtype === 'bf16'
      ? `vec2<f32>(bitcast<f32>(${c} << 16u), bitcast<f32>(${c} & 0xffff0000u))`
      : `unpack2x16float(${c})`;
  return `let ${out}lo = vec4<f32>(${halves(`${w}.x`)}, ${halves(`${w}.y`)}); let ${out}hi = vec4<f32>(${halves(`${w}.z`)}, ${halves(`${w}.w`)});`;
}

export function matvecRowsWgsl(spec: MatvecSpec, uniformStruct: string): string {
  const R = MATVEC_ROWS_V3;
  const M = spec.M;
  const f32 = spec.bDtype === 'f32';
  const per = f32 ? 4 : 8;
  const wType = f32 ? 'vec4<f32>' : 'vec4<u32>';
  const accs = range(R * M).map((i) => `  var acc${i} = 0.0;`);
  const xs = range(M).map((m) =>
    f32
      ? `    let x${m}lo = xv[(${m}u * u.K) / 4u + i]; let x${m}hi = vec4<f32>(0.0);`
      : `    let x${m}lo = xv[(${m}u * u.K) / 4u + 2u * i]; let x${m}hi = xv[(${m}u * u.K) / 4u + 2u * i + 1u];`,
  );
  const loads = range(R).map((r) => `    let w${r} = bv[min(row0 + ${r}u, u.N - 1u) * words + i];`);
  const fmas = range(R).flatMap((r) => [
    `    { ${unpack(spec, `w${r}`, 'v')}`,
    ...range(M).map((m) => `      acc${r * M + m} += dot(vlo, x${m}lo) + dot(vhi, x${m}hi);`),
    '    }',
  ]);
  const store = range(R * M).map((i) => `  part[${i * 256}u + lid] = acc${i};`);
  return /* wgsl */ `
${uniformStruct}
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> xv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bv: array<${wType}>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
var<workgroup> part: array<f32, ${256 * R * M}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row0 = (wid.x + wid.y * nwg.x) * ${R}u;
  let words = u.K / ${per}u;
${accs.join('\n')}
  for (var i = lid; i < words; i += 256u) {
${loads.join('\n')}
${xs.join('\n')}
${fmas.join('\n')}
  }
${store.join('\n')}
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) {
      for (var j = 0u; j < ${R * M}u; j++) { part[j * 256u + lid] += part[j * 256u + lid + s]; }
    }
    workgroupBarrier();
  }
  if (lid < ${R * M}u) {
    let r = lid / ${M}u;
    let m = lid % ${M}u;
    if (row0 + r < u.N) { c[m * u.ldc + row0 + r] = part[lid * 256u]; }
  }
}`;
}
