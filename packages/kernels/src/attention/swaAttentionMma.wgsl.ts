/**
 * WGSL for sliding-window attention on matrix units (swaAttentionForward `mma`): 16×16×16 f16
 * subgroup-matrix products with f32 sums over f16 copies of q, k, v read straight from storage
 * (chosen only where the device offers them: chunkMmaUnsupported, and 16·n query heads a KV head).
 *
 * A workgroup of `tokens` subgroups (default 16) owns as many consecutive tokens of one segment and
 * a block of 16 query heads of KV head g: subgroup s the 16 rows (heads) of token t0 + s. It walks
 * the union of their windows in KT-key tiles: per tile each subgroup computes its scores Q·Kᵀ (16 × KT) into its own
 * region of workgroup memory, its 32 lanes (2 a row) mask them (keys of the segment in t − W … t),
 * update the row max and sum and write P = exp(s − m_ref) as f16, and add P·V into its output
 * matrices, held in registers across the tiles. The output is rescaled lazily: only when a row's
 * max passes its reference m_ref by more than RESCALE_AT (so P ≤ e^8 stays well inside f16), through
 * workgroup memory, on a decision made uniform over the workgroup (workgroupUniformLoad of a flag); with
 * random or trained scores that happens in the first tiles only. At the end each row's output is
 * divided by its sum through workgroup memory; lse = m_ref + log(sum).
 * k and v carry KT zero rows past the last token, so a tile never reads past them.
 */
import { range } from '../core/codegen.js';
import { MMA_ENABLES, MMA_ROWS, mmaEntry } from './hsaChunkAttentionMma.wgsl.js';

/** Keys a tile (the largest the variants use: k and v carry this many zero rows past the last token). */
export const SWA_MMA_KT = 64;

/** A layout of the kernel: tokens a workgroup (a subgroup each), keys a tile, Q held in registers across the tiles. */
export interface SwaMmaTile {
  tokens: number;
  kt: number;
  qRegs?: boolean;
}

/**
 * The default layout: 16 tokens (512 invocations), 16-key tiles, Q in registers (H200, 32K tokens,
 * W 4K, one run: 72.6 ms; 24 tokens of 16 keys 87.2, 8 of 32 keys 90.3, the first layout of 4 tokens
 * of 64 keys with Q loaded every tile 120.5; bench/attention --swa). More tokens share each K and V
 * tile through the caches.
 */
export const SWA_MMA_TILE: SwaMmaTile = { tokens: 16, kt: 16, qRegs: true };
/** The lazy rescale's threshold (natural log): P ≤ e^8 ≈ 2981 in f16. */
const RESCALE_AT = 8;

const L = 'subgroup_matrix_left<f16, 16, 16>';
const Rt = 'subgroup_matrix_right<f16, 16, 16>';
const Res = 'subgroup_matrix_result<f32, 16, 16>';

/** Workgroup memory in bytes: each subgroup's scores (f32) and probabilities (f16), 16 × KT each. */
export const swaMmaBytes = (c: SwaMmaTile = SWA_MMA_TILE): number => {
  const pad = c.kt + 64;
  return 6 * (c.tokens * MMA_ROWS * c.kt + pad) + 16;
};

/** `header` declares `u` (the dense kernels' uniforms) and q, k, v (f16), out, lse (f32). */
export function swaAttentionMmaWgsl(D: number, SG: number, header: string, c: SwaMmaTile = SWA_MMA_TILE): string {
  const KT = c.kt;
  const TOK = c.tokens;
  const R = MMA_ROWS;
  const WG = TOK * SG;
  const KD = D / 16;
  const KS = KT / 16;
  const lanesRow = SG / R; // lanes a row (2 with 32-wide subgroups)
  const region = R * KT; // each subgroup's part of S and P
  const pad = KT + 64;
  const halves = Math.ceil(D / KT); // output passes through an S region (KT columns at a time)
  const colTilesPerPass = Math.min(KD, KS);
  const qLoads = (ind: string) => range(KD).map((d) => `${ind}let qa${d} = subgroupMatrixLoad<${L}>(&q, qrow + ${d * 16}u, false, ${D}u);`).join('\n');
  const shuffle = (x: string, comb: (a: string, b: string) => string) =>
    range(Math.log2(lanesRow))
      .map((i) => `    ${x} = ${comb(x, `subgroupShuffleXor(${x}, ${2 ** i}u)`)};`)
      .join('\n');
  // the output matrices o_i through this subgroup's S region (16 × KT, stride KT), KT columns a pass:
  // stored, \`body\` on each lane's columns c of its row (the pass's first column: base), reloaded if asked
  const passTiles = range(halves).map((hp) =>
    range(colTilesPerPass)
      .map((c) => hp * colTilesPerPass + c)
      .filter((i) => i < KD),
  );
  const viaS = (ind: string, body: (base: number) => string, reload: boolean) =>
    passTiles
      .map((tiles) => {
        const lines = [
          '{',
          ...tiles.map((i, c) => `  subgroupMatrixStore(&S, sb + ${c * 16}u, o${i}, false, ${KT}u);`),
          '  workgroupBarrier();',
          `  for (var c = part; c < ${tiles.length * 16}u; c += ${lanesRow}u) { ${body(tiles[0] * 16)} }`,
          '  workgroupBarrier();',
          ...(reload ? tiles.map((i, c) => `  o${i} = subgroupMatrixLoad<${Res}>(&S, sb + ${c * 16}u, false, ${KT}u);`) : []),
          '}',
        ];
        return lines.map((l) => ind + l).join('\n');
      })
      .join('\n');
  return /* wgsl */ `${MMA_ENABLES}
${header}
var<workgroup> S: array<f32, ${TOK * region + pad}>;
var<workgroup> P: array<f16, ${TOK * region + pad}>;
var<workgroup> rflag: vec4<u32>;
${mmaEntry(WG, true)}
  let hb = wgi % u.hblocks; wgi /= u.hblocks;
  let g = wgi % u.hk; wgi /= u.hk;
  let qt = wgi % u.qtiles;
  let s0 = (wgi / u.qtiles) * u.segLen;
  let s1 = min(s0 + u.segLen, u.tq);
  let t0 = s0 + qt * ${TOK}u;
  let h0 = g * u.ratio + hb * ${R}u;
  // this subgroup's token (rows past the segment compute a copy of its last token, not written)
  let tme = t0 + sg;
  let live = tme < s1;
  let tc = min(tme, s1 - 1u);
  let qrow = (tc * u.hq + h0) * ${D}u;
  // the keys of the 4 tokens' windows, and this token's
  let kLo = select(s0, t0 - u.window, t0 >= s0 + u.window);
  let kHi = min(t0 + ${TOK}u, s1);
  let myLo = select(s0, tc - u.window, tc >= s0 + u.window);
  let row = sgl / ${lanesRow}u;
  let part = sgl % ${lanesRow}u;
  let sb = sg * ${region}u;
  if (lid == 0u) { rflag.x = 0u; }
${range(KD)
  .map((i) => `  var o${i} = ${Res}();`)
  .join('\n')}
  var mref = -3.0e38;
  var l = 0.0;
${c.qRegs ? qLoads('  ') : ''}
  for (var j0 = kLo; j0 < kHi; j0 += ${KT}u) {
    // scores of this subgroup's 16 rows against keys j0 … j0 + ${KT - 1}
    {
${c.qRegs ? '' : qLoads('      ')}
${range(KS)
  .map(
    (n) => `      {
        var s = ${Res}();
${range(KD)
  .map((d) => `        s = subgroupMatrixMultiplyAccumulate(qa${d}, subgroupMatrixLoad<${Rt}>(&k, ((j0 + ${n * 16}u) * u.hk + g) * ${D}u + ${d * 16}u, true, u.hk * ${D}u), s);`)
  .join('\n')}
        subgroupMatrixStore(&S, sb + ${n * 16}u, s, false, ${KT}u);
      }`,
  )
  .join('\n')}
    }
    workgroupBarrier();
    // the row's max over its visible keys (t − W … t of its segment), the lazy reference max
    var mx = -3.0e38;
    for (var c = part; c < ${KT}u; c += ${lanesRow}u) {
      let j = j0 + c;
      if (j >= myLo && j <= tc) { mx = max(mx, S[sb + row * ${KT}u + c] * u.scale); }
    }
${shuffle('mx', (a, b) => `max(${a}, ${b})`)}
    let first = mref <= -3.0e38;
    let over = mx > mref + ${RESCALE_AT}.0;
    // a row seen before whose max jumps: its output is rescaled (decided for the whole workgroup)
    if (over && !first && part == 0u) { rflag.x = 1u; }
    let mnew = select(mref, mx, over || first);
    let f = select(1.0, exp(mref - mnew), over && !first);
    mref = mnew;
    var rs = 0.0;
    for (var c = part; c < ${KT}u; c += ${lanesRow}u) {
      let j = j0 + c;
      let e = select(0.0, exp(S[sb + row * ${KT}u + c] * u.scale - mref), j >= myLo && j <= tc);
      P[sb + row * ${KT}u + c] = f16(e);
      rs += e;
    }
${shuffle('rs', (a, b) => `${a} + ${b}`)}
    l = l * f + rs;
    let rescale = workgroupUniformLoad(&rflag).x;
    if (rescale != 0u) {
${viaS('      ', () => `S[sb + row * ${KT}u + c] *= f;`, true)}
    }
    // O += P·V
${range(KD)
  .map(
    (i) => `    {
${range(KS)
  .map((kk) => `      o${i} = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<${L}>(&P, sb + ${kk * 16}u, false, ${KT}u), subgroupMatrixLoad<${Rt}>(&v, ((j0 + ${kk * 16}u) * u.hk + g) * ${D}u + ${i * 16}u, false, u.hk * ${D}u), o${i});`)
  .join('\n')}
    }`,
  )
  .join('\n')}
    // (the flag is cleared after every read of it, before the next tile's writes)
    workgroupBarrier();
    if (lid == 0u) { rflag.x = 0u; }
  }
  // out = O / l, lse = m_ref + log(l), through this subgroup's S region
  let inv = 1.0 / l;
  let orow = (tc * u.hq + h0 + row) * ${D}u;
${viaS('  ', (base) => `if (live && !spare) { out[orow + ${base}u + c] = S[sb + row * ${KT}u + c] * inv; }`, false)}
  if (live && !spare && part == 0u) { lse[tc * u.hq + h0 + row] = mref + log(l); }
}`;
}
