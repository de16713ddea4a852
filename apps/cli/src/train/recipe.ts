/**
 * The training recipe (`hsa train --recipe FILE`): a JSON file holding the model's config.json
 * fields, the tokenizer, the seed, the optimizer and the stages (hsa-spec.md §5: a warm-up with a
 * short window and dense retrieval, then a larger window and sparse top-k), each with its own data
 * mix of synthetic retrieval samples (@hsa/tasks, training keys and paragraphs) and natural text.
 * `parseRecipe` checks every field and throws a {@link RecipeError} naming the first bad one;
 * unknown fields are errors too, so a typo never silently falls back to a default.
 */
import { type HsaConfig, ModelConfigError, parseConfig } from '@hsa/model';
import { HsaError } from '@hsa/tensor';
import { TASKS, type TaskSpec } from '@hsa/tasks';

/** A recipe field that is missing, of the wrong type or out of range (code E_BAD_CONFIG). */
export class RecipeError extends HsaError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('E_BAD_CONFIG', `recipe: ${field}: ${message}`);
  }
}

/**
 * The training-only retrieval task `copy`: a span of random tokens, other text, then the same span
 * again, so every token of the repeat is predictable only by looking the span up beyond the sliding
 * window (hundreds of retrieval targets per sequence, where a needle task has one answer).
 */
export const COPY_TASK = { kind: 'copy', name: 'copy', span: 'random' } as const;
/** `copy_text`: the same with a span of training text (the paper's "self-copy" warm-up, x ++ x, with text between). */
export const COPY_TEXT_TASK = { kind: 'copy', name: 'copy_text', span: 'text' } as const;
/**
 * `induction`: short copy episodes packed into the sequence (a span of 8–32 random printable
 * characters, a random gap with a log-uniform length in [0, seqLen/2], the span again, then the next).
 * Most repeats are near, where attention sees few distractors and learns to copy quickly; the rest lie
 * beyond the sliding window, where only retrieval reaches them.
 */
export const INDUCTION_TASK = { kind: 'copy', name: 'induction', span: 'episodes', distance: 'mixed' } as const;
/** `induction_near`: the same with spans of 8–16 and gaps of 0–8 (every repeat within 40 tokens: the first lesson). */
export const INDUCTION_NEAR_TASK = { kind: 'copy', name: 'induction_near', span: 'episodes', distance: 'near' } as const;
/** `induction_far`: spans of 16–32 and gaps of 64–192 (every repeat beyond a 64-token window, its first copy one to three 64-token chunks back). */
export const INDUCTION_FAR_TASK = { kind: 'copy', name: 'induction_far', span: 'episodes', distance: 'far' } as const;
/**
 * `induction_keyed`: the far episodes with a key: [key, span of 8–16 characters], a gap of 64–192,
 * [key, span] again, every key once per sequence (64 multi-character tokens), so the first copy's
 * chunk is the one that holds the key and the repeat is predictable from the key on.
 */
export const INDUCTION_KEYED_TASK = { kind: 'copy', name: 'induction_keyed', span: 'episodes', distance: 'keyed' } as const;
/**
 * `self_copy`: x ++ x, the sequence's first half (random printable characters) repeated, every token of
 * the second half half a sequence after its source. With seqLen = 2·S·m the halves are chunk-aligned:
 * a query in chunk c finds its source in chunk c − m at the same offset, and at seqLen 2·S it sees one
 * completed chunk, the source (no retrieval choice): the densest signal for HSA's lookup in a chunk,
 * the paper's "self-copy" warm-up without text between.
 */
export const SELF_COPY_TASK = { kind: 'copy', name: 'self_copy', span: 'self' } as const;
export type CopyTask =
  | typeof COPY_TASK
  | typeof COPY_TEXT_TASK
  | typeof INDUCTION_TASK
  | typeof INDUCTION_NEAR_TASK
  | typeof INDUCTION_FAR_TASK
  | typeof INDUCTION_KEYED_TASK
  | typeof SELF_COPY_TASK;
export type TrainTask = TaskSpec | CopyTask;
const COPY_TASKS: Record<string, CopyTask> = {
  copy: COPY_TASK,
  copy_text: COPY_TEXT_TASK,
  induction: INDUCTION_TASK,
  induction_near: INDUCTION_NEAR_TASK,
  induction_far: INDUCTION_FAR_TASK,
  induction_keyed: INDUCTION_KEYED_TASK,
  self_copy: SELF_COPY_TASK,
};

/** Which targets of a synthetic sample carry loss: every token, or only the answer's. */
export type SyntheticLoss = 'all' | 'answer';

export interface SyntheticMix {
  /** fraction of the batch's sequences that are retrieval samples, in [0, 1] */
  fraction: number;
  /** @hsa/tasks TASKS names, `copy`, `copy_text`, `induction`, `induction_near`, `induction_far`, `induction_keyed` or `self_copy`, drawn uniformly */
  tasks: TrainTask[];
  loss: SyntheticLoss;
  /**
   * Sequence-balanced loss: each sequence's mean loss counts with a weight (text windows 1, retrieval
   * samples this), instead of every valid target counting once. With loss "answer", weight 1 makes a
   * retrieval answer count as much as a whole text window. Undefined: the token-weighted mean.
   */
  weight?: number;
}

export interface Stage {
  name: string;
  steps: number;
  /** tokens per sequence (inputs; targets are the next tokens) */
  seqLen: number;
  /** sequences per step */
  batch: number;
  slidingWindow?: number;
  hsaSlidingWindow?: number;
  chunkTopk?: number | 'all';
  checkpointLayers: boolean;
  synthetic: SyntheticMix;
}

export interface Recipe {
  name: string;
  seed: number;
  /** config.json as written in the recipe (all fields explicit) */
  modelJson: Record<string, unknown>;
  model: HsaConfig;
  tokenizer: { vocabSize: number; specialTokens: string[] };
  /** corpus text file, relative to the recipe file; undefined: Tiny Shakespeare shipped with @hsa/tasks */
  corpus?: string;
  heldOutPercent: number;
  optimizer: { lr: number; warmupSteps: number; beta1: number; beta2: number; eps: number; weightDecay: number; clip: number };
  checkpointEvery: number;
  /** held-out loss: on `sequences` fixed windows of the held-out split, every `every` steps and at the end of each stage (0 sequences: never) */
  eval: { every: number; sequences: number };
  /** dtype of the released model.safetensors */
  dtype: 'f32' | 'bf16';
  stages: Stage[];
}

type Json = Record<string, unknown>;

function obj(v: unknown, field: string, keys: readonly string[]): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RecipeError(field, `must be a JSON object, got ${JSON.stringify(v)}`);
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw new RecipeError(`${field}.${k}`.replace(/^\(root\)\./, ''), `unknown field (known: ${keys.join(', ')})`);
  return v as Json;
}

function num(j: Json, k: string, field: string, o: { min?: number; max?: number; int?: boolean; dflt?: number } = {}): number {
  const v = j[k] ?? o.dflt;
  const f = `${field}${k}`;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RecipeError(f, `must be a number, got ${JSON.stringify(v)}`);
  if (o.int && !Number.isInteger(v)) throw new RecipeError(f, `must be an integer, got ${v}`);
  if (o.min !== undefined && v < o.min) throw new RecipeError(f, `must be ≥ ${o.min}, got ${v}`);
  if (o.max !== undefined && v > o.max) throw new RecipeError(f, `must be ≤ ${o.max}, got ${v}`);
  return v;
}

function str(j: Json, k: string, field: string, dflt?: string): string {
  const v = j[k] ?? dflt;
  if (typeof v !== 'string' || v.length === 0) throw new RecipeError(`${field}${k}`, `must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function optInt(j: Json, k: string, field: string, min: number): number | undefined {
  return j[k] === undefined ? undefined : num(j, k, field, { int: true, min });
}

function model(v: unknown): { modelJson: Json; model: HsaConfig } {
  const modelJson = obj(v, 'model', Object.keys((v as Json) ?? {}));
  try {
    return { modelJson, model: parseConfig(modelJson) };
  } catch (e) {
    if (e instanceof ModelConfigError) throw new RecipeError(`model.${e.field}`, e.message.replace(/^config\.json: [^:]*: /, ''));
    throw e;
  }
}

function synthetic(v: unknown, f: string): SyntheticMix {
  if (v === undefined) return { fraction: 0, tasks: [], loss: 'all' };
  const j = obj(v, f, ['fraction', 'tasks', 'loss', 'weight']);
  const fraction = num(j, 'fraction', `${f}.`, { min: 0, max: 1 });
  const names = j.tasks ?? [];
  if (!Array.isArray(names)) throw new RecipeError(`${f}.tasks`, `must be a list of task names, got ${JSON.stringify(names)}`);
  const tasks = names.map((n, i) => {
    const t = COPY_TASKS[n as string] ?? (TASKS as Record<string, TaskSpec>)[n as string];
    if (!t) throw new RecipeError(`${f}.tasks[${i}]`, `unknown task ${JSON.stringify(n)} (known: ${[...Object.keys(TASKS), ...Object.keys(COPY_TASKS)].join(', ')})`);
    return t;
  });
  if (fraction > 0 && tasks.length === 0) throw new RecipeError(`${f}.tasks`, `must name at least one task when fraction is ${fraction}`);
  const loss = j.loss ?? 'all';
  if (loss !== 'all' && loss !== 'answer') throw new RecipeError(`${f}.loss`, `must be "all" or "answer", got ${JSON.stringify(loss)}`);
  const weight = j.weight === undefined ? undefined : num(j, 'weight', `${f}.`, { min: 0 });
  return { fraction, tasks, loss, weight };
}

const STAGE_KEYS = ['name', 'steps', 'seqLen', 'batch', 'slidingWindow', 'hsaSlidingWindow', 'chunkTopk', 'checkpointLayers', 'synthetic'];

function stage(v: unknown, i: number): Stage {
  const f = `stages[${i}]`;
  const j = obj(v, f, STAGE_KEYS);
  const p = `${f}.`;
  const k = j.chunkTopk;
  if (k !== undefined && k !== 'all' && !(Number.isInteger(k) && (k as number) >= 1)) {
    throw new RecipeError(`${p}chunkTopk`, `must be a positive integer or "all", got ${JSON.stringify(k)}`);
  }
  // training context ≤ 4K tokens (issue 8); longer contexts are for evaluation
  const seqLen = num(j, 'seqLen', p, { int: true, min: 2, max: 4096 });
  const cl = j.checkpointLayers ?? false;
  if (typeof cl !== 'boolean') throw new RecipeError(`${p}checkpointLayers`, `must be true or false, got ${JSON.stringify(cl)}`);
  return {
    name: str(j, 'name', p, `stage${i + 1}`),
    steps: num(j, 'steps', p, { int: true, min: 1 }),
    seqLen,
    batch: num(j, 'batch', p, { int: true, min: 1 }),
    slidingWindow: optInt(j, 'slidingWindow', p, 1),
    hsaSlidingWindow: optInt(j, 'hsaSlidingWindow', p, 1),
    chunkTopk: k as number | 'all' | undefined,
    checkpointLayers: cl,
    synthetic: synthetic(j.synthetic, `${p}synthetic`),
  };
}

const ROOT_KEYS = ['name', 'description', 'seed', 'model', 'tokenizer', 'data', 'optimizer', 'checkpointEvery', 'eval', 'dtype', 'stages'];

/** Validates a parsed recipe JSON; throws RecipeError naming the first bad field. */
export function parseRecipe(json: unknown): Recipe {
  const j = obj(json, '(root)', ROOT_KEYS);
  const { modelJson, model: m } = model(j.model);
  const t = obj(j.tokenizer, 'tokenizer', ['vocabSize', 'specialTokens']);
  const specialTokens = (t.specialTokens ?? ['<|pad|>', '<|lmk|>', '<|endoftext|>']) as string[];
  if (!Array.isArray(specialTokens) || specialTokens.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new RecipeError('tokenizer.specialTokens', `must be a list of non-empty strings, got ${JSON.stringify(t.specialTokens)}`);
  }
  const vocabSize = num(t, 'vocabSize', 'tokenizer.', { int: true, min: specialTokens.length + 256 });
  if (vocabSize !== m.vocabSize) throw new RecipeError('tokenizer.vocabSize', `${vocabSize} must equal model.vocab_size = ${m.vocabSize}`);
  const d = obj(j.data ?? {}, 'data', ['corpus', 'heldOutPercent']);
  const o = obj(j.optimizer, 'optimizer', ['lr', 'warmupSteps', 'beta1', 'beta2', 'eps', 'weightDecay', 'clip']);
  const optimizer = {
    lr: num(o, 'lr', 'optimizer.', { min: 0 }),
    warmupSteps: num(o, 'warmupSteps', 'optimizer.', { int: true, min: 0, dflt: 0 }),
    beta1: num(o, 'beta1', 'optimizer.', { min: 0, max: 0.999999, dflt: 0.9 }),
    beta2: num(o, 'beta2', 'optimizer.', { min: 0, max: 0.999999, dflt: 0.95 }),
    eps: num(o, 'eps', 'optimizer.', { min: 0, dflt: 1e-8 }),
    weightDecay: num(o, 'weightDecay', 'optimizer.', { min: 0, dflt: 0.01 }),
    clip: num(o, 'clip', 'optimizer.', { min: 0, dflt: 1 }),
  };
  const ev = obj(j.eval ?? {}, 'eval', ['every', 'sequences']);
  const dtype = j.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'bf16') throw new RecipeError('dtype', `must be "f32" or "bf16", got ${JSON.stringify(dtype)}`);
  if (!Array.isArray(j.stages) || j.stages.length === 0) throw new RecipeError('stages', `must be a non-empty list, got ${JSON.stringify(j.stages)}`);
  return {
    name: str(j, 'name', ''),
    seed: num(j, 'seed', '', { int: true, min: 0 }),
    modelJson,
    model: m,
    tokenizer: { vocabSize, specialTokens },
    corpus: d.corpus === undefined ? undefined : str(d, 'corpus', 'data.'),
    heldOutPercent: num(d, 'heldOutPercent', 'data.', { int: true, min: 1, max: 99, dflt: 10 }),
    optimizer,
    checkpointEvery: num(j, 'checkpointEvery', '', { int: true, min: 0, dflt: 100 }),
    eval: { every: num(ev, 'every', 'eval.', { int: true, min: 0, dflt: 0 }), sequences: num(ev, 'sequences', 'eval.', { int: true, min: 0, dflt: 0 }) },
    dtype,
    stages: j.stages.map((s, i) => stage(s, i)),
  };
}

/** Steps of all stages before stage `i`. */
export const stepsBefore = (r: Recipe, i: number): number => r.stages.slice(0, i).reduce((s, x) => s + x.steps, 0);

/** Steps of the whole recipe. */
export const totalSteps = (r: Recipe): number => stepsBefore(r, r.stages.length);
