/**
 * WGSL pieces of the 128×128 MoE tiles (moeGroupedGemm with one weight, moeWeightGrad): 256 threads
 * of 8×8 outputs each, rows 4·tr + i and 64 + 4·tr + i, columns 4·tc + j and 64 + 4·tc + j, both
 * operands k-major in workgroup memory as vec4 rows (BK 8: 8 KiB), so one k step is 4 vec4 reads
 * for 64 multiply-adds (the matmul's v3 ratio; the 64-row tiles read 6 for 32).
 */
import type { MoeRowMap } from './moeGroupedGemm.ref.js';
import { range } from '../core/codegen.js';

export const T128 = 128;
export const BK128 = 8;

/** The 16 vec4 accumulators c{row}_{h}. */
export const acc128 = () => range(16).map((q) => `  var c${q >> 1}_${q & 1} = vec4<f32>(0.0);`).join('\n');

/** One BK slice from Xs (rows) and Ys (columns), both array<vec4<f32>, BK·32>. */
export function inner128(bk: number = BK128): string {
  const lines = [`    for (var kk = 0u; kk < ${bk}u; kk++) {`];
  lines.push('      let x0 = Xs[kk * 32u + tr]; let x1 = Xs[kk * 32u + 16u + tr];');
  lines.push('      let y0 = Ys[kk * 32u + tc]; let y1 = Ys[kk * 32u + 16u + tc];');
  for (let g = 0; g < 2; g++) {
    for (const [i, c] of ['x', 'y', 'z', 'w'].entries()) {
      for (let h = 0; h < 2; h++) lines.push(`      c${g * 4 + i}_${h} = fma(vec4<f32>(x${g}.${c}), y${h}, c${g * 4 + i}_${h});`);
    }
  }
  lines.push('    }');
  return lines.join('\n');
}

/**
 * (tr, tc) of a thread in the 16×16 grid of thread tiles: by rows, or (`warps`) each 32 consecutive
 * threads on 4 rows × 8 columns of it, so a k step's reads of Xs touch 4 entries and of Ys 8.
 */
export function threadCoords128(warps: boolean): string {
  if (!warps) return '  let tr = lid / 16u;\n  let tc = lid % 16u;';
  return `  let tr = (lid / 64u) * 4u + (lid % 32u) / 8u;
  let tc = ((lid / 32u) % 2u) * 8u + lid % 8u;`;
}

/** Row (0..127) of accumulator row q: 4·tr + q for q < 4, 64 + 4·tr + q − 4 after. */
export const row128 = (q: number) => `${q < 4 ? 0 : 64}u + tr * 4u + ${q % 4}u`;

/** Epilogue: for each accumulator row, `body(rowExpr, q)` gets `c{q}_{h}` for column groups n0 + 64h + 4tc. */
export function store128(rowVar: string, guard: (r: string) => string, write: (q: number, h: number) => string): string {
  return range(8)
    .map((q) => `  { let ${rowVar} = ${row128(q)}; if (${guard(rowVar)}) {\n${[0, 1].map((h) => write(q, h)).join('\n')}\n  } }`)
    .join('\n');
}

/** WGSL expression of the source row of sorted row `r`. */
export function wgslRow(map: MoeRowMap, r: string): string {
  if (map === 'sorted') return r;
  return map === 'assign' ? `perm[${r}]` : `(perm[${r}] / u.k)`;
}
