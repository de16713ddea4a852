/**
 * The dK/dV accumulation shared by the SWA and HSA chunk-attention backward kernels: after a block
 * of QR query rows has left its probabilities `ps`, score gradients `dss`, queries `qs` and output
 * gradients `dos` in workgroup memory, each invocation adds, for its OPT (key, dim) slots of the BK×D
 * key tile, dV += Σ_r p·dout and dK += Σ_r ds·q into its registers `av` / `ak` (rows in fixed order).
 * (The dense backward's v2, swaAttentionBackwardV2.wgsl.ts, accumulates its own register blocks.)
 */
export interface DkvTile {
  opt: number;
  wg: number;
  d: number;
  bk: number;
  qr: number;
  /** row stride of `qs` / `dos` */
  p: number;
}

export function accumulateDkv({ opt, wg, d, bk, qr, p }: DkvTile): string {
  return `    for (var o = 0u; o < ${opt}u; o++) {
      let i = lid + o * ${wg}u;
      let kk = min(i / ${d}u, ${bk - 1}u); let d = i % ${d}u;
      var xk = 0.0; var xv = 0.0;
      for (var r = 0u; r < ${qr}u; r++) {
        xv += ps[r * ${bk}u + kk] * dos[r * ${p}u + d];
        xk += dss[r * ${bk}u + kk] * qs[r * ${p}u + d];
      }
      ak[o] += xk; av[o] += xv;
    }`;
}
