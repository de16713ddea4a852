/**
 * WGSL for the HSA chunk-attention backward on matrix units (v2, `mma`): the products of
 * hsaChunkAttentionBackward.wgsl.ts as 16×16×16 f16 subgroup-matrix multiplies with f32 sums, over
 * f16 memory read straight from storage (as the forward's direct mode). Same uniforms, bindings and
 * results as v1; Q, dout, K, V and the score gradients are rounded to f16 (11-bit significands).
 *   dq:  a workgroup of 4 subgroups per (token t, KV head g) walks its blocks of 16 query heads (the
 *        rows of the left matrices) and the k slots. Per slot: Q·Kᵀ and dout·Vᵀ (16 × S, a key tile a
 *        subgroup) into f32 workgroup memory; each row's softmax, log-sum-exp and dwh = Σ p·dP (saved
 *        for dK/dV) on 8 invocations a row; dz = w·p·(dP − dwh)·scale as f16; dq += dz·K (D / 64
 *        column tiles a subgroup, the key tiles loaded before the softmax so they are in flight).
 *        dw[t, g, j] = Σ_h dwh in head order (workgroup memory, k ≤ 128). Q is rounded unscaled (as the
 *        dK/dV kernel rounds it) and the scores scaled in f32.
 *   dkv: a workgroup per (chunk c, KV head g, 32-key half) walks the slots that selected c (the
 *        inverted selection, in slot order) two 16-head row tiles at a time; q and dout are f16 copies
 *        read by the matrix loads directly (the 16 heads of a row tile are one contiguous block, so
 *        the head ratio is a multiple of 16). Per pair: Sᵀ = K·Qᵀ and dPᵀ = V·doutᵀ (32 keys × 32
 *        rows), then pᵀ = w·exp(Sᵀ·scale − lse) and dzᵀ = pᵀ·(dPᵀ − dwh)·scale as f16, then
 *        dV += pᵀ·dout and dK += dzᵀ·Q into f32 sums in workgroup memory (64 · D floats).
 * Deterministic: every sum in a fixed order, no atomics. Checked against v1 and float64 on the GPU
 * machine by bench/attention (CI's software adapter has no subgroup matrices).
 */
import { range } from '../core/codegen.js';
import { MMA_ENABLES, MMA_ROWS, MMA_SUBGROUPS, mmaEntry } from './hsaChunkAttentionMma.wgsl.js';

const L = 'subgroup_matrix_left<f16, 16, 16>';
const Rt = 'subgroup_matrix_right<f16, 16, 16>';
const Res = 'subgroup_matrix_result<f32, 16, 16>';

export interface BackMmaTile {
  D: number;
  S: number;
  /** invocations of a subgroup */
  SG: number;
  /**
   * each subgroup's f32 sums (dq's column tiles, dK/dV's tiles) held in subgroup matrices across
   * the slot / row-tile loop and stored to the output at its end, not loaded from and stored to
   * workgroup memory at every step
   */
  regAcc?: boolean;
}

/** Keys a dK/dV workgroup owns (its f32 sums: 2 · DKV_KEYS · D floats). */
export const DKV_KEYS = 32;
/** k the dq kernel's dw sums hold. */
export const DQ_MMA_MAX_K = 128;

/** Room past the last tile of a workgroup array for a 16×16 load's bounds check (one more row). */
const pad = (stride: number) => Math.ceil((stride + 16) / 64) * 64;

const dqLayout = (D: number, S: number) => {
  const R = MMA_ROWS;
  // H (f16): scaled Q, dout, dz; F (f32): scores, dP, dq sums
  const H = { q: 0, dout: R * D, dz: 2 * R * D, size: 2 * R * D + R * S + pad(Math.max(D, S)) };
  const F = { sc: 0, dp: R * S, dq: 2 * R * S, size: 2 * R * S + R * D + pad(Math.max(D, S)) };
  return { H, F };
};

const dkvLayout = (D: number, regAcc = false) => {
  const KB = DKV_KEYS;
  const RW = 2 * MMA_ROWS; // rows of a pair of row tiles
  // F (f32): dK, dV sums [KB][D] (unless held in registers), scores and dP transposed [KB][RW];
  // H (f16): pᵀ, dzᵀ [KB][RW]
  const acc = regAcc ? 0 : 2 * KB * D;
  const F = { dk: 0, dv: KB * D, sc: acc, dp: acc + KB * RW, size: acc + 2 * KB * RW + pad(regAcc ? RW : D) };
  const H = { p: 0, dz: KB * RW, size: 2 * KB * RW + pad(RW) };
  return { F, H, RW };
};

/** Workgroup memory of the dq kernel in bytes. */
export const dqMmaBytes = (D: number, S: number): number => {
  const { H, F } = dqLayout(D, S);
  return 2 * H.size + 4 * F.size + 32 + 4 * (MMA_ROWS + DQ_MMA_MAX_K);
};

/** Workgroup memory of the dK/dV kernel in bytes. */
export const dkvMmaBytes = (D: number, regAcc = false): number => {
  const { H, F, RW } = dkvLayout(D, regAcc);
  return 2 * H.size + 4 * F.size + 3 * 4 * RW + 16;
};

/** `header` declares `u` and q, memK, memV (f16), idx, w, dout, dq, dw, slotLse, slotDw. */
export function chunkDqMmaWgsl(c: BackMmaTile, header: string): string {
  const { D, S, SG } = c;
  const regAcc = c.regAcc === true;
  const R = MMA_ROWS;
  const WG = MMA_SUBGROUPS * SG;
  const KD = D / 16;
  const KS = S / 16;
  const qkTiles = KS / MMA_SUBGROUPS; // score (and dP) column tiles a subgroup
  const dqTiles = KD / MMA_SUBGROUPS; // dq column tiles a subgroup
  const { H, F } = dqLayout(D, S);
  const perRow = WG / R;
  const perLane = S / perRow;
  const shuffles = (x: string, comb: (a: string, b: string) => string) =>
    range(Math.log2(perRow))
      .map((i) => `    ${x} = ${comb(x, `subgroupShuffleXor(${x}, ${2 ** i}u)`)};`)
      .join('\n');
  const memAt = (key: string, col: string) => `((base + ${key}) * u.hk + g) * ${D}u + ${col}`;
  const at = (i: number, off: string) => `F[${off}u + row * ${S}u + part + ${i * perRow}u]`;
  // scores: Q·Kᵀ of the unscaled f16 Q (the dK/dV kernel's recomputation rounds Q the same way), scaled in f32
  const score = (i: number) => `${at(i, String(F.sc))} * u.scale`;
  return /* wgsl */ `${MMA_ENABLES}
${header}
var<workgroup> H: array<f16, ${H.size}>;
var<workgroup> F: array<f32, ${F.size}>;
var<workgroup> slot: array<vec4<f32>, 2>;
var<workgroup> dwRow: array<f32, ${R}>;
var<workgroup> dwAcc: array<f32, ${DQ_MMA_MAX_K}>;
${mmaEntry(WG)}
  let g = wgi % u.hk;
  let t = wgi / u.hk;
  for (var j = lid; j < u.k; j += ${WG}u) { dwAcc[j] = 0.0; }
  let row = lid / ${perRow}u;
  let part = lid % ${perRow}u;
  var n = 0u;
  for (var hb = 0u; hb < u.hblocks; hb++) {
    let h0 = g * u.ratio + hb * ${R}u;
    let nh = min(${R}u, (g + 1u) * u.ratio - h0);
    workgroupBarrier();
    for (var i = lid; i < ${R * D}u; i += ${WG}u) {
      let hl = i / ${D}u;
      let a = (t * u.hq + h0 + min(hl, nh - 1u)) * ${D}u + i % ${D}u;
      H[${H.q}u + i] = f16(select(0.0, q[a], hl < nh));
      H[${H.dout}u + i] = f16(select(0.0, dout[a], hl < nh));
${regAcc ? '' : `      F[${F.dq}u + i] = 0.0;
`}    }
${regAcc ? range(dqTiles).map((i) => `    var qacc${i} = ${Res}();`).join('\n') : ''}
    for (var j = 0u; j < u.k; j++) {
      // the slot alternates between two entries (the previous uniform load's barrier orders this
      // write after every read of the entry two slots back)
      let e = n & 1u;
      n += 1u;
      if (lid == 0u) {
        let sj = (t * u.hk + g) * u.k + j;
        slot[e] = vec4<f32>(w[sj], bitcast<f32>(idx[sj]), 0.0, 0.0);
      }
      let sl = workgroupUniformLoad(&slot[e]);
      let wj = sl.x;
      let cj = bitcast<i32>(sl.y);
      let so = (t * u.hq + h0 + min(row, nh - 1u)) * u.k + j;
      if (cj < 0 || cj >= i32(u.chunks)) {
        if (part == 0u && row < nh) { slotLse[so] = 0.0; slotDw[so] = 0.0; }
        continue;
      }
      let base = u32(cj) * ${S}u;
      // this subgroup's key tiles for dq += dz·K (row-major keys × its columns), in flight across the softmax
${range(dqTiles)
  .flatMap((i) => range(KS).map((kk) => `      let kt${i}_${kk} = subgroupMatrixLoad<${Rt}>(&memK, ${memAt(`${kk * 16}u`, `(sg * ${dqTiles}u + ${i}u) * 16u`)}, false, u.hk * ${D}u);`))
  .join('\n')}
      // scores Q·Kᵀ and dP = dout·Vᵀ: key tiles sg·${qkTiles} … of this subgroup
${range(qkTiles)
  .map((i) => {
    const n = `(sg * ${qkTiles}u + ${i}u)`;
    return `      {
        var s = ${Res}();
        var dp = ${Res}();
${range(KD)
  .map(
    (d) => `        s = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<${L}>(&H, ${H.q + d * 16}u, false, ${D}u), subgroupMatrixLoad<${Rt}>(&memK, ${memAt(`${n} * 16u`, `${d * 16}u`)}, true, u.hk * ${D}u), s);
        dp = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<${L}>(&H, ${H.dout + d * 16}u, false, ${D}u), subgroupMatrixLoad<${Rt}>(&memV, ${memAt(`${n} * 16u`, `${d * 16}u`)}, true, u.hk * ${D}u), dp);`,
  )
  .join('\n')}
        subgroupMatrixStore(&F, ${F.sc}u + ${n} * 16u, s, false, ${S}u);
        subgroupMatrixStore(&F, ${F.dp}u + ${n} * 16u, dp, false, ${S}u);
      }`;
  })
  .join('\n')}
      workgroupBarrier();
      // each row's softmax (${perRow} invocations a row, ${perLane} keys each), lse, dwh = Σ p·dP, dz
      var m = -3.0e38;
${range(perLane)
  .map((i) => `      m = max(m, ${score(i)});`)
  .join('\n')}
${shuffles('m', (x, y) => `max(${x}, ${y})`)}
      var l = 0.0;
      var x = 0.0;
${range(perLane)
  .map((i) => `      let e${i} = exp(${score(i)} - m);\n      l += e${i};\n      x += e${i} * ${at(i, String(F.dp))};`)
  .join('\n')}
${shuffles('l', (a, b) => `${a} + ${b}`)}
${shuffles('x', (a, b) => `${a} + ${b}`)}
      let den = u.smN * exp(-m) + l;
      x /= den;
      let f = wj * u.scale / den;
${range(perLane)
  .map((i) => `      H[${H.dz}u + row * ${S}u + part + ${i * perRow}u] = f16(e${i} * f * (${at(i, String(F.dp))} - x));`)
  .join('\n')}
      if (part == 0u) {
        if (row < nh) { slotLse[so] = m + log(den); slotDw[so] = x; }
        dwRow[row] = select(0.0, x, row < nh);
      }
      workgroupBarrier();
      if (lid == 0u) {
        var a = dwAcc[j];
        for (var r = 0u; r < nh; r++) { a += dwRow[r]; }
        dwAcc[j] = a;
      }
      // dq += dz·K: this subgroup's column tiles of the f32 sums
${range(dqTiles)
  .map((i) => {
    const col = `${F.dq}u + (sg * ${dqTiles}u + ${i}u) * 16u`;
    const o = regAcc ? `qacc${i}` : 'o';
    return `      {
${regAcc ? '' : `        var o = subgroupMatrixLoad<${Res}>(&F, ${col}, false, ${D}u);\n`}${range(KS)
  .map((kk) => `        ${o} = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<${L}>(&H, ${H.dz + kk * 16}u, false, ${S}u), kt${i}_${kk}, ${o});`)
  .join('\n')}
${regAcc ? '' : `        subgroupMatrixStore(&F, ${col}, o, false, ${D}u);\n`}      }`;
  })
  .join('\n')}
    }
${
  regAcc
    ? `    // the block's 16 rows of dq straight from the subgroup matrices (the head ratio is a multiple of 16)
    if (!spare) {
${range(dqTiles)
  .map((i) => `      subgroupMatrixStore(&dq, (t * u.hq + h0) * ${D}u + (sg * ${dqTiles}u + ${i}u) * 16u, qacc${i}, false, ${D}u);`)
  .join('\n')}
    }`
    : `    workgroupBarrier();
    for (var i = lid; i < ${R * D}u; i += ${WG}u) {
      let hl = i / ${D}u;
      if (hl < nh && !spare) { dq[(t * u.hq + h0 + hl) * ${D}u + i % ${D}u] = F[${F.dq}u + i]; }
    }`
}
  }
  workgroupBarrier();
  for (var j = lid; j < u.k; j += ${WG}u) {
    if (!spare) { dw[(t * u.hk + g) * u.k + j] = dwAcc[j]; }
  }
}`;
}

/** `header` declares `u` and q (f16), memK, memV (f16), w, dout (f16), slotLse, slotDw, order, starts, dK, dV. */
export function chunkDkvMmaWgsl(c: BackMmaTile, header: string): string {
  const { D, S, SG } = c;
  const KB = DKV_KEYS;
  const WG = MMA_SUBGROUPS * SG;
  const KD = D / 16;
  const regAcc = c.regAcc === true;
  const { F, H, RW } = dkvLayout(D, regAcc);
  const colTiles = KD / 2; // dK / dV column tiles a subgroup (of each); subgroup sg: key tile sg & 1
  const per = (KB * RW) / WG;
  return /* wgsl */ `${MMA_ENABLES}
${header}
var<workgroup> F: array<f32, ${F.size}>;
var<workgroup> H: array<f16, ${H.size}>;
var<workgroup> rl: array<f32, ${RW}>;
var<workgroup> rd: array<f32, ${RW}>;
var<workgroup> rw: array<f32, ${RW}>;
var<workgroup> tiles: vec4<u32>;
${mmaEntry(WG)}
  let half = wgi % ${S / KB}u;
  let bucket = wgi / ${S / KB}u;
  let g = bucket % u.hk;
  let c = bucket / u.hk;
  let j0 = half * ${KB}u;
  // row tiles: (slot, block of 16 heads), hbl = ratio / 16 a slot
  let hbl = u.ratio / ${MMA_ROWS}u;
  if (lid == 0u) { tiles = vec4<u32>(starts[bucket], (starts[bucket + 1u] - starts[bucket]) * hbl, 0u, 0u); }
  let tl = workgroupUniformLoad(&tiles);
  let e0 = tl.x;
  let ntiles = tl.y;
${regAcc ? range(colTiles).map((i) => `  var av${i} = ${Res}();
  var ak${i} = ${Res}();`).join('\n') : `  for (var i = lid; i < ${2 * KB * D}u; i += ${WG}u) { F[i] = 0.0; }`}
  // this subgroup's products: key tile kt = sg & 1, row tile rt = sg >> 1 of the pair
  let kt = sg & 1u;
  let krow = ((c * ${S}u + j0 + kt * 16u) * u.hk + g) * ${D}u;
  for (var p0 = 0u; p0 < ntiles; p0 += 2u) {
    // the pair's q / dout blocks (a missing second tile repeats the first, with w = 0)
    let ta = min(p0, ntiles - 1u);
    let tb = min(p0 + 1u, ntiles - 1u);
    let ea = min(order[e0 + ta / hbl], u.nslots - 1u);
    let eb = min(order[e0 + tb / hbl], u.nslots - 1u);
    let qa = ((ea / (u.hk * u.k)) * u.hq + g * u.ratio + (ta % hbl) * ${MMA_ROWS}u) * ${D}u;
    let qb = ((eb / (u.hk * u.k)) * u.hq + g * u.ratio + (tb % hbl) * ${MMA_ROWS}u) * ${D}u;
    if (lid < ${RW}u) {
      let second = lid >= ${MMA_ROWS}u;
      let e = select(ea, eb, second);
      let r = select(qa, qb, second) / ${D}u + lid % ${MMA_ROWS}u; // token · hq + head
      let a = r * u.k + e % u.k;
      rl[lid] = slotLse[a];
      rd[lid] = slotDw[a];
      rw[lid] = select(0.0, w[e], !second || p0 + 1u < ntiles);
    }
    // Sᵀ = K·Qᵀ and dPᵀ = V·doutᵀ for (key tile kt, row tile sg >> 1)
    {
      let qm = select(qa, qb, sg >= 2u);
      var s = ${Res}();
      var dp = ${Res}();
${range(KD)
  .map(
    (d) => `      s = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<${L}>(&memK, krow + ${d * 16}u, false, u.hk * ${D}u), subgroupMatrixLoad<${Rt}>(&q, qm + ${d * 16}u, true, ${D}u), s);
      dp = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<${L}>(&memV, krow + ${d * 16}u, false, u.hk * ${D}u), subgroupMatrixLoad<${Rt}>(&dout, qm + ${d * 16}u, true, ${D}u), dp);`,
  )
  .join('\n')}
      let o = kt * ${16 * RW}u + (sg >> 1u) * 16u;
      subgroupMatrixStore(&F, ${F.sc}u + o, s, false, ${RW}u);
      subgroupMatrixStore(&F, ${F.dp}u + o, dp, false, ${RW}u);
    }
    workgroupBarrier();
    // pᵀ = w·exp(s·scale − lse), dzᵀ = pᵀ·(dP − dwh)·scale (rows with w = 0: zero)
    for (var i = 0u; i < ${per}u; i++) {
      let x = lid + i * ${WG}u;
      let r = x % ${RW}u;
      let p = select(0.0, rw[r] * exp(F[${F.sc}u + x] * u.scale - rl[r]), rw[r] != 0.0);
      H[${H.p}u + x] = f16(p);
      H[${H.dz}u + x] = f16(p * (F[${F.dp}u + x] - rd[r]) * u.scale);
    }
    workgroupBarrier();
    // dV += pᵀ·dout, dK += dzᵀ·Q: key tile kt, column tiles (sg >> 1)·${colTiles} …
    {
      let pa = subgroupMatrixLoad<${L}>(&H, ${H.p}u + kt * ${16 * RW}u, false, ${RW}u);
      let pb = subgroupMatrixLoad<${L}>(&H, ${H.p}u + kt * ${16 * RW}u + 16u, false, ${RW}u);
      let za = subgroupMatrixLoad<${L}>(&H, ${H.dz}u + kt * ${16 * RW}u, false, ${RW}u);
      let zb = subgroupMatrixLoad<${L}>(&H, ${H.dz}u + kt * ${16 * RW}u + 16u, false, ${RW}u);
${range(colTiles)
  .map((i) => {
    const col = `((sg >> 1u) * ${colTiles}u + ${i}u) * 16u`;
    const mma = (acc: string, left: [string, string], m: 'dout' | 'q') =>
      [`        ${acc} = subgroupMatrixMultiplyAccumulate(${left[0]}, subgroupMatrixLoad<${Rt}>(&${m}, qa + col, false, ${D}u), ${acc});`,
       `        ${acc} = subgroupMatrixMultiplyAccumulate(${left[1]}, subgroupMatrixLoad<${Rt}>(&${m}, qb + col, false, ${D}u), ${acc});`].join('\n');
    if (regAcc) {
      return `      {
        let col = ${col};
${mma(`av${i}`, ['pa', 'pb'], 'dout')}
${mma(`ak${i}`, ['za', 'zb'], 'q')}
      }`;
    }
    return `      {
        let col = ${col};
        let at = kt * ${16 * D}u + col;
        var v = subgroupMatrixLoad<${Res}>(&F, ${F.dv}u + at, false, ${D}u);
${mma('v', ['pa', 'pb'], 'dout')}
        subgroupMatrixStore(&F, ${F.dv}u + at, v, false, ${D}u);
        var k = subgroupMatrixLoad<${Res}>(&F, ${F.dk}u + at, false, ${D}u);
${mma('k', ['za', 'zb'], 'q')}
        subgroupMatrixStore(&F, ${F.dk}u + at, k, false, ${D}u);
      }`;
  })
  .join('\n')}
    }
  }
${
  regAcc
    ? `  // the sums straight from the subgroup matrices into dK / dV (rows hk·D apart)
  if (!spare) {
${range(colTiles)
  .map((i) => {
    const at = `((c * ${S}u + j0 + kt * 16u) * u.hk + g) * ${D}u + ((sg >> 1u) * ${colTiles}u + ${i}u) * 16u`;
    return `    subgroupMatrixStore(&dK, ${at}, ak${i}, false, u.hk * ${D}u);\n    subgroupMatrixStore(&dV, ${at}, av${i}, false, u.hk * ${D}u);`;
  })
  .join('\n')}
  }`
    : `  workgroupBarrier();
  for (var i = lid; i < ${KB * D}u; i += ${WG}u) {
    if (!spare) {
      let a = ((c * ${S}u + j0 + i / ${D}u) * u.hk + g) * ${D}u + i % ${D}u;
      dK[a] = F[${F.dk}u + i];
      dV[a] = F[${F.dv}u + i];
    }
  }`
}
}`;
}
