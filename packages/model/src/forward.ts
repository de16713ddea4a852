/**
 * The full-sequence forward (reference-model.md §3), batch 1: embedding → lower SWA layers → the
 * chunking layer (shared memory from H_low) → G groups of (retrieval, HSA layer, R SWA layers) →
 * norm_f (layer_norm_epsilon) → lm_head (the embedding matrix when tie_word_embeddings). Runs on any
 * backend: every step is an @hsa/tensor op. Any length L works; only ⌊L/S⌋ complete chunks are
 * encoded, the partial last one can never be retrieved (reference-model.md D6, D9).
 */
import { ArgumentError, embedding, rmsNorm, type Tensor } from '@hsa/tensor';
import { type HsaConfig, type LayerKind, layerKinds } from './config.js';
import { type ChunkMemory, chunkingForward, disposeMemory } from './layers/chunking-layer.js';
import { type ForwardContext, linear, type Recorder, record } from './layers/common.js';
import { hsaLayerForward } from './layers/hsa-layer.js';
import { type Retrieval, retrievalForward } from './layers/retrieval-layer.js';
import { swaLayerForward } from './layers/swa-layer.js';
import { layerPrefix } from './params.js';
import type { ModelWeights } from './weights.js';

export type { Recorder } from './layers/common.js';

export interface ForwardOptions {
  /**
   * Receives intermediates under the golden file's names: `hidden.after_layerNN_<Kind>` [L, d],
   * `chunk.encoder_out`, `chunk.landmarks`, `chunk.mem_k`, `chunk.mem_v`, `retrieval{g}.indices`,
   * `retrieval{g}.weights`, `hsa{g}.q`, `hsa{g}.context`, `hidden.final_norm`. Each tensor is the
   * receiver's to dispose.
   */
  record?: Recorder;
  /** Called after each layer (done of total) once its work finished on the device. */
  onProgress?: (done: number, total: number) => void;
}

/** Token ids as i32 on the host: negative ids become pad_token_id; ids (or a pad id) outside the vocabulary are an error. */
export function prepareIds(config: HsaConfig, ids: ArrayLike<number>): Int32Array {
  const out = new Int32Array(ids.length);
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t];
    if (!Number.isInteger(id) || id >= config.vocabSize) {
      throw new ArgumentError(`forward: token id ${id} at position ${t} is outside [0, vocab_size = ${config.vocabSize})`);
    }
    out[t] = id < 0 ? config.padTokenId : id;
    if (out[t] < 0 || out[t] >= config.vocabSize) {
      throw new ArgumentError(`forward: id ${id} at position ${t} becomes pad_token_id = ${config.padTokenId}, outside [0, ${config.vocabSize})`);
    }
  }
  return out;
}

/** The hidden state flowing through the layers, the chunk memory and the pending retrieval. */
export interface LayerState {
  x: Tensor;
  mem: ChunkMemory | null;
  ret: Retrieval | null;
  group: number;
}

/** What the chunking layer does with H_low (prefix p): the memory the HSA layers then use. */
export type ChunkingStep = (ctx: ForwardContext, hLow: Tensor, p: string) => ChunkMemory | null;

/** Runs flat layer i of the given kind on the state (the chunking layer through `chunking`). */
export function layerForward(ctx: ForwardContext, st: LayerState, i: number, kind: LayerKind, chunking: ChunkingStep = chunkingForward): void {
  const p = layerPrefix(i);
  if (kind === 'SWADecoderLayer') st.x = swaLayerForward(ctx, st.x, p);
  else if (kind === 'ChunkingLayer') st.mem = chunking(ctx, st.x, p);
  else if (kind === 'RetrievalLayer') st.ret = st.mem ? retrievalForward(ctx, st.x, st.mem, p, st.group) : null;
  else {
    st.x = hsaLayerForward(ctx, st.x, p, st.group, st.mem, st.ret);
    if (st.ret) for (const t of [st.ret.idx, st.ret.w]) t.dispose();
    st.ret = null;
    st.group++;
  }
  if (kind === 'SWADecoderLayer' || kind === 'HierarchicalSparseAttention') {
    record(ctx, `hidden.after_layer${String(i).padStart(2, '0')}_${kind}`, st.x);
  }
}

/** logits = lm_head(RMSNorm(x; norm_f)) [L, vocab] of x [L, d] (reference-model.md §3.8). */
export function outputHead(ctx: ForwardContext, x: Tensor): Tensor {
  const { config, weights } = ctx;
  const h = rmsNorm(x, weights.get('backbone.norm_f.weight'), config.layerNormEps);
  record(ctx, 'hidden.final_norm', h);
  const head = config.tieWordEmbeddings ? weights.get('backbone.embeddings.weight') : weights.get('lm_head.weight');
  const logits = linear(h, head);
  h.dispose();
  return logits;
}

/** Logits [L, vocab] of token ids [L] (batch 1). */
export async function forward(config: HsaConfig, weights: ModelWeights, ids: ArrayLike<number>, options: ForwardOptions = {}): Promise<Tensor> {
  const ctx: ForwardContext = { config, weights, record: options.record };
  const kinds = layerKinds(config);
  const st: LayerState = { x: embedding(weights.get('backbone.embeddings.weight'), prepareIds(config, ids)), mem: null, ret: null, group: 0 };
  try {
    for (let i = 0; i < kinds.length; i++) {
      layerForward(ctx, st, i, kinds[i]);
      if (options.onProgress) {
        await weights.backend.sync();
        options.onProgress(i + 1, kinds.length + 1);
      }
    }
    const logits = outputHead(ctx, st.x);
    if (options.onProgress) {
      await weights.backend.sync();
      options.onProgress(kinds.length + 1, kinds.length + 1);
    }
    return logits;
  } finally {
    st.x.dispose();
    disposeMemory(st.mem);
    if (st.ret) for (const t of [st.ret.idx, st.ret.w]) t.dispose();
  }
}
