/**
 * WGSL for HSA chunk attention on matrix units (`mma` variant): the products run as 16×16×16 f16
 * subgroup-matrix multiplies with f32 accumulation (Dawn's `chromium-experimental-subgroup-matrix`,
 * Vulkan's cooperative matrices: the tensor cores of an NVIDIA GPU), chosen only where the device
 * offers that configuration and `shader-f16` (chunkMmaUnsupported).
 *
 * A workgroup of 4 subgroups owns token t and a block of 16 query heads of KV head g (the 16 rows of
 * the left matrices; missing heads are zero rows). Per selected slot: the chunk's keys are read into
 * workgroup memory as f16 while its values are loaded into registers; Q·Kᵀ (16 × S) is split over
 * the subgroups by 16-key column tiles and stored as f32; each row's softmax (off-by-one when
 * smN = 1) runs on 8 invocations a row (subgroup shuffles) and writes P = w_j·softmax as f16, while
 * the values replace the keys; P·V is added into the f32 outputs in workgroup memory (D / 64 column
 * tiles a subgroup). Same uniforms, bindings, memory parts, planes and results as the tile variant;
 * S and D must be multiples of 64. Accuracy: Q (scaled), K, V and P are rounded to f16 (11-bit
 * significands); sums are f32. Checked against the tile variant on the H200 by bench/attention
 * (mmaCheck) and against float64 in its prefill case; CI's software adapter has no subgroup matrices.
 *
 * Direct mode (K/V stored as f16, `kv` 'f16'): the chunk's key and value tiles are loaded by the
 * subgroup-matrix loads straight from the storage buffers (rows hk·D apart), with no staging through
 * workgroup memory: no K/V region, two barriers fewer a slot, and each subgroup's value tiles are
 * loaded before the scores, in flight across the softmax. Packed bf16 / f32 memory is staged (the
 * matrix units take f16, not bf16).
 */
import { isPacked16 } from '../core/dtype.js';
import { headBlockOf, partSwitch, slotBase } from './hsaChunkAttention.wgsl.js';
import { range } from '../core/codegen.js';

export interface MmaTile {
  D: number;
  S: number;
  kv: 'f32' | 'bf16' | 'f16';
  NP?: number;
  /** invocations of a subgroup (the workgroup is 4 subgroups) */
  SG: number;
}

/** The extensions every kernel on subgroup matrices enables. */
export const MMA_ENABLES = 'enable f16;\nenable subgroups;\nenable chromium_experimental_subgroup_matrix;';

/**
 * The entry of a kernel on subgroup matrices, to its workgroup index `wgi` (`var` when the caller
 * splits it further) and `spare`: the grid's spare workgroups (past u.nwg) redo the last one's work
 * and write nothing, since an early return would take the matrix operations out of uniform control flow.
 */
export const mmaEntry = (WG: number, splitLater = false): string => `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32, @builtin(subgroup_id) sg: u32,
        @builtin(subgroup_invocation_id) sgl: u32) {
  // no early return for the grid's spare workgroups (they redo the last one's work and write
  // nothing): every subgroup-matrix operation stays in control flow uniform over the dispatch
  let wg0 = wid.x + wid.y * nwg.x;
  let spare = wg0 >= u.nwg;
  ${splitLater ? 'var' : 'let'} wgi = min(wg0, u.nwg - 1u);`;

/** Subgroups a workgroup of the mma variant. */
export const MMA_SUBGROUPS = 4;
/** Rows of a workgroup: query heads (the M of the 16×16×16 configuration). */
export const MMA_ROWS = 16;

/** Whether memory of this storage type is read by the matrix loads directly (no staging). */
export const mmaDirect = (kv: MmaTile['kv']): boolean => kv === 'f16';

/**
 * Workgroup memory of the mma variant in bytes: K and V tiles (staged memory only) and P in f16, the
 * score/output staging in f32.
 */
export const mmaWords = (D: number, S: number, direct = false): number => {
  const pad = mmaPad(D, S);
  const halves = (direct ? 0 : S * D) + MMA_ROWS * D + MMA_ROWS * S + pad; // H: K or V, Q, P (f16)
  return Math.ceil(halves / 2) + MMA_ROWS * (S + D) + pad + 8; // F: scores, outputs (f32); slot (2 vec4)
};

/**
 * Slack after the regions of each workgroup array (in elements; a multiple of 64, so the arrays'
 * sizes stay multiples of 16 bytes): room past the last 16×16 tile for the bounds checks of
 * subgroup-matrix loads and stores.
 */
export const mmaPad = (D: number, S: number): number => Math.ceil((Math.max(D, S) + 16) / 64) * 64;
export const mmaBytes = (D: number, S: number, direct = false): number => 4 * mmaWords(D, S, direct);

/**
 * Direct mode: ldKt(p, i) / ldV(p, i), the 16×16 right matrices of keys (transposed: column j is key
 * row j) and of values at element i of part p, rows hk·D apart. p is a parameter, not the private
 * `cpart`, so the loads stay in uniform control flow.
 */
function directLoads(D: number, NP: number): string {
  const Rt = 'subgroup_matrix_right<f16, 16, 16>';
  const fn = (name: string, m: 'K' | 'V', colMajor: boolean) => {
    const at = (q: number) => `subgroupMatrixLoad<${Rt}>(&mem${m}${NP === 1 ? '' : q}, i, ${colMajor}, u.hk * ${D}u)`;
    if (NP === 1) return `fn ${name}(p: u32, i: u32) -> ${Rt} { return ${at(0)}; }`;
    return partSwitch(name, Rt, NP, at, true);
  };
  return `${fn('ldKt', 'K', true)}
${fn('ldV', 'V', false)}`;
}

/** ldK / ldV of one 32-bit word or f32 element of part `cpart` (NP > 1) or of the single part. */
function wordLoads(kv: MmaTile['kv'], NP: number): string {
  const ty = kv === 'f32' ? 'f32' : 'u32';
  if (NP === 1) return `fn ldK(i: u32) -> ${ty} { return memK[i]; }\nfn ldV(i: u32) -> ${ty} { return memV[i]; }`;
  return ['var<private> cpart: u32;', ...['K', 'V'].map((m) => partSwitch(`ld${m}`, ty, NP, (p) => `mem${m}${p}[i]`))].join('\n');
}

/**
 * The chunk's rows (head g) of K (`which` = 'K': loaded and stored into H as f16, [S][D] row-major)
 * or V ('Vload': loaded into registers v0 …, issued with K's so both are in flight together;
 * 'Vstore': those registers stored into H once the scores no longer need K). Packed memory is
 * read a 32-bit word (two values) at a time.
 */
function chunkPart(c: MmaTile, which: 'K' | 'Vload' | 'Vstore'): string {
  const { D, S } = c;
  const WG = MMA_SUBGROUPS * c.SG;
  const packed = isPacked16(c.kv);
  const per = packed ? 2 : 1;
  const units = (S * D) / per; // words (packed) or elements
  const n = Math.ceil(units / WG);
  const rowOf = (e: string) => `(((base + ${e} / ${D}u) * u.hk + g) * ${D}u + ${e} % ${D}u)`;
  const cvt = (x: string) =>
    c.kv === 'f32' ? [`f16(${x})`] : c.kv === 'f16' ? [`bitcast<vec2<f16>>(${x}).x`, `bitcast<vec2<f16>>(${x}).y`] : [`f16(bitcast<f32>(${x} << 16u))`, `f16(bitcast<f32>(${x} & 0xffff0000u))`];
  const e = (j: number) => `min((lid + ${j * WG}u) * ${per}u, ${S * D - per}u)`;
  const addr = (j: number) => (packed ? `${rowOf(`e${j}`)} >> 1u` : rowOf(`e${j}`));
  const guard = (j: number) => ((j + 1) * WG <= units ? '' : `if (lid + ${j * WG}u < ${units}u) `);
  const store = (j: number, x: string) => `${guard(j)}{ ${cvt(x).map((y, i) => `H[e${j} + ${i}u] = ${y};`).join(' ')} }`;
  const lines: string[] = [];
  if (which === 'Vload') {
    // (declares the element indices e0 … that the K part and the V stores use)
    for (let j = 0; j < n; j++) lines.push(`    let e${j} = ${e(j)};`);
    for (let j = 0; j < n; j++) lines.push(`    let v${j} = ldV(${addr(j)});`);
  } else if (which === 'Vstore') {
    for (let j = 0; j < n; j++) lines.push(`    ${store(j, `v${j}`)}`);
  } else {
    // batches of 16: their loads in flight together, then their stores
    for (let b0 = 0; b0 < n; b0 += 16) {
      const js = range(Math.min(16, n - b0)).map((i) => b0 + i);
      lines.push(`    {\n${js.map((j) => `      let k${j} = ldK(${addr(j)});`).join('\n')}`);
      lines.push(`${js.map((j) => `      ${store(j, `k${j}`)}`).join('\n')}\n    }`);
    }
  }
  return lines.join('\n');
}

/**
 * Direct mode (after slotBase's `dpart` and `base`): subgroup sg's value tiles vt{i}_{kk} (its
 * output column tile i, keys kk·16 …), loaded before the scores so that they are in flight across
 * the softmax.
 */
function directValues(c: MmaTile): string {
  const pvTiles = c.D / 16 / MMA_SUBGROUPS;
  return range(pvTiles)
    .flatMap((i) =>
      range(c.S / 16).map((kk) => `    let vt${i}_${kk} = ldV(dpart, ((base + ${kk * 16}u) * u.hk + g) * ${c.D}u + (sg * ${pvTiles}u + ${i}u) * 16u);`),
    )
    .join('\n');
}

/** `header` declares `u` and q, memK, memV (or the NP parts), idx (i32), w, out. */
export function hsaChunkAttentionMmaWgsl(c: MmaTile, header: string): string {
  const { D, S, SG } = c;
  const NP = c.NP ?? 1;
  const NSG = MMA_SUBGROUPS;
  const WG = NSG * SG;
  const R = MMA_ROWS;
  const KD = D / 16; // 16-wide slices of the head dimension
  const KS = S / 16; // 16-key slices of the chunk
  const qkTiles = KS / NSG; // score column tiles a subgroup
  const pvTiles = KD / NSG; // output column tiles a subgroup
  const PAD = mmaPad(D, S);
  const L = 'subgroup_matrix_left<f16, 16, 16>';
  const Rt = 'subgroup_matrix_right<f16, 16, 16>';
  const Res = 'subgroup_matrix_result<f32, 16, 16>';
  // Workgroup memory: one f16 array (K or V, Q, P) and one f32 array (scores, outputs) with regions
  // at multiples of 64 elements, and the slot as two vec4: every variable a multiple of 16 bytes, so
  // each starts 16-byte aligned whatever order the compiler lays them out in. A subgroup-matrix load
  // ignores the low bits of a misaligned address: on the H200 (Dawn in webgpu 0.6.2, NVIDIA 580) two
  // 4-byte slot scalars placed first shifted every f16 array by 8 bytes and the loads read 4 values
  // early.
  const direct = mmaDirect(c.kv);
  const QO = direct ? 0 : S * D; // Q region of H (after the staged K or V)
  const PO = QO + R * D; // P region of H
  const OO = R * S; // output region of F
  const perRow = WG / R; // softmax invocations a row
  const perLane = S / perRow;
  // a row's partial results combined over its perRow invocations (neighbours in one subgroup)
  const shuffles = (x: string, comb: (a: string, b: string) => string) =>
    range(Math.log2(perRow))
      .map((i) => `    ${x} = ${comb(x, `subgroupShuffleXor(${x}, ${2 ** i}u)`)};`)
      .join('\n');
  return /* wgsl */ `${MMA_ENABLES}
${header}
var<workgroup> H: array<f16, ${PO + R * S + PAD}>;
var<workgroup> F: array<f32, ${OO + R * D + PAD}>;
var<workgroup> slot: array<vec4<f32>, 2>;
${direct ? directLoads(D, NP) : wordLoads(c.kv, NP)}
${mmaEntry(WG, true)}
  let js = wgi % u.jsplit; wgi /= u.jsplit;
${headBlockOf(R)}
  // the block's queries, scaled, as f16 rows (missing heads: zero rows)
  for (var i = lid; i < ${R * D}u; i += ${WG}u) {
    let hl = i / ${D}u;
    H[${QO}u + i] = f16(select(0.0, q[(t * u.hq + h0 + min(hl, nh - 1u)) * ${D}u + i % ${D}u] * u.scale, hl < nh));
    F[${OO}u + i] = 0.0;
  }
  let row = lid / ${perRow}u;
  let part = lid % ${perRow}u;
  var n = 0u;
  for (var j = js; j < u.k; j += u.jsplit) {
    let e = n & 1u;
    n += 1u;
    // the slot alternates between two entries: the barrier of the previous slot's uniform load
    // orders this write after every read of the entry two slots back${direct ? '\n    // (direct mode: no other barrier here, nothing else in workgroup memory is written before the next one)' : ''}
${direct ? '' : '    workgroupBarrier();\n'}    if (lid == 0u) {
      let sj = (t * u.hk + g) * u.k + j;
      slot[e] = vec4<f32>(w[sj], bitcast<f32>(idx[sj] - i32(u.c0)), 0.0, 0.0);
    }
    let sl = workgroupUniformLoad(&slot[e]);
    let wj = sl.x;
    let cj = bitcast<i32>(sl.y);
    // w = 0 (invalid or masked slot) contributes nothing; a chunk outside this part is not read
    if (wj == 0.0 || cj < 0 || cj >= i32(u.cn)) { continue; }
${direct ? slotBase(S, NP, 'dpart') : `${slotBase(S, NP)}
${chunkPart(c, 'Vload')}
${chunkPart(c, 'K')}
    workgroupBarrier();`}
${direct ? directValues(c) : ''}
    // scores: subgroup sg takes key tiles sg·${qkTiles} … (Kᵀ read column-major from ${direct ? 'memory' : 'H'}). No
    // subgroup matrix lives across iterations of the slot loop (query matrices loaded every slot,
    // outputs accumulated in F): held in registers across it they gave wrong products on the H200
    // (Dawn in webgpu 0.6.2, NVIDIA 580)
${range(qkTiles)
  .map((i) => {
    const n = `(sg * ${qkTiles}u + ${i}u)`;
    return `    {
${range(KD)
  .map((d) => `      let qa${d} = subgroupMatrixLoad<${L}>(&H, ${QO + d * 16}u, false, ${D}u);`)
  .join('\n')}
      var s = ${Res}();
${range(KD)
  .map((d) => `      s = subgroupMatrixMultiplyAccumulate(qa${d}, ${direct ? `ldKt(dpart, ((base + ${n} * 16u) * u.hk + g) * ${D}u + ${d * 16}u)` : `subgroupMatrixLoad<${Rt}>(&H, ${n} * ${16 * D}u + ${d * 16}u, true, ${D}u)`}, s);`)
  .join('\n')}
      subgroupMatrixStore(&F, ${n} * 16u, s, false, ${S}u);
    }`;
  })
  .join('\n')}
    workgroupBarrier();
    // softmax of each row over the chunk: ${perRow} invocations a row, ${perLane} scores each
    var m = -3.0e38;
    for (var i = 0u; i < ${perLane}u; i++) { m = max(m, F[row * ${S}u + part + i * ${perRow}u]); }
${shuffles('m', (x, y) => `max(${x}, ${y})`)}
    var l = 0.0;
    for (var i = 0u; i < ${perLane}u; i++) { l += exp(F[row * ${S}u + part + i * ${perRow}u] - m); }
${shuffles('l', (x, y) => `${x} + ${y}`)}
    let f = wj / (u.smN * exp(-m) + l);
    for (var i = 0u; i < ${perLane}u; i++) {
      let s = part + i * ${perRow}u;
      H[${PO}u + row * ${S}u + s] = f16(exp(F[row * ${S}u + s] - m) * f);
    }
${direct ? '' : chunkPart(c, 'Vstore')}
    workgroupBarrier();
    // outputs: subgroup sg adds P·V into its column tiles sg·${pvTiles} … of the outputs in F
${range(pvTiles)
  .map((i) => {
    const col = `(sg * ${pvTiles}u + ${i}u) * 16u`;
    const ocol = `${OO}u + ${col}`;
    return `    {
      var o = subgroupMatrixLoad<${Res}>(&F, ${ocol}, false, ${D}u);
${range(KS)
  .map((kk) => `      o = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<${L}>(&H, ${PO + kk * 16}u, false, ${S}u), ${direct ? `vt${i}_${kk}` : `subgroupMatrixLoad<${Rt}>(&H, ${kk * 16 * D}u + ${col}, false, ${D}u)`}, o);`)
  .join('\n')}
      subgroupMatrixStore(&F, ${ocol}, o, false, ${D}u);
    }`;
  })
  .join('\n')}
  }
  workgroupBarrier();
  for (var i = lid; i < ${R * D}u; i += ${WG}u) {
    let hl = i / ${D}u;
    if (hl < nh && !spare) {
      let a = (u.plane0 + js) * u.planeSize + (t * u.hq + h0 + hl) * ${D}u + i % ${D}u;
      out[a] = select(F[${OO}u + i], out[a] + F[${OO}u + i], u.accumulate != 0u);
    }
  }
}`;
}
