/**
 * moeGatherMatvec: the decode path's expert matvecs, reading only the chosen experts' weights
 * (math in moeGatherMatvec.ref.ts). The expert index is read on the GPU, so decode needs no host
 * round trip. v1: 256 threads = 4 weight rows × 64 threads; 16-byte loads (8 packed or 4 f32 values)
 * when K allows, else scalar; a tree over each row's 64 partials. Workgroups: (⌈N/4⌉, A).
 * v2: the shared expert rides along (gateUp: T more workgroup rows, written to their own output) and
 * `downCombine` weights and sums each token's k expert rows and the shared expert's in the workgroup
 * (workgroups (⌈N/4⌉, T)): a layer's decode is router, route, gateUp, downCombine (4 dispatches, 9
 * before), so one token's step is closer to the time of reading its 4 + 1 experts.
 * v3 (`route`, gateUp only): the experts are picked in the kernel from the router's logits (the
 * workgroup selection of moeRouter v2, each workgroup up to its own assignment's pick), so a layer's
 * decode is router matvec, gateUp, downCombine: 3 dependent dispatches. Its picks run on subgroups
 * where the device has them (moeRouter v3, `route.selectOnSubgroups`; v4: two subgroup reductions a
 * pick, bf16 gate/up 12.5 µs against the butterfly's 14.4 on the H200).
 * The 16-byte path reads x as vec4. Measured on the H200 and dropped: issuing 4 weight loads a
 * thread before their multiply-adds (as the matmul's matrix-vector kernel does), 0.92× this loop;
 * downCombine reading the k experts' rows in one loop (k compiled in), the same time as one after
 * the other (7.9 µs f32, 8.5 bf16).
 */
import { wgslHalfLoad } from '../core/dtype.js';
import { type BufferBinding, type Kernel, WGSL_SUBGROUPS, type WgslScalar } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type MoeGatherMatvecParams, moeGatherMatvecRef } from './moeGatherMatvec.ref.js';
import { ROUTE_LANES, routeOnSubgroups, subgroupPicks, wgslRouteSelect } from './moeRouter.js';

const ROWS = 4;
const T = 64;
const U = defineUniforms({ k: 'u32', N: 'u32', K: 'u32', A: 'u32', Ns: 'u32' });
/** gateUp with `route`: the selection's fields too */
const UR = defineUniforms({ k: 'u32', N: 'u32', K: 'u32', A: 'u32', Ns: 'u32', E: 'u32', nGroup: 'u32', topkGroup: 'u32', scale: 'f32' });
/** The in-kernel selection's parameters (gateUp with `route`), else undefined. */
const routeOf = (p: MoeGatherMatvecParams) => (p.mode === 'gateUp' ? p.route : undefined);

const per = (p: MoeGatherMatvecParams) => (p.wDtype === 'f32' ? 4 : 8);
const sharedOf = (p: MoeGatherMatvecParams) => (p.mode === 'down' ? 0 : (p.shared ?? 0));
/** 16-byte loads when every weight row's length allows them (the shared expert's too). */
function isVec(p: MoeGatherMatvecParams): boolean {
  const ns = sharedOf(p);
  return p.K % per(p) === 0 && (p.mode !== 'downCombine' || ns % per(p) === 0);
}

function buffers(p: MoeGatherMatvecParams): BufferBinding[] {
  const w: WgslScalar = p.wDtype === 'f32' ? 'f32' : 'u32';
  const rd = (name: string) => ({ name, access: 'read' as const, type: w });
  const f32 = (name: string, access: 'read' | 'read_write' = 'read') => ({ name, access, type: 'f32' as const });
  const head = [f32('x'), { name: 'idx', access: routeOf(p) ? ('read_write' as const) : ('read' as const), type: 'i32' as const }];
  const sh = sharedOf(p) > 0;
  if (p.mode === 'gateUp') {
    const route = routeOf(p) ? [f32('logits'), f32('bias'), f32('cwOut', 'read_write')] : [];
    return [...head, rd('w0'), rd('w1'), ...(sh ? [rd('s0'), rd('s1')] : []), f32('out', 'read_write'), ...(sh ? [f32('outS', 'read_write')] : []), ...route];
  }
  if (p.mode === 'down') return [...head, rd('w0'), f32('out', 'read_write')];
  return [...head, rd('w0'), f32('cw'), ...(sh ? [f32('xs'), rd('s0')] : []), f32('out', 'read_write')];
}

/** Bindings by hand: weights bind as vec4 words in the vector path. */
function bindings(p: MoeGatherMatvecParams): string {
  const elem = isVec(p) ? (p.wDtype === 'f32' ? 'vec4<f32>' : 'vec4<u32>') : p.wDtype === 'f32' ? 'f32' : 'u32';
  return buffers(p)
    .map((b, i) => {
      const type = /^[ws]\d$/.test(b.name) ? elem : isVec(p) && (b.name === 'x' || b.name === 'xs') ? 'vec4<f32>' : b.type;
      return `@group(0) @binding(${i + 1}) var<storage, ${b.access}> ${b.name}: array<${type}>;`;
    })
    .join('\n');
}

/** Scalar path: dot_{w}(i, c) = element i of weight `w` times x-vector `xb` at value index c. */
function dotFn(p: MoeGatherMatvecParams, w: string, xb: string): string {
  const read = p.wDtype === 'f32' ? `return ${w}[i] * ${xb}[c];` : `return rd_${w}(i) * ${xb}[c];`;
  return `${p.wDtype === 'f32' ? '' : wgslHalfLoad(`rd_${w}`, w, p.wDtype)}\nfn dot_${w}(i: u32, c: u32) -> f32 { ${read} }`;
}

/** 16-byte path: dotv_{xb}(word, c) = a loaded weight word (4 f32 or 8 packed values) times `xb` (vec4) from value c. */
function dotvFn(p: MoeGatherMatvecParams, xb: string): string {
  if (p.wDtype === 'f32') return `fn dotv_${xb}(v: vec4<f32>, c: u32) -> f32 { return dot(v, ${xb}[c / 4u]); }`;
  const h = (c: string) =>
    p.wDtype === 'bf16' ? `bitcast<f32>(${c} << 16u), bitcast<f32>(${c} & 0xffff0000u)` : `unpack2x16float(${c})`;
  return `fn dotv_${xb}(v: vec4<u32>, c: u32) -> f32 {
  return dot(vec4<f32>(${h('v.x')}, ${h('v.y')}), ${xb}[c / 4u]) + dot(vec4<f32>(${h('v.z')}, ${h('v.w')}), ${xb}[c / 4u + 1u]);
}`;
}

/** `for i = t, t + 64, … < len/P`: acc += Σ over weights ws of dot(w[base + i], x at xo + i·P). */
function rowLoop(p: MoeGatherMatvecParams, P: number, len: string, ws: [string, string][], xb: string, base: string, xo: string): string {
  if (!isVec(p)) {
    return `for (var i = t; i < ${len}; i += ${T}u) { ${ws.map(([w, acc]) => `${acc} += dot_${w}(${base} + i, ${xo} + i);`).join(' ')} }`;
  }
  const step = ws.map(([w, acc]) => `${acc} += dotv_${xb}(${w}[${base} + i], ${xo} + i * ${P}u);`).join(' ');
  return `for (var i = t; i < (${len} / ${P}u); i += ${T}u) { ${step} }`;
}

/** The 64 threads of each row: a tree over part (g; v's at part[256 + …] when `two`). */
function tree(two: boolean): string {
  return `  part[lid] = g;
${two ? '  part[256u + lid] = v;' : ''}
  workgroupBarrier();
  for (var s = ${T / 2}u; s > 0u; s >>= 1u) {
    if (t < s) {
      part[lid] += part[lid + s];
${two ? '      part[256u + lid] += part[256u + lid + s];' : ''}
    }
    workgroupBarrier();
  }`;
}

function body(p: MoeGatherMatvecParams, P: number): string {
  const sh = sharedOf(p) > 0;
  if (p.mode === 'gateUp') {
    const expert = p.route ? 'pick[a % u.k]' : 'idx[a]';
    const routedRows = `let base = (u32(${expert}) * u.N + n) * (u.K / ${P}u);
      let xo = (a / u.k) * u.K;
      ${rowLoop(p, P, 'u.K', [['w0', 'g'], ['w1', 'v']], 'x', 'base', 'xo')}`;
    const shared = `let base = n * (u.K / ${P}u);
      let xo = (a - u.A) * u.K;
      ${rowLoop(p, P, 'u.K', [['s0', 'g'], ['s1', 'v']], 'x', 'base', 'xo')}`;
    // with route: every workgroup of a routed row picks its token's experts up to its own (j + 1
    // passes); the last assignment's first column block writes the token's idx and weights
    const pickStage = p.route
      ? `  if (!isS) {
    let tok = a / u.k;
    let j = a % u.k;
    let sum = routeToken(tok * u.E, lid, j + 1u);
    if (wid.x == 0u && j == u.k - 1u && lid == 0u) {
      for (var q = 0u; q < u.k; q++) {
        idx[tok * u.k + q] = pick[q];
        let w = sc[u32(pick[q])];
        cwOut[tok * u.k + q] = ${p.route.norm ? 'w / sum' : 'w'} * u.scale;
      }
    }
  }
`
      : '';
    return `  let a = wid.y;
  let isS = ${sh ? 'a >= u.A' : 'false'};
${pickStage}  let rows = select(u.N, u.Ns, isS);
  var g = 0.0;
  var v = 0.0;
  if (n < rows) {
    ${sh ? `if (isS) {\n      ${shared}\n    } else {\n      ${routedRows}\n    }` : routedRows}
  }
${tree(true)}
  if (t == 0u && n < rows) {
    let gs = part[lid];
    let val = gs / (1.0 + exp(-gs)) * part[256u + lid];
    ${sh ? 'if (isS) { outS[(a - u.A) * u.Ns + n] = val; } else { out[a * u.N + n] = val; }' : 'out[a * u.N + n] = val;'}
  }`;
  }
  if (p.mode === 'down') {
    return `  let a = wid.y;
  var g = 0.0;
  if (n < u.N) {
    let base = (u32(idx[a]) * u.N + n) * (u.K / ${P}u);
    let xo = a * u.K;
    ${rowLoop(p, P, 'u.K', [['w0', 'g']], 'x', 'base', 'xo')}
  }
${tree(false)}
  if (t == 0u && n < u.N) { out[a * u.N + n] = part[lid]; }`;
  }
  const sharedLoop = `    let sbase = n * (u.Ns / ${P}u);
    let sxo = tok * u.Ns;
    ${rowLoop(p, P, 'u.Ns', [['s0', 'g']], 'xs', 'sbase', 'sxo')}`;
  return `  let tok = wid.y;
  var g = 0.0;
  if (n < u.N) {
    for (var j = 0u; j < u.k; j++) {
      let a = tok * u.k + j;
      let base = (u32(idx[a]) * u.N + n) * (u.K / ${P}u);
      let xo = a * u.K;
      var s = 0.0;
      ${rowLoop(p, P, 'u.K', [['w0', 's']], 'x', 'base', 'xo')}
      g += cw[a] * s;
    }
${sh ? sharedLoop : ''}
  }
${tree(false)}
  if (t == 0u && n < u.N) { out[tok * u.N + n] = part[lid]; }`;
}

function gatherWgsl(p: MoeGatherMatvecParams, sg: boolean): string {
  const P = isVec(p) ? per(p) : 1;
  const sh = sharedOf(p) > 0;
  // the scalar path reads each weight through its own function; the 16-byte path takes loaded words,
  // one function per x buffer
  const weights =
    p.mode === 'gateUp'
      ? [['w0', 'x'], ['w1', 'x'], ...(sh ? [['s0', 'x'], ['s1', 'x']] : [])]
      : [['w0', 'x'], ...(p.mode === 'downCombine' && sh ? [['s0', 'xs']] : [])];
  const dots = isVec(p) ? [...new Set(weights.map(([, xb]) => xb))].map((xb) => dotvFn(p, xb)) : weights.map(([w, xb]) => dotFn(p, w, xb));
  const r = routeOf(p);
  const route = r ? `fn logit(o: u32, e: u32) -> f32 { return logits[o + e]; }\n${wgslRouteSelect(r.scoreFn, 256, sg, subgroupPicks(r))}` : '';
  return /* wgsl */ `${sg ? WGSL_SUBGROUPS : ''}
${(r ? UR : U).wgsl('U')}
@group(0) @binding(0) var<uniform> u: U;
${bindings(p)}
${dots.join('\n')}
${route}
var<workgroup> part: array<f32, ${256 * (p.mode === 'gateUp' ? 2 : 1)}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32${sg ? ROUTE_LANES.params : ''}) {
${sg ? ROUTE_LANES.init : ''}  let n = wid.x * ${ROWS}u + lid / ${T}u;
  let t = lid % ${T}u;
${body(p, P)}
}`;
}

export const moeGatherMatvec: Kernel<MoeGatherMatvecParams> = {
  name: 'moeGatherMatvec',
  ref: moeGatherMatvecRef,
  program(p, caps) {
    const ns = sharedOf(p);
    if (p.A % p.k !== 0) throw new RangeError(`moeGatherMatvec: ${p.A} assignments are not whole tokens of k = ${p.k}`);
    const tokens = p.A / p.k;
    const cols = Math.ceil((p.mode === 'gateUp' ? Math.max(p.N, ns) : p.N) / ROWS);
    const rows = p.mode === 'gateUp' ? p.A + (ns ? tokens : 0) : p.mode === 'down' ? p.A : tokens;
    if (cols > caps.maxWorkgroupsPerDim || rows > caps.maxWorkgroupsPerDim) {
      throw new RangeError(`moeGatherMatvec: ${cols}×${rows} workgroups exceed ${caps.maxWorkgroupsPerDim} per dimension`);
    }
    const r = routeOf(p);
    const sg = !!r && routeOnSubgroups(r, caps);
    return {
      key: `moeGatherMatvec:${p.mode}:${p.wDtype}:${isVec(p) ? 'v' : 's'}:${ns > 0}${r ? `:route:${r.scoreFn}:${r.norm ? 'n' : 'r'}${sg ? `:sg:${subgroupPicks(r)}` : ''}` : ''}`,
      code: () => gatherWgsl(p, sg),
      buffers: buffers(p),
      uniforms: r
        ? UR.pack({ k: p.k, N: p.N, K: p.K, A: p.A, Ns: ns, E: r.E, nGroup: r.nGroup, topkGroup: r.topkGroup, scale: r.scale })
        : U.pack({ k: p.k, N: p.N, K: p.K, A: p.A, Ns: ns }),
      workgroups: rows === 0 || cols === 0 ? [0, 1, 1] : [cols, rows, 1],
    };
  },
};
