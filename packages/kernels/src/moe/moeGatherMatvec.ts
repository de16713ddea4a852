/**
 * moeGatherMatvec: the decode path's expert matvecs, reading only the chosen experts' weights
 * (math in moeGatherMatvec.ref.ts). The expert index is read on the GPU, so decode needs no host
 * round trip. v1: 256 threads = 4 weight rows × 64 threads; 16-byte loads (8 packed or 4 f32 values)
 * when K allows, else scalar; a tree over each row's 64 partials. Workgroups: (⌈N/4⌉, A).
 */
import { wgslHalfLoad } from '../core/dtype.js';
import type { BufferBinding, Kernel, WgslScalar } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type MoeGatherMatvecParams, moeGatherMatvecRef } from './moeGatherMatvec.ref.js';

const ROWS = 4;
const T = 64;
const U = defineUniforms({ k: 'u32', N: 'u32', K: 'u32' });

const per = (p: MoeGatherMatvecParams) => (p.wDtype === 'f32' ? 4 : 8);
const isVec = (p: MoeGatherMatvecParams) => p.K % per(p) === 0;

function buffers(p: MoeGatherMatvecParams): BufferBinding[] {
  const w: WgslScalar = p.wDtype === 'f32' ? 'f32' : 'u32';
  return [
    { name: 'x', access: 'read', type: 'f32' },
    { name: 'idx', access: 'read', type: 'i32' },
    { name: 'w0', access: 'read', type: w },
    ...(p.mode === 'gateUp' ? [{ name: 'w1', access: 'read' as const, type: w }] : []),
    { name: 'out', access: 'read_write', type: 'f32' },
  ];
}

/** Bindings by hand: weights bind as vec4 words in the vector path. */
function bindings(p: MoeGatherMatvecParams): string {
  const elem = isVec(p) ? (p.wDtype === 'f32' ? 'vec4<f32>' : 'vec4<u32>') : p.wDtype === 'f32' ? 'f32' : 'u32';
  return buffers(p)
    .map((b, i) => {
      const type = b.name.startsWith('w') ? elem : b.type;
      return `@group(0) @binding(${i + 1}) var<storage, ${b.access}> ${b.name}: array<${type}>;`;
    })
    .join('\n');
}

/** Dot of word/element `i` of weight `w` with x at value index `c` (the row's x offset added). */
function dotFn(p: MoeGatherMatvecParams, w: string): string {
  if (!isVec(p)) {
    const read = p.wDtype === 'f32' ? `return ${w}[i] * x[c];` : `return rd_${w}(i) * x[c];`;
    return `${p.wDtype === 'f32' ? '' : wgslHalfLoad(`rd_${w}`, w, p.wDtype)}\nfn dot_${w}(i: u32, c: u32) -> f32 { ${read} }`;
  }
  const xv = (o: number) => `vec4<f32>(x[c + ${o}u], x[c + ${o + 1}u], x[c + ${o + 2}u], x[c + ${o + 3}u])`;
  if (p.wDtype === 'f32') return `fn dot_${w}(i: u32, c: u32) -> f32 { return dot(${w}[i], ${xv(0)}); }`;
  const h = (c: string) =>
    p.wDtype === 'bf16' ? `bitcast<f32>(${c} << 16u), bitcast<f32>(${c} & 0xffff0000u)` : `unpack2x16float(${c})`;
  return `fn dot_${w}(i: u32, c: u32) -> f32 {
  let v = ${w}[i];
  return dot(vec4<f32>(${h('v.x')}, ${h('v.y')}), ${xv(0)}) + dot(vec4<f32>(${h('v.z')}, ${h('v.w')}), ${xv(4)});
}`;
}

function gatherWgsl(p: MoeGatherMatvecParams): string {
  const gate = p.mode === 'gateUp';
  const P = isVec(p) ? per(p) : 1;
  const ws = gate ? ['w0', 'w1'] : ['w0'];
  return /* wgsl */ `
${U.wgsl('U')}
@group(0) @binding(0) var<uniform> u: U;
${bindings(p)}
${ws.map((w) => dotFn(p, w)).join('\n')}
var<workgroup> part: array<f32, ${256 * ws.length}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let a = wid.y;
  let n = wid.x * ${ROWS}u + lid / ${T}u;
  let t = lid % ${T}u;
  let xo = ${gate ? '(a / u.k)' : 'a'} * u.K;
  var g = 0.0;
  var v = 0.0;
  if (n < u.N) {
    let base = (u32(idx[a]) * u.N + n) * (u.K / ${P}u);
    for (var i = t; i < u.K / ${P}u; i += ${T}u) {
      g += dot_w0(base + i, xo + i * ${P}u);
${gate ? `      v += dot_w1(base + i, xo + i * ${P}u);` : ''}
    }
  }
  part[lid] = g;
${gate ? '  part[256u + lid] = v;' : ''}
  workgroupBarrier();
  for (var s = ${T / 2}u; s > 0u; s >>= 1u) {
    if (t < s) {
      part[lid] += part[lid + s];
${gate ? '      part[256u + lid] += part[256u + lid + s];' : ''}
    }
    workgroupBarrier();
  }
  if (t == 0u && n < u.N) {
    let gs = part[lid];
    out[a * u.N + n] = ${gate ? 'gs / (1.0 + exp(-gs)) * part[256u + lid]' : 'gs'};
  }
}`;
}

export const moeGatherMatvec: Kernel<MoeGatherMatvecParams> = {
  name: 'moeGatherMatvec',
  ref: moeGatherMatvecRef,
  program(p, caps) {
    const cols = Math.ceil(p.N / ROWS);
    if (cols > caps.maxWorkgroupsPerDim || p.A > caps.maxWorkgroupsPerDim) {
      throw new RangeError(`moeGatherMatvec: ${cols}×${p.A} workgroups exceed ${caps.maxWorkgroupsPerDim} per dimension`);
    }
    return {
      key: `moeGatherMatvec:${p.mode}:${p.wDtype}:${isVec(p) ? 'v' : 's'}`,
      code: () => gatherWgsl(p),
      buffers: buffers(p),
      uniforms: U.pack({ k: p.k, N: p.N, K: p.K }),
      workgroups: p.A === 0 || p.N === 0 ? [0, 1, 1] : [cols, p.A, 1],
    };
  },
};
