/**
 * The memory plan of a model at a context length, computed before anything is allocated
 * (style.md §4): weights (matrices in their storage dtype, the rest f32), the SWA ring buffers of
 * every SWA module, the chunk memory (K/V of every completed chunk and its landmark, with the
 * growth slack of the doubling block), and the activations of one prefill segment (an upper bound:
 * the widest layer's live intermediates). `checkMemoryPlan` turns a plan over budget into a typed
 * E_OUT_OF_MEMORY error that says what to change.
 */
import { OutOfMemoryError } from '@hsa/tensor';
import { FIRST_CAP, maxBlockChunks } from './chunk-store.js';
import { type HsaConfig, layerKinds } from './config.js';
import { parameterSpecs } from './params.js';

export interface MemoryPlanOptions {
  /** tokens of context to hold (prompt + generated) */
  context: number;
  /** prefill segment (default the config's inference_segment) */
  segment?: number;
  /** bytes per matrix element as stored (4 f32, 2 f16/bf16; default 4) */
  matrixBytes?: number;
  /** the largest buffer one binding may hold (the chunk store's block limit; default 2 GiB) */
  maxBindingBytes?: number;
  /** logits of the whole segment (true) or of its last token (false, generation; default) */
  allLogits?: boolean;
  /** chunk K/V in host memory (createDecodeState's memory: 'host'): they leave the device total */
  hostMemory?: boolean;
}

export interface MemoryPlan {
  context: number;
  segment: number;
  weights: number;
  swaCaches: number;
  /** K/V of the completed chunks on the device (with the last block's doubling slack); 0 with hostMemory */
  chunkMemory: number;
  /** K/V held in host memory instead (hostMemory) */
  hostChunkMemory: number;
  landmarks: number;
  activations: number;
  total: number;
}

const F32 = 4;

/** Windows of every SWA module (each with a K and a V ring buffer). */
function swaWindows(c: HsaConfig): number[] {
  const w: number[] = [];
  for (const kind of layerKinds(c)) {
    if (kind === 'SWADecoderLayer') w.push(c.slidingWindow);
    if (kind === 'HierarchicalSparseAttention' && !c.hsaOnly) w.push(c.hsaSlidingWindow ?? c.slidingWindow);
  }
  return w;
}

/** Bytes of one segment's peak intermediates: residual stream and norms, attention projections, the widest FFN, logits. */
function activationBytes(c: HsaConfig, T: number, allLogits: boolean): number {
  const qkv = (c.heads + 2 * c.kvHeads) * c.headDim;
  const moeWidth = c.moe ? Math.max(c.moe.topk * c.moe.expertWidth, c.moe.expertWidth * c.moe.sharedExperts) * 2 : 0;
  const ffn = 3 * Math.max(c.intermediate, c.encoderIntermediate ?? 0, moeWidth);
  const perToken = 6 * c.hidden + 2 * qkv + ffn + c.retrievalDim + c.heads * c.headDim;
  return (T * perToken + (allLogits ? T : 1) * c.vocabSize) * F32;
}

export function planMemory(c: HsaConfig, o: MemoryPlanOptions): MemoryPlan {
  const segment = Math.min(o.segment ?? c.inferenceSegment, o.context);
  const matrixBytes = o.matrixBytes ?? F32;
  let weights = 0;
  // vectors, MoE routers and expert biases stay f32; matrices and experts take the storage dtype
  const f32 = (name: string, kind: string) => kind === 'vector' || /mlp\.gate\.(weight|expert_bias)$/.test(name);
  for (const s of parameterSpecs(c)) weights += s.shape.reduce((a, b) => a * b, 1) * (f32(s.name, s.kind) ? F32 : matrixBytes);
  const kv = c.kvHeads * c.headDim * F32;
  const swaCaches = swaWindows(c).reduce((n, w) => n + 2 * w * kv, 0) + c.chunkSize * c.hidden * F32;
  const chunks = Math.floor(o.context / c.chunkSize);
  const chunkBytes = 2 * c.chunkSize * kv;
  const maxBlock = maxBlockChunks(c, o.maxBindingBytes ?? 2 ** 31);
  const inLast = chunks % maxBlock || Math.min(chunks, maxBlock);
  const slack = chunks === 0 ? 0 : Math.min(maxBlock, 2 ** Math.ceil(Math.log2(Math.max(inLast, FIRST_CAP)))) - inLast;
  const chunkMemory = o.hostMemory ? 0 : (chunks + slack) * chunkBytes;
  const hostChunkMemory = o.hostMemory ? chunks * chunkBytes : 0;
  const landmarks = 2 ** Math.ceil(Math.log2(Math.max(chunks, FIRST_CAP))) * c.retrievalDim * F32;
  const activations = activationBytes(c, segment, o.allLogits ?? false);
  const total = weights + swaCaches + chunkMemory + landmarks + activations;
  return { context: o.context, segment, weights, swaCaches, chunkMemory, hostChunkMemory, landmarks, activations, total };
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

/** One line per part of the plan. */
export function formatMemoryPlan(p: MemoryPlan): string {
  const rows: [string, number][] = [
    ['weights', p.weights],
    ['SWA caches', p.swaCaches],
    ['chunk K/V', p.chunkMemory],
    ...(p.hostChunkMemory ? [['chunk K/V in host memory (not in total)', p.hostChunkMemory] as [string, number]] : []),
    ['landmarks', p.landmarks],
    [`activations (segment ${p.segment})`, p.activations],
    ['total', p.total],
  ];
  return rows.map(([k, v]) => `${k.padEnd(28)} ${gib(v).padStart(12)}`).join('\n');
}

/** Throws E_OUT_OF_MEMORY when the plan exceeds the budget, naming the parts and what to change. */
export function checkMemoryPlan(p: MemoryPlan, budgetBytes: number): void {
  if (p.total <= budgetBytes) return;
  const perToken = p.context > 0 ? (p.chunkMemory + p.landmarks) / p.context : 0;
  const fits = perToken > 0 ? Math.max(0, Math.floor((budgetBytes - (p.total - p.chunkMemory - p.landmarks)) / perToken)) : 0;
  throw new OutOfMemoryError(
    `a context of ${p.context} tokens needs ${gib(p.total)} (weights ${gib(p.weights)}, chunk memory ${gib(p.chunkMemory + p.landmarks)}, ` +
      `activations ${gib(p.activations)} for segments of ${p.segment}) but the budget is ${gib(budgetBytes)}; ` +
      `about ${fits} tokens fit — shorten the context, lower the prefill segment, or store matrices as bf16`,
  );
}
