/**
 * HSA retrieval backward kernels (math: hsaRetrievalBackward.ref.ts), from the forward's idx, w
 * [T, Hk, k] and sel [T, Hr, k] (−∞ for dead slots) and the upstream dw [T, Hk, k]:
 *   hsaRetrievalDq:   [qr, lmk, idx, w, sel, dw, dqr, dsel, idxR, dpdRow], a workgroup per row
 *                     (t, h): dwr = Σ_{heads sharing the choice} dw; dsel = fusion backward
 *                     (softmax: w(dwr − w·dwr), dpdRow = Σ j·dsel; stick-breaking: w·dwr −
 *                     softplus15'(sel)·Σ_{l≥j} w·dwr); dqr = scale·Σ_j dsel_j·lmk[c_j, h];
 *                     dsel, idxR [T, Hr, k] feed the landmark pass
 *   hsaRetrievalDlmk: [qr, dsel, order, starts, dlmk], a workgroup per (chunk, head) over the slots
 *                     that selected it (the inverted selection, in slot order): deterministic
 * v1. k ≤ 128 (SELECT_MAX_K).
 */
import { ArgumentError } from '../core/errors.js';
import { type BufferBinding, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { softplus15Grad } from './common.js';
import type { FusionMode } from './hsaFusion.ref.js';

export interface HsaRetrievalBackwardParams {
  t: number;
  hr: number;
  hk: number;
  /** slots k_eff */
  k: number;
  chunks: number;
  dr: number;
  mode: FusionMode;
  /** default 1/√dr */
  scale?: number;
}

const MAXK = 128;
const WG = 64;
const U = defineUniforms({ hr: 'u32', hk: 'u32', k: 'u32', chunks: 'u32', dr: 'u32', stick: 'u32', nwg: 'u32', scale: 'f32' });
const f = (name: string, out = false): BufferBinding => ({ name, access: out ? 'read_write' : 'read', type: 'f32' });
const i = (name: string, out = false): BufferBinding => ({ name, access: out ? 'read_write' : 'read', type: 'i32' });
const DQ_BUFFERS = [f('qr'), f('lmk'), i('idx'), f('w'), f('sel'), f('dw'), f('dqr', true), f('dsel', true), i('idxR', true), f('dpdRow', true)];
const DLMK_BUFFERS: BufferBinding[] = [f('qr'), f('dsel'), { name: 'order', access: 'read', type: 'u32' }, { name: 'starts', access: 'read', type: 'u32' }, f('dlmk', true)];

const scaleOf = (p: HsaRetrievalBackwardParams) => p.scale ?? 1 / Math.sqrt(p.dr);
const pack = (p: HsaRetrievalBackwardParams, nwg: number) =>
  U.pack({ hr: p.hr, hk: p.hk, k: p.k, chunks: p.chunks, dr: p.dr, stick: p.mode === 'stickBreaking' ? 1 : 0, nwg, scale: scaleOf(p) });

/** dsel of one row (t, h) into ds[0..k) from w, sel and the summed dw; returns Σ j·dsel (softmax). */
function rowDsel(a: ArrayLike<number>[], p: HsaRetrievalBackwardParams, t: number, h: number, ds: Float64Array): number {
  const [, , , w, sel, dw] = a;
  const { k, hk, hr } = p;
  const g0 = hr === 1 ? 0 : h;
  const wr = (j: number) => w[(t * hk + g0) * k + j];
  const dwr = (j: number) => {
    let s = 0;
    for (let g = 0; g < hk; g++) if (hr === 1 || g === h) s += dw[(t * hk + g) * k + j];
    return s;
  };
  if (p.mode === 'stickBreaking') {
    let tail = 0;
    for (let j = k - 1; j >= 0; j--) {
      const x = wr(j) * dwr(j);
      tail += x;
      const s = sel[(t * hr + h) * k + j];
      ds[j] = s === Number.NEGATIVE_INFINITY ? 0 : x - softplus15Grad(s) * tail;
    }
    return 0;
  }
  let dot = 0;
  for (let j = 0; j < k; j++) dot += wr(j) * dwr(j);
  let dpd = 0;
  for (let j = 0; j < k; j++) {
    ds[j] = wr(j) * (dwr(j) - dot);
    dpd += j * ds[j];
  }
  return dpd;
}

const dqWgsl = () => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(DQ_BUFFERS, 'U')}
var<workgroup> dsl: array<f32, ${MAXK}>;
var<workgroup> cs: array<u32, ${MAXK}>;
fn dwr(t: u32, h: u32, j: u32) -> f32 {
  var s = 0.0;
  for (var g = 0u; g < u.hk; g++) { if (u.hr == 1u || g == h) { s += dw[(t * u.hk + g) * u.k + j]; } }
  return s;
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = ${WGSL_LINEAR_WORKGROUP};
  if (row >= u.nwg) { return; }
  let t = row / u.hr; let h = row % u.hr;
  let wo = (t * u.hk + select(h, 0u, u.hr == 1u)) * u.k;
  if (lid == 0u) {
    var dpd = 0.0;
    if (u.stick != 0u) {
      var tail = 0.0;
      for (var j = u.k; j > 0u; j--) {
        let x = w[wo + j - 1u] * dwr(t, h, j - 1u);
        tail += x;
        let s = sel[row * u.k + j - 1u];
        let sp = select(1.0 / (1.0 + exp(-s)), 1.0, s > 15.0);
        dsl[j - 1u] = select(0.0, x - sp * tail, s > -3.0e38);
      }
    } else {
      var dot = 0.0;
      for (var j = 0u; j < u.k; j++) { let x = dwr(t, h, j); dsl[j] = x; dot += w[wo + j] * x; }
      for (var j = 0u; j < u.k; j++) { let x = w[wo + j] * (dsl[j] - dot); dsl[j] = x; dpd += f32(j) * x; }
    }
    for (var j = 0u; j < u.k; j++) {
      let c = u32(clamp(idx[wo + j], 0, i32(u.chunks) - 1));
      cs[j] = c;
      dsel[row * u.k + j] = dsl[j];
      idxR[row * u.k + j] = i32(c);
    }
    dpdRow[row] = dpd;
  }
  workgroupBarrier();
  for (var d = lid; d < u.dr; d += ${WG}u) {
    var acc = 0.0;
    for (var j = 0u; j < u.k; j++) {
      if (dsl[j] != 0.0) { acc += dsl[j] * lmk[(cs[j] * u.hr + h) * u.dr + d]; }
    }
    dqr[row * u.dr + d] = acc * u.scale;
  }
}`;

export const hsaRetrievalDq: Kernel<HsaRetrievalBackwardParams> = {
  name: 'hsaRetrievalDq',
  ref(a, p) {
    const [, lmk, idx, , , , dqr, dsel, idxR, dpdRow] = a;
    const ds = new Float64Array(p.k);
    const scale = scaleOf(p);
    for (let row = 0; row < p.t * p.hr; row++) {
      const [t, h] = [Math.floor(row / p.hr), row % p.hr];
      const wo = (t * p.hk + (p.hr === 1 ? 0 : h)) * p.k;
      dpdRow[row] = rowDsel(a, p, t, h, ds);
      for (let d = 0; d < p.dr; d++) dqr[row * p.dr + d] = 0;
      for (let j = 0; j < p.k; j++) {
        const c = Math.min(Math.max(idx[wo + j], 0), p.chunks - 1);
        dsel[row * p.k + j] = ds[j];
        idxR[row * p.k + j] = c;
        if (ds[j] === 0) continue;
        for (let d = 0; d < p.dr; d++) dqr[row * p.dr + d] += scale * ds[j] * lmk[(c * p.hr + h) * p.dr + d];
      }
    }
  },
  program(p, caps) {
    if (p.k > MAXK) throw new ArgumentError(`hsaRetrievalBackward: k = ${p.k} is over the compiled maximum ${MAXK}`);
    const nwg = p.t * p.hr;
    return { key: 'hsaRetrievalDq', code: dqWgsl, buffers: DQ_BUFFERS, uniforms: pack(p, nwg), workgroups: nwg === 0 ? [0, 1, 1] : grid(nwg, caps) };
  },
};

const dlmkWgsl = () => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(DLMK_BUFFERS, 'U')}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let b = ${WGSL_LINEAR_WORKGROUP};
  if (b >= u.nwg) { return; }
  let h = b % u.hr;
  let e0 = starts[b]; let e1 = starts[b + 1u];
  for (var d = lid; d < u.dr; d += ${WG}u) {
    var acc = 0.0;
    for (var i = e0; i < e1; i++) {
      let e = order[i];
      acc += dsel[e] * qr[((e / (u.hr * u.k)) * u.hr + h) * u.dr + d];
    }
    dlmk[b * u.dr + d] = acc * u.scale;
  }
}`;

export const hsaRetrievalDlmk: Kernel<HsaRetrievalBackwardParams> = {
  name: 'hsaRetrievalDlmk',
  ref([qr, dsel, order, starts, dlmk], p) {
    const scale = scaleOf(p);
    for (let b = 0; b < p.chunks * p.hr; b++) {
      const h = b % p.hr;
      for (let d = 0; d < p.dr; d++) {
        let acc = 0;
        for (let i = starts[b]; i < starts[b + 1]; i++) {
          const e = order[i];
          acc += dsel[e] * qr[(Math.floor(e / (p.hr * p.k)) * p.hr + h) * p.dr + d];
        }
        dlmk[b * p.dr + d] = acc * scale;
      }
    }
  },
  program(p, caps) {
    const nwg = p.chunks * p.hr;
    return { key: 'hsaRetrievalDlmk', code: dlmkWgsl, buffers: DLMK_BUFFERS, uniforms: pack(p, nwg), workgroups: nwg === 0 ? [0, 1, 1] : grid(nwg, caps) };
  },
};
