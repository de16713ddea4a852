/**
 * The HSA references against the reference run in ../shared/golden (config_softmax.json): retrieval
 * top-k + fusion from the reference's masked scores, landmark scores recomputed from the hidden state,
 * and chunk attention from the reference's own q, memory, indices and weights. Tolerance abs 1e-4
 * (reference-model.md §7); indices exact.
 */
import { readFileSync } from 'node:fs';
import {
  type HsaRetrievalParams,
  hsaChunkAttentionForwardRef,
  hsaFusionWeightsRef,
  hsaLandmarkScoresRef,
  hsaRetrievalRef,
  hsaSelectTopkRef,
} from '@hsa/kernels';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SafetensorsFile } from '../../io/safetensors.js';
import { readSafetensorsFile } from '../../io/safetensors-node.js';
import { goldenPath } from '../../test-utils/golden.js';
import { expectClose } from '../../test-utils/index.js';

const cfg = JSON.parse(readFileSync(goldenPath('config_softmax.json'), 'utf8'));
const L = 512;
const S: number = cfg.chunk_size;
const C = L / S;
const HK: number = cfg.num_kv_heads;
const HQ: number = cfg.num_attention_heads;
const D: number = cfg.hidden_size / HQ;
const DR: number = cfg.retrieval_dim / HK;
const K = Math.min(C, cfg.chunk_topk);
const P: HsaRetrievalParams = { t: L, chunks: C, s: S, hr: HK, hk: HK, dr: DR, topk: cfg.chunk_topk, mode: 'softmax' };
/** hidden state entering group g, and its retrieval layer index (reference-model.md §2) */
const GROUPS = [
  { g: 0, input: 'hidden.after_layer01_SWADecoderLayer', layer: 3 },
  { g: 1, input: 'hidden.after_layer05_SWADecoderLayer', layer: 6 },
];

let gold: SafetensorsFile;
let model: SafetensorsFile;
beforeAll(async () => {
  gold = await readSafetensorsFile(goldenPath('golden_softmax.safetensors'));
  model = await readSafetensorsFile(goldenPath('model.safetensors'));
});

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** qr = ln(RMSNorm(x; pre_norm, 1e-6)) in float64: [L, Hr·dr]. */
function retrievalQuery(x: Float32Array, norm: Float32Array, ln: Float32Array): Float64Array {
  const d = norm.length;
  const out = new Float64Array(L * cfg.retrieval_dim);
  const h = new Float64Array(d);
  for (let t = 0; t < L; t++) {
    let ms = 0;
    for (let i = 0; i < d; i++) ms += x[t * d + i] ** 2;
    const r = 1 / Math.sqrt(ms / d + 1e-6);
    for (let i = 0; i < d; i++) h[i] = norm[i] * x[t * d + i] * r;
    for (let o = 0; o < cfg.retrieval_dim; o++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += ln[o * d + i] * h[i];
      out[t * cfg.retrieval_dim + o] = s;
    }
  }
  return out;
}

describe.each(GROUPS)('golden group $g', ({ g, input, layer }) => {
  it('landmark scores from the hidden state match scores_masked (−∞ pattern exact)', () => {
    const pre = `backbone.layers.${layer}`;
    const qr = retrievalQuery(gold.float32(input), model.float32(`${pre}.pre_norm.weight`), model.float32(`${pre}.ln.weight`));
    const scores = new Float64Array(L * HK * C);
    hsaLandmarkScoresRef([qr, Float64Array.from(gold.float32('chunk.landmarks')), scores], P);
    const want = gold.float32(`retrieval${g}.scores_masked`);
    console.info(`group ${g}: landmark scores max abs error ${maxAbs(scores, want).toExponential(2)}`);
    expectClose(scores, want, 1e-4, `scores g=${g}`);
    for (let i = 0; i < want.length; i++) expect(scores[i] === -Infinity).toBe(want[i] === -Infinity);
    // the whole retrieval from qr: indices exact, weights within 1e-4
    const idx = new Int32Array(L * HK * K);
    const w = new Float64Array(L * HK * K);
    hsaRetrievalRef([qr, Float64Array.from(gold.float32('chunk.landmarks')), idx, w], P);
    expect(Array.from(idx)).toEqual(Array.from(gold.int32(`retrieval${g}.indices`)));
    expectClose(w, gold.float32(`retrieval${g}.weights`), 1e-4, `retrieval weights from qr g=${g}`);
  });

  it('top-k + softmax fusion from scores_masked: indices exact, weights within 1e-4', () => {
    const scores = Float64Array.from(gold.float32(`retrieval${g}.scores_masked`));
    const idx = new Int32Array(L * HK * K);
    const sel = new Float64Array(L * HK * K);
    const w = new Float64Array(L * HK * K);
    hsaSelectTopkRef([scores, idx, sel], P);
    hsaFusionWeightsRef([sel, w], { rows: L * HK, k: K, mode: 'softmax' });
    expect(Array.from(idx)).toEqual(Array.from(gold.int32(`retrieval${g}.indices`)));
    const want = gold.float32(`retrieval${g}.weights`);
    console.info(`group ${g}: fusion weights max abs error ${maxAbs(w, want).toExponential(2)}`);
    expectClose(w, want, 1e-4, `weights g=${g}`);
  });

  it('chunk attention from the reference q, memory, indices and weights matches hsa context', () => {
    const out = new Float64Array(L * HQ * D);
    const arrays = [gold.float32(`hsa${g}.q`), gold.float32('chunk.mem_k'), gold.float32('chunk.mem_v')].map((a) =>
      Float64Array.from(a),
    );
    const idx = gold.int32(`retrieval${g}.indices`);
    const w = Float64Array.from(gold.float32(`retrieval${g}.weights`));
    hsaChunkAttentionForwardRef([arrays[0], arrays[1], arrays[2], idx, w, out], { t: L, hq: HQ, hk: HK, d: D, s: S, chunks: C, k: K });
    const want = gold.float32(`hsa${g}.context`);
    console.info(`group ${g}: HSA context max abs error ${maxAbs(out, want).toExponential(2)}`);
    expectClose(out, want, 1e-4, `context g=${g}`);
    // and in f32 arrays, as the CPU backend runs it
    const out32 = new Float32Array(L * HQ * D);
    const [q32, k32, v32, w32] = [`hsa${g}.q`, 'chunk.mem_k', 'chunk.mem_v', `retrieval${g}.weights`].map((n) => gold.float32(n));
    hsaChunkAttentionForwardRef([q32, k32, v32, idx, w32, out32], { t: L, hq: HQ, hk: HK, d: D, s: S, chunks: C, k: K });
    expectClose(out32, want, 1e-4, `context f32 g=${g}`);
  });
});
