/**
 * The reference `config.json` (reference-model.md §1): every field the forward pass reads, with the
 * reference code's defaults and quirks, validated at load time. Every problem is a
 * {@link ModelConfigError} (code `E_BAD_CONFIG`) naming the field. MoE fields go to @hsa/moe.
 */
import { type MoeConfig, parseMoeConfig } from '@hsa/moe';
import { HsaError } from '@hsa/tensor';

/** A config field that is missing, of the wrong type or inconsistent with another field. */
export class ModelConfigError extends HsaError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('E_BAD_CONFIG', `config.json: ${field}: ${message}`);
  }
}

/** A validated model config, every default applied (camelCase; the JSON names are in the TSDoc). */
export interface HsaConfig {
  /** vocab_size */
  vocabSize: number;
  /** hidden_size d */
  hidden: number;
  /** num_attention_heads Hq */
  heads: number;
  /** num_kv_heads = num_key_value_heads Hk (the two must be equal) */
  kvHeads: number;
  /** head_dim dh = d / Hq */
  headDim: number;
  /** intermediate_size I (SwiGLU width of SWA layers and the HSA layer's MLP) */
  intermediate: number;
  /** hidden_act: silu or swish (the same function) */
  hiddenAct: 'silu' | 'swish';
  /** rms_norm_eps: SWA-layer norms and SWA q/k norms */
  rmsNormEps: number;
  /** layer_norm_epsilon: the final norm only */
  layerNormEps: number;
  /** rope_theta of the main RoPE (rope_scaling must be null or "default") */
  ropeTheta: number;
  maxPositionEmbeddings: number;
  /** attention_bias: biases on SWA q/k/v/o */
  attentionBias: boolean;
  /** sliding_window W */
  slidingWindow: number;
  /** hsa_sliding_window W_h (null: the HSA layer's SWA uses W) */
  hsaSlidingWindow: number | null;
  numLowerLayers: number;
  /** num_upper_groups G */
  numUpperGroups: number;
  numUpperLayers: number;
  /** R = num_upper_layers / G: SWA layers after each HSA layer */
  layersPerGroup: number;
  encoderLayers: number;
  enableEncCls: boolean;
  encPrenorm: boolean;
  /** encoder MLP width int((d·8/3) // 64 · 64) */
  encoderIntermediate: number;
  /** chunk_size S */
  chunkSize: number;
  /** chunk_topk k */
  chunkTopk: number;
  /** retrieval_dim Dr */
  retrievalDim: number;
  singleheadRetrieval: boolean;
  /** retrieval heads Hr: 1 with singlehead_retrieval, else Hk */
  retrievalHeads: number;
  /** dr = Dr / Hr */
  retrievalHeadDim: number;
  enableLmkNorm: boolean;
  maskSlideWindow: boolean;
  slideWindow: number;
  enableSoftmax: boolean;
  enablePosDecay: boolean;
  enableSoftmax1: boolean;
  enableQkNorm: boolean;
  /**
   * hsa_rope (ours, default false; an ablation, not in the reference): RoPE (rope_theta, rotate-half)
   * on the HSA branch at absolute positions: the HSA query of token t rotated by t (after q_norm),
   * the memory key of chunk i, slot j by i·S + j (once, when the chunk is encoded), so q·k depends on
   * the query–key distance. False: the reference's NoPE HSA.
   */
  hsaRope: boolean;
  hsaOnly: boolean;
  resetHsaResidual: boolean;
  skipHsa: boolean;
  enableGumbelNoise: boolean;
  initializerRange: number;
  padTokenId: number;
  tieWordEmbeddings: boolean;
  lmkTokenId: number;
  inferenceSegment: number;
  /** eos_token_id (an id or a list; absent or null: none): ids that end a generation */
  eosTokenIds: number[];
  /** the MoE fields (hsa-spec.md §4) when num_experts is set, else null (dense FFNs) */
  moe: MoeConfig | null;
}

type Json = Record<string, unknown>;

function int(j: Json, field: string, dflt?: number, min = 0): number {
  const v = j[field] ?? dflt;
  if (v === undefined) throw new ModelConfigError(field, 'is required');
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ModelConfigError(field, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function num(j: Json, field: string, dflt?: number, positive = false): number {
  const v = j[field] ?? dflt;
  if (v === undefined) throw new ModelConfigError(field, 'is required');
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (positive && v === 0)) {
    throw new ModelConfigError(field, `must be a finite number ${positive ? '> 0' : '≥ 0'}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(j: Json, field: string, dflt?: boolean): boolean {
  const v = j[field] ?? dflt;
  if (v === undefined) throw new ModelConfigError(field, 'is required');
  if (typeof v !== 'boolean') throw new ModelConfigError(field, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function multipleOf(field: string, v: number, m: number): void {
  if (v % m !== 0 || v === 0) throw new ModelConfigError(field, `${v} must be a positive multiple of ${m} (the reference asserts it)`);
}

/** Hq, Hk, dh with the two KV-head fields equal (reference-model.md D5) and head_dim = d / Hq. */
function heads(j: Json, hidden: number) {
  const hq = int(j, 'num_attention_heads', undefined, 1);
  const hk = int(j, 'num_kv_heads', undefined, 1);
  const hk2 = int(j, 'num_key_value_heads', undefined, 1);
  if (hk !== hk2) throw new ModelConfigError('num_key_value_heads', `${hk2} must equal num_kv_heads = ${hk} (SWA and HSA read different fields)`);
  if (hidden % hq !== 0) throw new ModelConfigError('num_attention_heads', `${hq} heads do not divide hidden_size = ${hidden}`);
  if (hq % hk !== 0) throw new ModelConfigError('num_kv_heads', `${hk} KV heads do not divide num_attention_heads = ${hq}`);
  const dh = hidden / hq;
  const headDim = j.head_dim ?? dh;
  if (headDim !== dh) throw new ModelConfigError('head_dim', `${JSON.stringify(headDim)} must equal hidden_size / num_attention_heads = ${dh} (HSA hard-wires d/Hq)`);
  if (dh % 2 !== 0) throw new ModelConfigError('head_dim', `${dh} must be even (RoPE rotates halves)`);
  return { heads: hq, kvHeads: hk, headDim: dh };
}

function ropeTheta(j: Json): number {
  const s = j.rope_scaling ?? null;
  if (s !== null) {
    const type = typeof s === 'object' ? ((s as Json).rope_type ?? (s as Json).type) : undefined;
    if (type !== 'default') throw new ModelConfigError('rope_scaling', `only null or "default" is supported, got ${JSON.stringify(s)}`);
  }
  return num(j, 'rope_theta', 10000, true);
}

function hiddenAct(j: Json): 'silu' | 'swish' {
  const v = j.hidden_act ?? 'silu';
  if (v !== 'silu' && v !== 'swish') throw new ModelConfigError('hidden_act', `must be "silu" or "swish" (the reference's SwiGLU), got ${JSON.stringify(v)}`);
  return v;
}

/** Layer counts: R = num_upper_layers / G must be an integer. */
function layerCounts(j: Json) {
  const numLowerLayers = int(j, 'num_lower_layers');
  const numUpperGroups = int(j, 'num_upper_groups');
  const numUpperLayers = int(j, 'num_upper_layers');
  if (numUpperGroups === 0 ? numUpperLayers !== 0 : numUpperLayers % numUpperGroups !== 0) {
    throw new ModelConfigError('num_upper_layers', `${numUpperLayers} is not divisible by num_upper_groups = ${numUpperGroups}`);
  }
  return { numLowerLayers, numUpperGroups, numUpperLayers, layersPerGroup: numUpperGroups ? numUpperLayers / numUpperGroups : 0 };
}

/** Chunking and retrieval fields: S and Dr multiples of 64, CLS only with an encoder. */
function chunking(j: Json, hidden: number, kvHeads: number) {
  const chunkSize = int(j, 'chunk_size', undefined, 1);
  multipleOf('chunk_size', chunkSize, 64);
  const retrievalDim = int(j, 'retrieval_dim', undefined, 1);
  multipleOf('retrieval_dim', retrievalDim, 64);
  const singleheadRetrieval = bool(j, 'singlehead_retrieval', false);
  const retrievalHeads = singleheadRetrieval ? 1 : kvHeads;
  if (retrievalDim % retrievalHeads !== 0) throw new ModelConfigError('retrieval_dim', `${retrievalDim} is not divisible by ${retrievalHeads} retrieval heads`);
  const encoderLayers = int(j, 'encoder_layers');
  const enableEncCls = bool(j, 'enable_enc_cls', encoderLayers > 0);
  if (enableEncCls && encoderLayers === 0) throw new ModelConfigError('enable_enc_cls', 'must be false when encoder_layers is 0');
  return {
    chunkSize,
    chunkTopk: int(j, 'chunk_topk', undefined, 1),
    retrievalDim,
    singleheadRetrieval,
    retrievalHeads,
    retrievalHeadDim: retrievalDim / retrievalHeads,
    encoderLayers,
    enableEncCls,
    encPrenorm: bool(j, 'enc_prenorm', false),
    encoderIntermediate: Math.floor((hidden * 8) / 3 / 64) * 64,
  };
}

/** hsa_only (default true) and hsa_sliding_window, which the reference rejects together (D4). */
function hsaWiring(j: Json) {
  const hsaOnly = bool(j, 'hsa_only', true);
  const w = j.hsa_sliding_window ?? null;
  if (w !== null && hsaOnly) throw new ModelConfigError('hsa_sliding_window', 'is set while hsa_only is true (the reference crashes); set hsa_only: false');
  return { hsaOnly, hsaSlidingWindow: w === null ? null : int(j, 'hsa_sliding_window') };
}

/** An int, as the reference's torch.where needs (D8); its range matters only once a negative id meets it. */
function padTokenId(j: Json): number {
  const v = j.pad_token_id;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ModelConfigError('pad_token_id', `must be an integer (negative ids are replaced by it), got ${JSON.stringify(v)}`);
  return v;
}

/** eos_token_id: absent, null, one id or a list of ids (Hugging Face allows both). */
function eosTokenIds(j: Json, vocab: number): number[] {
  const v = j.eos_token_id ?? null;
  const ids = v === null ? [] : Array.isArray(v) ? v : [v];
  for (const id of ids) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new ModelConfigError('eos_token_id', `must be an id in [0, vocab_size = ${vocab}) or a list of them, got ${JSON.stringify(v)}`);
    }
  }
  return ids as number[];
}

function moe(j: Json): MoeConfig | null {
  if (j.num_experts === undefined || j.num_experts === null) return null;
  return parseMoeConfig(j);
}

/** Reads and validates a parsed config.json (absent optional fields take the reference code's defaults). */
export function parseConfig(json: unknown): HsaConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelConfigError('(root)', 'config.json must hold a JSON object');
  const j = json as Json;
  const hidden = int(j, 'hidden_size', undefined, 1);
  const vocabSize = int(j, 'vocab_size', undefined, 1);
  const h = heads(j, hidden);
  return {
    vocabSize,
    hidden,
    ...h,
    intermediate: int(j, 'intermediate_size', undefined, 1),
    hiddenAct: hiddenAct(j),
    rmsNormEps: num(j, 'rms_norm_eps'),
    layerNormEps: num(j, 'layer_norm_epsilon'),
    ropeTheta: ropeTheta(j),
    maxPositionEmbeddings: int(j, 'max_position_embeddings', 2048, 1),
    attentionBias: bool(j, 'attention_bias'),
    slidingWindow: int(j, 'sliding_window'),
    ...hsaWiring(j),
    ...layerCounts(j),
    ...chunking(j, hidden, h.kvHeads),
    enableLmkNorm: bool(j, 'enable_lmk_norm', false),
    maskSlideWindow: bool(j, 'mask_slide_window', false),
    slideWindow: int(j, 'slide_window', 0),
    enableSoftmax: bool(j, 'enable_softmax', false),
    enablePosDecay: bool(j, 'enable_pos_decay', false),
    enableSoftmax1: bool(j, 'enable_softmax1', false),
    enableQkNorm: bool(j, 'enable_qk_norm', false),
    hsaRope: bool(j, 'hsa_rope', false),
    resetHsaResidual: bool(j, 'reset_hsa_residual', false),
    skipHsa: bool(j, 'skip_hsa', false),
    enableGumbelNoise: bool(j, 'enable_gumbel_noise', false),
    initializerRange: num(j, 'initializer_range'),
    padTokenId: padTokenId(j),
    tieWordEmbeddings: bool(j, 'tie_word_embeddings', true),
    lmkTokenId: int(j, 'lmk_token_id'),
    inferenceSegment: int(j, 'inference_segment', 16384, 1),
    eosTokenIds: eosTokenIds(j, vocabSize),
    moe: moe(j),
  };
}

/** Flat layer index of group g's retrieval layer (reference-model.md §2); its HSA layer is the next. */
export const retrievalLayerIndex = (c: HsaConfig, g: number): number => c.numLowerLayers + 1 + g * (2 + c.layersPerGroup);

/** The layer kinds in `backbone.layers` order. */
export type LayerKind = 'SWADecoderLayer' | 'ChunkingLayer' | 'RetrievalLayer' | 'HierarchicalSparseAttention';

export function layerKinds(c: HsaConfig): LayerKind[] {
  const kinds: LayerKind[] = Array(c.numLowerLayers).fill('SWADecoderLayer');
  kinds.push('ChunkingLayer');
  for (let g = 0; g < c.numUpperGroups; g++) {
    kinds.push('RetrievalLayer', 'HierarchicalSparseAttention', ...Array<LayerKind>(c.layersPerGroup).fill('SWADecoderLayer'));
  }
  return kinds;
}
