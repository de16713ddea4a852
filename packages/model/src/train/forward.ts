/**
 * The differentiable full-sequence forward (reference-model.md §3), the ag.* twin of ../forward.ts:
 * embedding → lower SWA layers → chunking layer → G groups of (retrieval, HSA layer, R SWA layers)
 * → norm_f → lm_head; and the loss, the fused cross-entropy over the valid targets of a batch of
 * sequences (equal-length ones packed into one forward, each sequence attending and retrieving only
 * within itself: TrainForwardOptions.pack). A training stage may override the SWA windows and the
 * retrieval top-k (hsa-spec.md §5: a short window with dense retrieval for the warm-up, then a
 * larger window and sparse top-k) without changing any parameter shape.
 */
import { ag, ArgumentError, type Backend, type Tensor, Tensor as T, UnsupportedError } from '@hsa/tensor';
import { type HsaConfig, layerKinds } from '../config.js';
import { prepareIds } from '../forward.js';
import { layerPrefix } from '../params.js';
import { chunkingForward, type TrainMemory } from './chunking.js';
import { hsaLayerForward, retrievalForward, type TrainRetrieval } from './hsa.js';
import { maybeCheckpoint, Scope, type StageSettings, swaLayer, type TrainContext } from './modules.js';

/** Per-stage overrides and memory options of the training forward. */
export interface TrainForwardOptions {
  /** replaces sliding_window W: the SWA layers, the HSA layer's SWA when hsa_sliding_window is null, the mask_slide_window rule */
  slidingWindow?: number;
  /** replaces hsa_sliding_window W_h (the HSA layer's own SWA) */
  hsaSlidingWindow?: number;
  /** replaces chunk_topk; 'all' retrieves every completed chunk (dense retrieval) */
  chunkTopk?: number | 'all';
  /** recompute each SWA, encoder and HSA layer in backward (ag.checkpoint) instead of storing its activations */
  checkpointLayers?: boolean;
  /**
   * Run a batch of equal-length sequences (a multiple of chunk_size, no MoE balance loss) as one
   * forward over the sequences laid end to end, each attending and retrieving only within itself
   * (default true): the same loss with ~1/n of the dispatches. false: one forward per sequence.
   */
  pack?: boolean;
  /**
   * MoE configs: receives each MoE layer's dispatch offsets (its prefix m, one [E + 1] tensor per token
   * block; the receiver disposes them), for @hsa/moe's expertLoad and TrainableHsaModel.balanceExperts
   */
  onExpertLoad?: (m: string, offsets: Tensor[]) => void;
}

/** One training sequence: ids [L] and next-token targets [L] (a target outside [0, vocab) is ignored, e.g. −100). */
export interface TrainSequence {
  ids: ArrayLike<number>;
  targets: ArrayLike<number>;
  /**
   * Relative weight of this sequence's mean loss. When any sequence of a batch has one (missing = 1),
   * trainLoss is Σ w·mean / Σ w over the sequences with valid targets, instead of the mean over all
   * valid targets: a sequence with few targets (a retrieval answer) then counts as much as its weight.
   */
  weight?: number;
}

/** What the forward needs of the model (TrainableHsaModel). */
export interface TrainModelView {
  readonly backend: Backend;
  readonly config: HsaConfig;
  value(name: string): Tensor;
  has(name: string): boolean;
  scalar(name: string): number;
}

const nonNegInt = (name: string, v: number): number => {
  if (!Number.isInteger(v) || v < 0) throw new ArgumentError(`training forward: ${name} must be a non-negative integer, got ${v}`);
  return v;
};

/** The windows and top-k a stage runs with: the config's fields, replaced by the overrides given. */
export function stageSettings(config: HsaConfig, o: TrainForwardOptions = {}): StageSettings {
  const window = nonNegInt('slidingWindow', o.slidingWindow ?? config.slidingWindow);
  const hsaWindow = nonNegInt('hsaSlidingWindow', o.hsaSlidingWindow ?? config.hsaSlidingWindow ?? window);
  const k = o.chunkTopk ?? config.chunkTopk;
  if (k !== 'all' && (!Number.isInteger(k) || k < 1)) throw new ArgumentError(`training forward: chunkTopk must be a positive integer or 'all', got ${k}`);
  return {
    window,
    hsaWindow,
    topk: k === 'all' ? Number.POSITIVE_INFINITY : k,
    maskWindow: config.maskSlideWindow ? Math.max(config.slideWindow, window) : undefined,
  };
}

function context(model: TrainModelView, o: TrainForwardOptions): TrainContext {
  return {
    config: model.config,
    p: (n) => model.value(n),
    has: (n) => model.has(n),
    scalar: (n) => model.scalar(n),
    stage: stageSettings(model.config, o),
    checkpoint: o.checkpointLayers ?? false,
  };
}

/** The hidden state after the last layer [L, d], from the embeddings x [L, d]. */
function layers(ctx: TrainContext, s: Scope, x: Tensor): Tensor {
  let mem: TrainMemory | null = null;
  let ret: TrainRetrieval | null = null;
  layerKinds(ctx.config).forEach((kind, i) => {
    const p = layerPrefix(i);
    if (kind === 'SWADecoderLayer') x = s.keep(maybeCheckpoint(ctx, (h) => swaLayer(ctx, h, p), [x]));
    else if (kind === 'ChunkingLayer') mem = chunkingForward(ctx, s, x, p);
    else if (kind === 'RetrievalLayer') ret = mem ? retrievalForward(ctx, s, x, mem, p) : null;
    else {
      x = s.keep(hsaLayerForward(ctx, x, p, mem, ret));
      ret = null;
    }
  });
  return x;
}

/**
 * Logits [L, vocab] of one sequence, or of n packed sequences of `segment` tokens (ids [n·segment],
 * logits [n·segment, vocab]); MoE balance losses go to `aux` (disposed when absent).
 */
function logitsWithAux(model: TrainModelView, ids: ArrayLike<number>, options: TrainForwardOptions, aux?: Tensor[], segment?: number): Tensor {
  const ctx = context(model, options);
  const c = model.config;
  const s = new Scope();
  const hooks = { active: true, onLoad: options.onExpertLoad, aux: [] as Tensor[] };
  ctx.moe = hooks;
  try {
    if (segment !== undefined) ctx.packed = { segment, positions: packedPositions(model.backend, segment, ids.length) };
    const idsT = s.keep(T.from(model.backend, prepareIds(c, ids), [ids.length], 'i32'));
    const emb = model.value('backbone.embeddings.weight');
    const x = layers(ctx, s, s.keep(ag.embedding(emb, idsT)));
    const h = s.keep(ag.rmsNorm(x, model.value('backbone.norm_f.weight'), c.layerNormEps));
    return ag.matmul(h, c.tieWordEmbeddings ? emb : model.value('lm_head.weight'), { transB: true });
  } finally {
    hooks.active = false; // a checkpointed layer recomputed in backward reports nothing twice
    if (aux) aux.push(...hooks.aux);
    else for (const t of hooks.aux) t.dispose();
    s.dispose();
  }
}

/**
 * Logits [L, vocab] of one sequence (any length) through the differentiable forward: equal to the
 * inference forward's with the same weights and no overrides.
 */
export function trainLogits(model: TrainModelView, ids: ArrayLike<number>, options: TrainForwardOptions = {}): Tensor {
  return logitsWithAux(model, ids, options);
}

const positionsCache = new WeakMap<Backend, Map<string, Tensor>>();

/**
 * The RoPE positions of n tokens packed in sequences of `segment`: t mod segment (i32 [n]), one
 * tensor per backend and shape for the whole run, never disposed: a layer recomputed in the
 * backward pass (checkpointLayers) reads them after the forward's scope is gone.
 */
function packedPositions(backend: Backend, segment: number, n: number): Tensor {
  let byShape = positionsCache.get(backend);
  if (!byShape) positionsCache.set(backend, (byShape = new Map()));
  const key = `${segment}:${n}`;
  let t = byShape.get(key);
  if (!t) {
    t = T.from(backend, Int32Array.from({ length: n }, (_, i) => i % segment), [n], 'i32');
    byShape.set(key, t);
  }
  return t;
}

/** Whether a batch runs as one packed forward (TrainForwardOptions.pack). */
function packable(c: HsaConfig, seqs: readonly TrainSequence[], o: TrainForwardOptions): boolean {
  const L = seqs[0].ids.length;
  return (
    (o.pack ?? true) &&
    seqs.length > 1 &&
    L > 0 &&
    L % c.chunkSize === 0 &&
    seqs.every((q) => q.ids.length === L) &&
    // the balance loss is per sequence
    (c.moe?.auxLossAlpha ?? 0) === 0
  );
}

/** The ids of the batch end to end. */
function concatIds(seqs: readonly TrainSequence[]): number[] {
  const out: number[] = [];
  for (const q of seqs) for (let i = 0; i < q.ids.length; i++) out.push(q.ids[i]);
  return out;
}

/** Targets as i32 with the count of valid ones (in [0, vocab)). */
function targetsOf(c: HsaConfig, seq: TrainSequence): { data: Int32Array; valid: number } {
  if (seq.targets.length !== seq.ids.length) {
    throw new ArgumentError(`training loss: ${seq.targets.length} targets for ${seq.ids.length} ids (one target per position)`);
  }
  const data = Int32Array.from(seq.targets);
  return { data, valid: data.reduce((n, t) => n + (t >= 0 && t < c.vocabSize ? 1 : 0), 0) };
}

/**
 * The mean cross-entropy over every valid target of the batch (a scalar, shape []): each sequence's
 * mean weighted by its share of the valid targets (0 when no target is valid), or by its `weight`
 * when the batch's sequences carry weights; plus, for MoE configs
 * with aux_loss_alpha > 0, the sequence-level balance losses averaged over the sequences.
 */
export function trainLoss(model: TrainModelView, batch: TrainSequence | readonly TrainSequence[], options: TrainForwardOptions = {}): Tensor {
  const seqs: readonly TrainSequence[] = Array.isArray(batch) ? batch : [batch as TrainSequence];
  if (seqs.length === 0) throw new ArgumentError('training loss: the batch is empty');
  const targets = seqs.map((q) => targetsOf(model.config, q));
  const total = targets.reduce((n, t) => n + t.valid, 0);
  const weighted = seqs.some((q) => q.weight !== undefined);
  for (const q of seqs) {
    if (q.weight !== undefined && !(q.weight >= 0 && Number.isFinite(q.weight))) throw new ArgumentError(`training loss: weight must be finite and ≥ 0, got ${q.weight}`);
  }
  const weightSum = seqs.reduce((n, q, b) => n + (targets[b].valid > 0 ? (q.weight ?? 1) : 0), 0);
  const share = (b: number) => {
    if (!weighted) return total > 0 ? targets[b].valid / total : 1 / seqs.length;
    return weightSum > 0 && targets[b].valid > 0 ? (seqs[b].weight ?? 1) / weightSum : 0;
  };
  if (options.checkpointLayers && (model.config.moe?.auxLossAlpha ?? 0) > 0) {
    throw new UnsupportedError('training loss: aux_loss_alpha > 0 with checkpointLayers (the balance loss of a recomputed layer gets no gradient); turn one off');
  }
  const s = new Scope();
  try {
    let loss: Tensor | null = null;
    const aux: Tensor[] = [];
    const L = seqs[0].ids.length;
    const packed = packable(model.config, seqs, options) ? s.keep(logitsWithAux(model, concatIds(seqs), options, aux, L)) : null;
    for (let b = 0; b < seqs.length; b++) {
      const logits = packed ? s.keep(ag.slice(packed, 0, b * L, (b + 1) * L)) : s.keep(logitsWithAux(model, seqs[b].ids, options, aux));
      const tt = s.keep(T.from(model.backend, targets[b].data, [targets[b].data.length], 'i32'));
      const ce = s.keep(ag.crossEntropy(logits, tt));
      const part = seqs.length === 1 && !weighted ? ce : s.keep(ag.scale(ce, share(b)));
      loss = loss ? s.keep(ag.add(loss, part)) : part;
    }
    for (const a of aux) loss = s.keep(ag.add(loss as Tensor, s.keep(ag.scale(s.keep(a), 1 / seqs.length))));
    return ag.reshape(loss as Tensor, []);
  } finally {
    s.dispose();
  }
}
