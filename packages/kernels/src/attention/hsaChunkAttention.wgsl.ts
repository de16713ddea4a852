/**
 * WGSL for HSA chunk attention (forward and decode). A workgroup owns one token t and HB query heads
 * of KV head g (they share the selection idx[t,g,:]); for each selected slot it streams the chunk's
 * S keys through workgroup memory in KT-row tiles, takes that chunk's own softmax (off-by-one when
 * smN = 1), and adds w·Ō to the outputs, spread over 256 invocations. With jsplit > 1 (decode: few
 * workgroups) slot j goes to workgroup j mod jsplit, which writes its own output plane (summed after). The memory may be one part of
 * a larger one (chunks c0 … c0+cn−1): slots outside it are skipped, `accumulate` adds to `out`.
 */
import { isPacked16, wgslHalfLoad } from '../core/dtype.js';
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';

export interface ChunkTile {
  HB: number;
  KT: number;
  D: number;
  S: number;
  kv: 'f32' | 'bf16' | 'f16';
  /** K and V memory parts bound (default 1) */
  NP?: number;
}

export const CHUNK_WG = 256;

export const chunkWords = (c: ChunkTile): number => c.HB * c.D + c.KT * (c.D + 1) + c.HB * c.S + CHUNK_WG + 2;

/**
 * ldK(i), ldV(i): element i of the K / V memory as f32. With NP > 1 parts bound (memK0 … memK{NP−1}),
 * of the part `cpart` the slot loop chose (a private variable, set once a slot).
 */
function kvLoads(kv: ChunkTile['kv'], NP = 1): string {
  const one = (fn: string, arr: string) =>
    isPacked16(kv) ? wgslHalfLoad(fn, arr, kv as 'f16' | 'bf16') : `fn ${fn}(i: u32) -> f32 { return ${arr}[i]; }`;
  if (NP === 1) return `${one('ldK', 'memK')}\n${one('ldV', 'memV')}`;
  const lines = ['var<private> cpart: u32;'];
  for (const m of ['K', 'V']) {
    for (let p = 0; p < NP; p++) lines.push(one(`ld${m}${p}`, `mem${m}${p}`));
    lines.push(partSwitch(`ld${m}`, 'f32', NP, (p) => `ld${m}${p}(i)`));
  }
  return lines.join('\n');
}

/**
 * `fn name(i: u32) -> ty` returning `at(p)` for the bound memory part p = `cpart` (the last part
 * for any larger value): how a kernel reads one of NP parts bound at once. With `partParam` the
 * part is the function's first parameter p instead (`fn name(p: u32, i: u32)`: a uniform argument
 * keeps a subgroup-matrix load in uniform control flow, the private cpart would not).
 */
export function partSwitch(name: string, ty: string, NP: number, at: (p: number) => string, partParam = false): string {
  const cases = Array.from({ length: NP - 1 }, (_, p) => `case ${p}u: { return ${at(p)}; }`).join(' ');
  const [params, part] = partParam ? ['p: u32, i: u32', 'p'] : ['i: u32', 'cpart'];
  return `fn ${name}(${params}) -> ${ty} { switch (${part}) { ${cases} default: { return ${at(NP - 1)}; } } }`;
}

/**
 * `base`, the first memory row of chunk cj, and its part when NP > 1 parts are bound: set into the
 * private `cpart`, or with `partLet` declared as that uniform let (0u for one part).
 */
export const slotBase = (S: number, NP: number, partLet?: string): string =>
  NP === 1
    ? `${partLet ? `    let ${partLet} = 0u;\n` : ''}    let base = u32(cj) * ${S}u;`
    : partLet
      ? `    let ${partLet} = min(u32(cj) / u.perPart, ${NP - 1}u);\n    let base = (u32(cj) - ${partLet} * u.perPart) * ${S}u;`
      : `    // NP parts bound: u.perPart chunks each (the last may hold fewer)
    cpart = min(u32(cj) / u.perPart, ${NP - 1}u);
    let base = (u32(cj) - cpart * u.perPart) * ${S}u;`;

/**
 * One KT-row tile of K or V into ts: every load of the invocation issued before the first store (the
 * loads of a tile in flight together, not one latency each); rows past S re-read row S−1 (unused).
 */
function tileLoad(fn: 'ldK' | 'ldV', c: ChunkTile): string {
  const { KT, D, S } = c;
  const n = Math.ceil((KT * D) / CHUNK_WG);
  const lines: string[] = [];
  for (let j = 0; j < n; j++) {
    lines.push(`      let i${j} = lid + ${j * CHUNK_WG}u;`);
    lines.push(`      let x${j} = ${fn}(((base + min(s0 + i${j} / ${D}u, ${S - 1}u)) * u.hk + g) * ${D}u + i${j} % ${D}u);`);
  }
  for (let j = 0; j < n; j++) {
    const guard = (j + 1) * CHUNK_WG <= KT * D ? '' : `if (i${j} < ${KT * D}u) `;
    lines.push(`      ${guard}{ ts[(i${j} / ${D}u) * ${D + 1}u + i${j} % ${D}u] = x${j}; }`);
  }
  return lines.join('\n');
}

/** z = q·k of head hl and tile row r; four independent partial sums when 4 | D (loads in flight). */
function qkDot(D: number): string {
  const P = D + 1;
  if (D % 4 !== 0) return `        var z = 0.0;\n        for (var d = 0u; d < ${D}u; d++) { z += qs[hl * ${D}u + d] * ts[r * ${P}u + d]; }`;
  const terms = [0, 1, 2, 3].map((j) => `z${j} += qs[a + ${j}u] * ts[b + ${j}u];`).join(' ');
  return `        var z0 = 0.0; var z1 = 0.0; var z2 = 0.0; var z3 = 0.0;
        for (var d = 0u; d < ${D}u; d += 4u) { let a = hl * ${D}u + d; let b = r * ${P}u + d; ${terms} }
        let z = (z0 + z1) + (z2 + z3);`;
}

/** acc[o] += Σ_r p[hl, s0 + r]·v[r, d] over the tile; four partial sums when every tile is full and 4 | KT. */
function pvDot(c: ChunkTile): string {
  const { KT, D, S } = c;
  const P = D + 1;
  if (S % KT !== 0 || KT % 4 !== 0) {
    return `        var x = 0.0;\n        for (var r = 0u; r < kn; r++) { x += ps[hl * ${S}u + s0 + r] * ts[r * ${P}u + d]; }\n        acc[o] += x;`;
  }
  const terms = [0, 1, 2, 3].map((j) => `x${j} += ps[a + ${j}u] * ts[(r + ${j}u) * ${P}u + d];`).join(' ');
  return `        var x0 = 0.0; var x1 = 0.0; var x2 = 0.0; var x3 = 0.0;
        for (var r = 0u; r < ${KT}u; r += 4u) { let a = hl * ${S}u + s0 + r; ${terms} }
        acc[o] += (x0 + x1) + (x2 + x3);`;
}

/** Invocations that share one head's row of S scores in the softmax (a power of two, HB·G ≤ 256). */
export const softmaxGroup = (HB: number): number => 2 ** Math.floor(Math.log2(Math.floor(CHUNK_WG / HB)));

/**
 * red[rh·G] ← op over red[rh·G … rh·G + G − 1] for every row rh (`op` combines red[lid] and
 * red[lid + st]; invocation lid is part lid mod G of row lid / G); ends with a barrier.
 */
export const reduceTree = (G: number, op: string): string =>
  G === 1
    ? '    workgroupBarrier();'
    : `    for (var st = ${G / 2}u; st > 0u; st >>= 1u) {
      if (part < st) { red[lid] = ${op}; }
      workgroupBarrier();
    }`;

/**
 * The shared part of a chunk's softmax over the rows of ps (S scores each, G invocations a row, the
 * invocation's row rh, its part, the row's offset `row` and `live` declared by the caller): each
 * invocation reduces a strided part of its row, a tree over the G partials in red gives the row's
 * max m, then ps ← exp(ps − m) and l = Σ exp (without the off-by-one term): log2 G barrier steps
 * instead of serial passes over S by one invocation per row.
 */
export function rowExpSum(S: number, G: number): string {
  return `    var m = -3.0e38;
    if (live) { for (var s = part; s < ${S}u; s += ${G}u) { m = max(m, ps[row + s]); } }
    red[lid] = m;
    workgroupBarrier();
${reduceTree(G, 'max(red[lid], red[lid + st])')}
    m = red[rh * ${G}u];
    workgroupBarrier();
    var l = 0.0;
    if (live) { for (var s = part; s < ${S}u; s += ${G}u) { let e = exp(ps[row + s] - m); ps[row + s] = e; l += e; } }
    red[lid] = l;
    workgroupBarrier();
${reduceTree(G, 'red[lid] + red[lid + st]')}
    l = red[rh * ${G}u];`;
}

/** ps[hl, :] ← wj·softmax(ps[hl, :]) (off-by-one when smN = 1) for the HB heads, G = softmaxGroup(HB) invocations a row. */
function softmaxRows(c: ChunkTile): string {
  const { HB, S } = c;
  const G = softmaxGroup(HB);
  return `    let rh = lid / ${G}u; let part = lid % ${G}u;
    let row = min(rh, ${HB - 1}u) * ${S}u;
    let live = rh < ${HB}u;
${rowExpSum(S, G)}
    let f = wj / (u.smN * exp(-m) + l);
    if (live) { for (var s = part; s < ${S}u; s += ${G}u) { ps[row + s] *= f; } }`;
}

/**
 * Opens the loop over the workgroup's slots j ≡ js (mod jsplit) of (t, g): the slot's weight wj and
 * chunk cj (relative to the bound memory) read once and shared, slots of weight 0 or outside it
 * skipped, `base` the chunk's first memory row (in part `cpart` when NP > 1 parts are bound). The kernel declares slotW (f32) and slotC (i32) in workgroup memory.
 */
const slotLoopHead = (S: number, NP: number): string => `  for (var j = js; j < u.k; j += u.jsplit) {
    if (lid == 0u) {
      let slot = (t * u.hk + g) * u.k + j;
      slotW = w[slot];
      slotC = idx[slot] - i32(u.c0);
    }
    let wj = workgroupUniformLoad(&slotW);
    let cj = workgroupUniformLoad(&slotC);
    // w = 0 (invalid or masked slot) contributes nothing; a chunk outside this part is not read
    if (wj == 0.0 || cj < 0 || cj >= i32(u.cn)) { continue; }
${slotBase(S, NP)}`;

/**
 * Both variants' shared workgroup memory (red, slotW, slotC), loaders and entry point, up to the
 * workgroup's linear index `wgi` with its plane `js` taken off.
 */
const entry = (kv: ChunkTile['kv'], NP: number): string => `var<workgroup> red: array<f32, ${CHUNK_WG}>;
var<workgroup> slotW: f32;
var<workgroup> slotC: i32;
${kvLoads(kv, NP)}
@compute @workgroup_size(${CHUNK_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  var wgi = ${WGSL_LINEAR_WORKGROUP};
  if (wgi >= u.nwg) { return; }
  let js = wgi % u.jsplit; wgi /= u.jsplit;`;

/**
 * The workgroup's token t, KV head g and block of HB query heads (h0 … h0 + nh − 1) from its linear
 * index `wgi` (plane already taken off), shared by the tile and mma variants.
 */
export const headBlockOf = (HB: number): string => `  let hb = wgi % u.hblocks; wgi /= u.hblocks;
  let g = wgi % u.hk;
  let t = wgi / u.hk;
  let h0 = g * u.ratio + hb * ${HB}u;
  let nh = min(${HB}u, (g + 1u) * u.ratio - h0);`;

/** `header` declares `u` and q, memK, memV, idx (i32), w, out. */
export function hsaChunkAttentionWgsl(c: ChunkTile, header: string): string {
  const { HB, KT, D, S } = c;
  const NP = c.NP ?? 1;
  const P = D + 1;
  const OPT = Math.ceil((HB * D) / CHUNK_WG);
  return /* wgsl */ `
${header}
var<workgroup> qs: array<f32, ${HB * D}>;
var<workgroup> ts: array<f32, ${KT * P}>;
var<workgroup> ps: array<f32, ${HB * S}>;
${entry(c.kv, NP)}
${headBlockOf(HB)}
  for (var i = lid; i < ${HB * D}u; i += ${CHUNK_WG}u) {
    let hl = i / ${D}u;
    qs[i] = select(0.0, q[(t * u.hq + h0 + hl) * ${D}u + i % ${D}u] * u.scale, hl < nh);
  }
  var acc: array<f32, ${OPT}>;
  for (var o = 0u; o < ${OPT}u; o++) { acc[o] = 0.0; }
${slotLoopHead(S, NP)}
    for (var s0 = 0u; s0 < ${S}u; s0 += ${KT}u) {
${tileLoad('ldK', c)}
      workgroupBarrier();
      for (var i = lid; i < ${HB * KT}u; i += ${CHUNK_WG}u) {
        let hl = i / ${KT}u; let r = i % ${KT}u;
${qkDot(D)}
        if (s0 + r < ${S}u) { ps[hl * ${S}u + s0 + r] = z; }
      }
      workgroupBarrier();
    }
${softmaxRows(c)}
    for (var s0 = 0u; s0 < ${S}u; s0 += ${KT}u) {
      workgroupBarrier();
${tileLoad('ldV', c)}
      workgroupBarrier();
      let kn = min(${KT}u, ${S}u - s0);
      for (var o = 0u; o < ${OPT}u; o++) {
        let i = lid + o * ${CHUNK_WG}u;
        let hl = min(i / ${D}u, ${HB - 1}u); let d = i % ${D}u;
${pvDot(c)}
      }
    }
    workgroupBarrier();
  }
  for (var o = 0u; o < ${OPT}u; o++) {
    let i = lid + o * ${CHUNK_WG}u;
    let hl = i / ${D}u;
    if (hl < nh) {
      let a = (u.plane0 + js) * u.planeSize + (t * u.hq + h0 + hl) * ${D}u + i % ${D}u;
      out[a] = select(acc[o], out[a] + acc[o], u.accumulate != 0u);
    }
  }
}`;
}

export interface HeadTile {
  D: number;
  S: number;
  kv: ChunkTile['kv'];
  /** K and V memory parts bound (default 1) */
  NP?: number;
}

/** Largest power of two ≤ n (n ≥ 1). */
const pow2Floor = (n: number): number => 2 ** Math.floor(Math.log2(Math.max(1, n)));

/** Invocations that share one key's dot product in the head variant (a power of two, ≤ 256 / S when S < 256). */
export const headKeyLanes = (S: number): number => pow2Floor(Math.floor(CHUNK_WG / S));
/** Invocations that share one output dimension's sum over the keys in the head variant. */
export const headDimLanes = (D: number): number => pow2Floor(Math.floor(CHUNK_WG / D));

/** `acc += Σ term(i)` over i = first, first + step, … < n: four partial sums when 4·step divides n − first's range evenly. */
function strided(acc: string, first: string, step: number, n: number, term: (i: string) => string): string {
  if (n % (4 * step) !== 0) return `      for (var i = ${first}; i < ${n}u; i += ${step}u) { ${acc} += ${term('i')}; }`;
  const parts = [0, 1, 2, 3].map((j) => `a${j} += ${term(j === 0 ? 'i' : `i + ${j * step}u`)};`).join(' ');
  return `      var a0 = 0.0; var a1 = 0.0; var a2 = 0.0; var a3 = 0.0;
      for (var i = ${first}; i < ${n}u; i += ${4 * step}u) { ${parts} }
      ${acc} += (a0 + a1) + (a2 + a3);`;
}

/**
 * The head variant (v3, for decode): a workgroup owns one token t, ONE query head h and the slots
 * j ≡ js (mod jsplit), so a decode step has Hq·k workgroups where the tile variant has Hk·k. Nothing
 * is staged in workgroup memory but q and the S scores: each key's dot product is split over
 * headKeyLanes(S) invocations (K read straight from the memory, a tree over the lanes), the softmax
 * over all 256 (rowExpSum), and each output dimension's sum over the keys over headDimLanes(D).
 * Same uniforms, bindings, planes and results as the tile variant (`u.hblocks` unused).
 */
export function hsaChunkAttentionHeadWgsl(c: HeadTile, header: string): string {
  const { D, S } = c;
  const NP = c.NP ?? 1;
  const P = headKeyLanes(S);
  const KP = CHUNK_WG / P;
  const Q = headDimLanes(D);
  const vAt = (i: string) => `ldV(((base + ${i}) * u.hk + g) * ${D}u + od)`;
  return /* wgsl */ `
${header}
var<workgroup> qs: array<f32, ${D}>;
var<workgroup> ps: array<f32, ${S}>;
${entry(c.kv, NP)}
  let h = wgi % u.hq;
  let t = wgi / u.hq;
  let g = h / u.ratio;
  for (var i = lid; i < ${D}u; i += ${CHUNK_WG}u) { qs[i] = q[(t * u.hq + h) * ${D}u + i] * u.scale; }
  let lane = lid % ${P}u;
  let od = lid % ${D}u; let oq = lid / ${D}u;
  var acc = 0.0;
${slotLoopHead(S, NP)}
    for (var s0 = 0u; s0 < ${S}u; s0 += ${KP}u) {
      let s = s0 + lid / ${P}u;
      var z = 0.0;
      if (s < ${S}u) {
        let kr = ((base + s) * u.hk + g) * ${D}u;
${strided('z', 'lane', P, D, (i) => `qs[${i}] * ldK(kr + ${i})`)}
      }
      red[lid] = z;
      workgroupBarrier();
${reduceTree(P, 'red[lid] + red[lid + st]').replaceAll('part < st', 'lane < st')}
      if (lane == 0u && s < ${S}u) { ps[s] = red[lid]; }
      workgroupBarrier();
    }
    let rh = 0u; let part = lid; let row = 0u; let live = true;
${rowExpSum(S, CHUNK_WG)}
    let f = wj / (u.smN * exp(-m) + l);
    var x = 0.0;
    if (oq < ${Q}u) {
${strided('x', 'oq', Q, S, (i) => `ps[${i}] * ${vAt(i)}`)}
    }
    workgroupBarrier();
    red[lid] = x;
    workgroupBarrier();
    if (lid < ${D}u) {
      var sum = 0.0;
      for (var r = 0u; r < ${Q}u; r++) { sum += red[lid + r * ${D}u]; }
      acc += f * sum;
    }
    workgroupBarrier();
  }
  if (lid < ${D}u) {
    let a = (u.plane0 + js) * u.planeSize + (t * u.hq + h) * ${D}u + lid;
    out[a] = select(acc, out[a] + acc, u.accumulate != 0u);
  }
}`;
}
