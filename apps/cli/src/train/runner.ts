/**
 * The runner of `hsa train`: a recipe (./recipe.ts) trained stage by stage with @hsa/tensor's
 * Trainer (AdamW, global-norm clipping, the NaN guard) over a TrainableHsaModel, one AdamW and one
 * warm-up-then-constant schedule across the stages. Batches are a pure function of (seed, step)
 * (./data.ts), so a run resumed from its checkpoint takes exactly the steps an uninterrupted one does.
 *
 * DIR/checkpoint/train.safetensors (parameters, AdamW moments, optimizer step; metadata: stage,
 * stage step, recipe hash) is written atomically every `checkpointEvery` steps, at the end of each
 * stage and whenever the run stops early (--steps, --max-minutes, the AbortSignal: after the step in
 * flight). DIR/train-log.jsonl gets one line per step, and the held-out loss (fixed windows of the
 * held-out split) every `eval.every` steps and at each stage's end. At the end: DIR/config.json,
 * DIR/model.safetensors and DIR/tokenizer.json, which `hsa generate` and `hsa eval` load.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { type TrainForwardOptions, type TrainSequence, TrainableHsaModel } from '@hsa/model';
import { readModelDir } from '@hsa/model/node';
import { AdamW, ArgumentError, type Backend, type BackendName, createBackend, HsaError, loadCheckpoint, noGrad, Rng, serializeSafetensors, Trainer, warmupConstant } from '@hsa/tensor';
import { matrixUnitsOptions } from '../backend-options.js';
import { nodeCheckpointIO, writeFileAtomic } from '@hsa/tensor/node';
import { fnv1a } from '@hsa/tasks';
import { checkStages, heldOutBatch, heldOutRetrievalBatch, makeBatch, prepareData, type TrainData } from './data.js';
import { appendLog, type EvalLog, type StepLog, truncateLog } from './log.js';
import { parseRecipe, type Recipe, RecipeError, type Stage, stepsBefore, totalSteps } from './recipe.js';

export interface TrainOptions {
  /** WebGPU: f16 subgroup matrices for the chunk attention where the adapter offers them (--matrix-units) */
  matrixUnits?: boolean;
  /** the recipe file */
  recipe: string;
  /** output directory (checkpoint, log, and at the end the model) */
  out: string;
  backend?: BackendName;
  /** continue from DIR's checkpoint (starts afresh when there is none) */
  resume?: boolean;
  /**
   * start from the weights of this model directory (a model `hsa train` wrote with the same model
   * shapes and tokenizer) instead of the recipe's initializer: fine-tuning, or later stages forked
   * from one trained model. A resumed checkpoint takes precedence (it holds the current weights).
   */
  init?: string;
  /** stop, with a checkpoint, once this many steps (of the whole recipe) are done */
  steps?: number;
  /** stop, with a checkpoint, before a step that would end past this many minutes of this invocation */
  maxMinutes?: number;
  signal?: AbortSignal;
  onStep?: (r: StepLog, total: number) => void;
  onEval?: (r: EvalLog) => void;
  /** the step the run starts from (after a resume) and the total */
  onStart?: (step: number, total: number, backend: string) => void;
}

export interface TrainResult {
  /** 'done': every stage trained and the model written; else why it stopped (the checkpoint is current) */
  status: 'done' | 'steps' | 'time' | 'aborted';
  /** steps done in total */
  step: number;
  total: number;
  backend: string;
  /** files written at the end (empty unless done) */
  files: string[];
}

/** Where a run stands: stage index and steps done within it. */
interface Position {
  stage: number;
  step: number;
}

const enc = (s: string) => new TextEncoder().encode(s);

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new RecipeError('(file)', `${path} could not be read as JSON (${(e as Error).message})`);
  }
}

/**
 * The recipe at `path` with its `extends` chain resolved: `"extends": "base.json"` (relative to the
 * file naming it) starts from that recipe (its `data.corpus` still naming the same file), and this
 * file's fields replace the base's: objects merge field by field (so `"model": { "skip_hsa": true }`
 * changes one config field), lists and values replace whole.
 */
async function readRecipeJson(path: string, seen: string[] = []): Promise<unknown> {
  const here = resolve(path);
  const chain = [...seen, here];
  if (seen.includes(here)) throw new RecipeError('extends', `cycle: ${chain.join(' → ')}`);
  const raw = await readJson(path);
  if (typeof raw !== 'object' || raw === null || !('extends' in raw)) return raw;
  const { extends: base, ...own } = raw as Record<string, unknown>;
  if (typeof base !== 'string' || base.length === 0) throw new RecipeError('extends', `must be a file name, got ${JSON.stringify(base)}`);
  const basePath = resolve(dirname(path), base);
  const baseJson = (await readRecipeJson(basePath, chain)) as Record<string, unknown>;
  // the base's corpus path is relative to the base's file: make it relative to this one
  const data = baseJson?.data as Record<string, unknown> | undefined;
  if (typeof data?.corpus === 'string' && !isAbsolute(data.corpus)) {
    baseJson.data = { ...data, corpus: relative(dirname(path), resolve(dirname(basePath), data.corpus)) };
  }
  return mergeJson(baseJson, own);
}

function mergeJson(base: unknown, over: unknown): unknown {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(base) || !isObj(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? mergeJson(base[k], v) : v;
  return out;
}

export async function readRecipe(path: string): Promise<{ recipe: Recipe; hash: string }> {
  const raw = await readRecipeJson(path);
  const recipe = parseRecipe(raw);
  // the identity a checkpoint is checked against: everything but the free-text description
  const { description: _, ...rest } = raw as Record<string, unknown>;
  return { recipe, hash: fnv1a(JSON.stringify(rest)).toString(16) };
}

/** Loads the checkpoint into the model and optimizer; checks it was written by this recipe. */
async function restore(path: string, model: TrainableHsaModel, opt: AdamW, hash: string): Promise<Position> {
  const state = loadCheckpoint(await nodeCheckpointIO.read(path), model.params, opt);
  if (state.config.recipe !== hash) {
    throw new HsaError('E_BAD_CHECKPOINT', `train: ${path} was written by another recipe (hash ${state.config.recipe}, this one ${hash}); use a new --out`);
  }
  await model.syncScalars();
  return { stage: Number(state.config.stage), step: state.step };
}

/** The trainable model of a model directory; its tokenizer must be the recipe's (the same ids mean the same text). */
async function initFrom(dir: string, backend: Backend, recipe: Recipe, data: TrainData): Promise<TrainableHsaModel> {
  let tokenizerJson: unknown;
  try {
    tokenizerJson = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
  } catch (e) {
    throw new ArgumentError(`train: --init ${dir}: tokenizer.json could not be read (${(e as Error).message})`);
  }
  if (JSON.stringify(tokenizerJson) !== JSON.stringify(data.tokenizerJson)) {
    throw new ArgumentError(`train: --init ${dir}: its tokenizer.json is not the one this recipe trains (another corpus, vocabulary or special tokens)`);
  }
  const files = await readModelDir(dir);
  try {
    return TrainableHsaModel.fromFiles(backend, recipe.model, files.files);
  } finally {
    files.close();
  }
}

/** config.json, model.safetensors (f32 or bf16 as the recipe says) and tokenizer.json in `out`. */
async function writeModel(out: string, recipe: Recipe, model: TrainableHsaModel, data: TrainData): Promise<string[]> {
  const tensors = await model.stateDict();
  if (recipe.dtype === 'bf16') for (const [n, t] of Object.entries(tensors)) tensors[n] = { ...t, dtype: 'BF16' };
  const metadata = { format: 'pt', recipe: recipe.name, steps: String(totalSteps(recipe)) };
  await writeFileAtomic(join(out, 'model.safetensors'), serializeSafetensors(tensors, metadata));
  await writeFileAtomic(join(out, 'config.json'), enc(`${JSON.stringify(recipe.modelJson, null, 2)}\n`));
  await writeFileAtomic(join(out, 'tokenizer.json'), enc(JSON.stringify(data.tokenizerJson)));
  return ['config.json', 'model.safetensors', 'tokenizer.json'];
}

export async function runTraining(o: TrainOptions): Promise<TrainResult> {
  const { recipe, hash } = await readRecipe(o.recipe);
  if (o.steps !== undefined && !(Number.isInteger(o.steps) && o.steps >= 0)) throw new ArgumentError(`train: --steps must be a non-negative integer, got ${o.steps}`);
  const data = await prepareData(recipe, dirname(o.recipe));
  checkStages(data, recipe);
  const ckpt = join(o.out, 'checkpoint', 'train.safetensors');
  const hasCkpt = await nodeCheckpointIO.exists(ckpt);
  if (hasCkpt && !o.resume) throw new ArgumentError(`train: ${ckpt} exists; pass --resume to continue that run, or choose another --out`);
  await mkdir(dirname(ckpt), { recursive: true });
  const backend = await createBackend(o.backend ?? 'auto', matrixUnitsOptions(o));
  const model = hasCkpt || o.init === undefined ? TrainableHsaModel.init(backend, recipe.model, { seed: recipe.seed }) : await initFrom(o.init, backend, recipe, data);
  try {
    const { beta1, beta2, eps, weightDecay, lr, warmupSteps } = recipe.optimizer;
    const opt = new AdamW(model.params, { beta1, beta2, eps, weightDecay });
    const at = hasCkpt ? await restore(ckpt, model, opt, hash) : { stage: 0, step: 0 };
    const logPath = join(o.out, 'train-log.jsonl');
    await truncateLog(logPath, stepsBefore(recipe, at.stage) + at.step);
    const total = totalSteps(recipe);
    o.onStart?.(stepsBefore(recipe, at.stage) + at.step, total, backend.name);
    const run = { recipe, hash, data, model, opt, schedule: warmupConstant(lr, warmupSteps), ckpt, logPath, total };
    const stopped = await trainStages(run, at, o);
    if (stopped) return { ...stopped, total, backend: backend.name, files: [] };
    const files = await writeModel(o.out, recipe, model, data);
    return { status: 'done', step: total, total, backend: backend.name, files };
  } finally {
    model.dispose();
    backend.destroy();
  }
}

/** The stage's overrides of the training forward. */
const forwardOptions = (s: Stage): TrainForwardOptions => ({ slidingWindow: s.slidingWindow, hsaSlidingWindow: s.hsaSlidingWindow, chunkTopk: s.chunkTopk, checkpointLayers: s.checkpointLayers });

/** The held-out loss after global step `step` (no gradients), logged. */
async function heldOutEval(run: Run, stage: Stage, i: number, step: number, o: TrainOptions): Promise<void> {
  const lossOf = async (batch: TrainSequence[]) => {
    const t = noGrad(() => run.model.loss(batch, forwardOptions(stage)));
    const v = ((await t.data()) as Float32Array)[0];
    t.dispose();
    return v;
  };
  const loss = await lossOf(heldOutBatch(run.data, stage.seqLen, run.recipe.eval.sequences));
  const line: EvalLog = { kind: 'eval', stage: i, stageName: stage.name, step, loss };
  const retrieval = stage.synthetic.fraction > 0 ? heldOutRetrievalBatch(run.data, stage, run.recipe.eval.sequences) : [];
  if (retrieval.length > 0) line.retrievalLoss = await lossOf(retrieval);
  const { tasks } = stage.synthetic;
  const names = new Set(tasks.map((t) => t.name));
  if (retrieval.length > 1 && names.size > 1) {
    // heldOutRetrievalBatch takes the tasks in turn: sample k is of task k mod tasks.length
    line.retrievalByTask = {};
    for (const name of names) {
      const mine = retrieval.filter((_, k) => tasks[k % tasks.length].name === name);
      if (mine.length > 0) line.retrievalByTask[name] = await lossOf(mine);
    }
  }
  await appendLog(run.logPath, line);
  o.onEval?.(line);
}

interface Run {
  recipe: Recipe;
  hash: string;
  data: TrainData;
  model: TrainableHsaModel;
  opt: AdamW;
  schedule: (step: number) => number;
  ckpt: string;
  logPath: string;
  total: number;
}

/** Trains the stages from `at`; returns why it stopped early, or null when every stage is done. */
async function trainStages(run: Run, at: Position, o: TrainOptions): Promise<{ status: TrainResult['status']; step: number } | null> {
  const { recipe, model } = run;
  const t0 = performance.now();
  let lastMs = 0;
  const stopReason = (global: number): TrainResult['status'] | null => {
    if (o.signal?.aborted) return 'aborted';
    if (o.steps !== undefined && global >= o.steps) return 'steps';
    if (o.maxMinutes !== undefined && performance.now() - t0 + lastMs > o.maxMinutes * 60_000) return 'time';
    return null;
  };
  for (let i = at.stage; i < recipe.stages.length; i++) {
    const stage = recipe.stages[i];
    const offset = stepsBefore(recipe, i);
    const trainer: Trainer<TrainSequence[]> = new Trainer<TrainSequence[]>({
      params: model.params,
      optimizer: run.opt,
      schedule: run.schedule,
      batch: () => makeBatch(run.data, stage, offset + trainer.step),
      loss: (b) => model.loss(b, forwardOptions(stage)),
      // unused: the batches come from (seed, step), not from the Trainer's generator
      rng: new Rng(0),
      tokensPerBatch: stage.batch * stage.seqLen,
      maxGradNorm: recipe.optimizer.clip,
      checkpoint: { io: nodeCheckpointIO, path: run.ckpt, every: 0, config: { stage: i, recipe: run.hash } },
    });
    if (i === at.stage) trainer.step = at.step;
    let saved = trainer.step;
    while (trainer.step < stage.steps) {
      const why = stopReason(offset + trainer.step);
      if (why) {
        if (saved !== trainer.step) await trainer.save();
        return { status: why, step: offset + trainer.step };
      }
      const r = await trainer.trainStep();
      lastMs = r.ms;
      const line: StepLog = { kind: 'train', stage: i, stageName: stage.name, step: offset + r.step, loss: r.loss, lr: r.lr, gradNorm: r.gradNorm, tokensPerSecond: r.tokensPerSecond, ms: r.ms };
      await appendLog(run.logPath, line);
      o.onStep?.(line, run.total);
      const ev = recipe.eval;
      if (ev.sequences > 0 && (trainer.step === stage.steps || (ev.every > 0 && line.step % ev.every === 0))) await heldOutEval(run, stage, i, line.step, o);
      if (recipe.checkpointEvery > 0 && line.step % recipe.checkpointEvery === 0) {
        await trainer.save();
        saved = trainer.step;
      }
    }
    if (saved !== trainer.step) await trainer.save(); // end of the stage
  }
  return null;
}
