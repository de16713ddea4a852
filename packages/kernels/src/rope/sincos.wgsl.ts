/**
 * Accurate f32 sin/cos, because WGSL's sin/cos only promise 2⁻¹¹ absolute error on [−π, π] and
 * nothing outside. RoPE's angles lie within about ±3π (rope.ts v2 reduces its terms mod 2π); the
 * reduction below holds much further, which v1's raw fp32 products (up to ~1e7 rad) needed.
 *
 * Reduction: k = round(a·2/π), r = a − k·π/2 with π/2 split into its single set bits 2^e down to
 * 2⁻³⁰ plus one f32 tail: k·2^e is exact for any k < 2²⁴, and each subtraction is exact while the
 * remainder is large, so r is within a few ulps of |r| ≤ π/4 for |a| < 2²⁴·π/2 ≈ 2.6e7 (beyond that
 * k is not an integer in f32 and the result degrades). A second step with k₂ ∈ {−1, 0, 1} fixes the
 * rare k estimate that is off by one. Then cephes' sinf/cosf minimax polynomials on [−π/4, π/4].
 */

const lit = (x: number) => Math.fround(x).toPrecision(9);

/** The set bits of f64 π/2 from 2⁰ down to 2^minExp, and the f32 rest. */
function piOver2Parts(minExp: number): { bits: number[]; tail: number } {
  const bits: number[] = [];
  let rest = Math.PI / 2;
  for (let e = 0; e >= minExp; e--) {
    if (rest >= 2 ** e) {
      bits.push(2 ** e);
      rest -= 2 ** e;
    }
  }
  return { bits, tail: Math.fround(rest) };
}

/** WGSL `fn sincos(a: f32) -> vec2f` returning (sin a, cos a). */
export function wgslSinCos(): string {
  const { bits, tail } = piOver2Parts(-30);
  const pa = Math.fround(Math.PI / 2);
  const pb = Math.fround(Math.PI / 2 - pa);
  // 2^−e printed with e decimals is exact
  const steps = bits.map((b) => `  r = r - k * ${b.toFixed(Math.max(1, -Math.log2(b)))};`);
  return /* wgsl */ `
fn sincos(a: f32) -> vec2f {
  let k = round(a * ${lit(2 / Math.PI)});
  var r = a;
${steps.join('\n')}
  r = r - k * ${lit(tail)};
  let k2 = round(r * ${lit(2 / Math.PI)});
  r = ((r - k2 * ${lit(pa)}) - k2 * ${lit(pb)}) - k2 * ${lit(Math.PI / 2 - pa - pb)};
  let q = (i32(k) + i32(k2)) & 3;
  let z = r * r;
  let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  if (q == 0) { return vec2f(s, c); }
  if (q == 1) { return vec2f(c, -s); }
  if (q == 2) { return vec2f(-s, -c); }
  return vec2f(-c, s);
}`;
}
