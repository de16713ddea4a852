/**
 * The runner on recipes/tiny.json (CPU): the loss falls; a run stopped by its AbortSignal after k
 * steps, rolled back to its previous periodic checkpoint (as if killed before the stop's save) and
 * resumed, has a log and final weights bit-identical to an uninterrupted run; existing checkpoints
 * are not overwritten without --resume, nor resumed under another recipe; --init starts from a model's
 * weights; a stage too short for its
 * retrieval task is a RecipeError before any step.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LogLine, readLog, type StepLog } from './log.js';
import { readRecipe, runTraining, type TrainResult } from './runner.js';

const RECIPE = fileURLToPath(new URL('../../../../recipes/tiny.json', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'hsa-train-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** What must match between runs (tokens/s and ms are timings). */
const curve = (log: LogLine[]) => log.map((l) => (l.kind === 'train' ? { ...l, tokensPerSecond: 0, ms: 0 } : l));
const trainLines = (log: LogLine[]) => log.filter((l): l is StepLog => l.kind === 'train');
/** A variant of the tiny recipe in a file of its own (the corpus path made absolute). */
// biome-ignore lint/suspicious/noExplicitAny: the edits reach into the parsed recipe JSON at any depth
function variant(name: string, edit: (r: Record<string, any>) => void): string {
  const r = JSON.parse(readFileSync(RECIPE, 'utf8'));
  r.data.corpus = resolve(dirname(RECIPE), r.data.corpus);
  edit(r);
  const path = join(root, name);
  writeFileSync(path, JSON.stringify(r));
  return path;
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

let full: TrainResult;
let fullLog: LogLine[];
const fullDir = join(root, 'full');
beforeAll(async () => {
  full = await runTraining({ recipe: RECIPE, out: fullDir, backend: 'cpu' });
  fullLog = await readLog(join(fullDir, 'train-log.jsonl'));
}, 120_000);

describe('hsa train runner (CPU, recipes/tiny.json)', () => {
  it('trains every stage, the loss falls, and writes the model directory', () => {
    expect(full.status).toBe('done');
    const steps = trainLines(fullLog);
    expect(steps.map((r) => r.step)).toEqual(Array.from({ length: full.total }, (_, i) => i + 1));
    expect(new Set(steps.map((r) => r.stageName))).toEqual(new Set(['warmup', 'pretrain']));
    // held-out loss every 4 steps (eval.every) and at the end of each stage (5 and 8)
    const evals = fullLog.filter((l) => l.kind === 'eval');
    expect(evals.map((l) => l.step)).toEqual([4, 5, 8]);
    expect(evals.at(-1)!.loss).toBeLessThan(evals[0].loss);
    // the tiny recipe's stages mix in niah_single_1: each evaluation also has the held-out answers' loss
    for (const e of evals) expect(e.kind === 'eval' && e.retrievalLoss).toBeGreaterThan(0);
    const losses = steps.map((r) => r.loss);
    console.info(`tiny recipe loss: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
    expect(mean(losses.slice(-2))).toBeLessThan(losses[0] - 0.5);
    expect(full.files).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
  });

  it('an interrupted run, resumed, gives the same loss curve and weights bit for bit', async () => {
    const dir = join(root, 'resumed');
    const ckpt = join(dir, 'checkpoint', 'train.safetensors');
    const ac = new AbortController();
    const stopped = await runTraining({
      recipe: RECIPE,
      out: dir,
      backend: 'cpu',
      signal: ac.signal,
      onStep: (r) => {
        // the periodic checkpoint of step 2 (checkpointEvery 2) is on disk when step 3 ends
        if (r.step === 3) {
          copyFileSync(ckpt, `${ckpt}.step2`);
          ac.abort();
        }
      },
    });
    expect(stopped).toMatchObject({ status: 'aborted', step: 3 });
    expect(trainLines(await readLog(join(dir, 'train-log.jsonl')))).toHaveLength(3);
    // as if killed before the stop's checkpoint: back to step 2, the log still holding step 3
    copyFileSync(`${ckpt}.step2`, ckpt);
    const resumed = await runTraining({ recipe: RECIPE, out: dir, backend: 'cpu', resume: true });
    expect(resumed.status).toBe('done');
    expect(curve(await readLog(join(dir, 'train-log.jsonl')))).toEqual(curve(fullLog));
    expect(readFileSync(join(dir, 'model.safetensors')).equals(readFileSync(join(fullDir, 'model.safetensors')))).toBe(true);
  }, 120_000);

  it('refuses an existing checkpoint without resume, and a checkpoint of another recipe', async () => {
    await expect(runTraining({ recipe: RECIPE, out: fullDir, backend: 'cpu' })).rejects.toThrow(/--resume/);
    const other = variant('other.json', (r) => (r.seed += 1));
    await expect(runTraining({ recipe: other, out: fullDir, backend: 'cpu', resume: true })).rejects.toMatchObject({ code: 'E_BAD_CHECKPOINT' });
  });

  it('stops at --steps with a checkpoint, and at --max-minutes; a stage too short for its task or a missing corpus fails before training', async () => {
    const dir = join(root, 'steps');
    expect(await runTraining({ recipe: RECIPE, out: dir, backend: 'cpu', steps: 1 })).toMatchObject({ status: 'steps', step: 1 });
    expect(readFileSync(join(dir, 'checkpoint', 'train.safetensors')).length).toBeGreaterThan(0);
    const short = variant('short.json', (r) => (r.stages[1].seqLen = 64));
    await expect(runTraining({ recipe: short, out: join(root, 'short'), backend: 'cpu' })).rejects.toMatchObject({ code: 'E_BAD_CONFIG', field: 'stages[1].seqLen' });
    const lost = variant('lost.json', (r) => (r.data.corpus = 'no-such-corpus.txt'));
    await expect(runTraining({ recipe: lost, out: join(root, 'lost'), backend: 'cpu' })).rejects.toMatchObject({ code: 'E_BAD_CONFIG', field: 'data.corpus' });
    expect(await runTraining({ recipe: RECIPE, out: join(root, 'time'), backend: 'cpu', maxMinutes: 0 })).toMatchObject({ status: 'time', step: 0 });
  });

  it('--init starts from a trained model: its weights, its better loss; another tokenizer or model shape is refused', async () => {
    // lr 0: the weights stay those of the model directory, so the model written is the same file
    const still = variant('still.json', (r) => {
      r.optimizer.lr = 0;
      r.stages[1].synthetic.tasks = ['niah_single_1', 'induction_keyed'];
    });
    const dir = join(root, 'init');
    expect(await runTraining({ recipe: still, out: dir, backend: 'cpu', init: fullDir })).toMatchObject({ status: 'done' });
    expect(readFileSync(join(dir, 'model.safetensors')).equals(readFileSync(join(fullDir, 'model.safetensors')))).toBe(true);
    const first = (log: LogLine[]) => trainLines(log)[0].loss;
    const log = await readLog(join(dir, 'train-log.jsonl'));
    expect(first(log)).toBeLessThan(first(fullLog) - 0.5);
    // a stage of several tasks logs the held-out answers' loss of each
    const last = log.at(-1)!;
    expect(last.kind === 'eval' && Object.keys(last.retrievalByTask ?? {})).toEqual(['niah_single_1', 'induction_keyed']);
    const foreign = join(root, 'foreign');
    mkdirSync(foreign);
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(fullDir, f), join(foreign, f));
    const tok = JSON.parse(readFileSync(join(fullDir, 'tokenizer.json'), 'utf8'));
    tok.added_tokens[0].content = '<|other|>';
    writeFileSync(join(foreign, 'tokenizer.json'), JSON.stringify(tok));
    await expect(runTraining({ recipe: RECIPE, out: join(root, 'init-foreign'), backend: 'cpu', init: foreign })).rejects.toThrow(/tokenizer\.json is not the one/);
    await expect(runTraining({ recipe: RECIPE, out: join(root, 'init-none'), backend: 'cpu', init: join(root, 'nowhere') })).rejects.toThrow(/could not be read/);
    // the same tokenizer, another model shape: the weights do not fit, named before any step
    const wider = variant('wider.json', (r) => (r.model.intermediate_size += 8));
    await expect(runTraining({ recipe: wider, out: join(root, 'init-wider'), backend: 'cpu', init: fullDir })).rejects.toThrow(/mlp\.(gate|up|down)_proj\.weight/);
  }, 120_000);

  it('a recipe can extend another: objects merge field by field, the rest replaces; cycles are errors', async () => {
    const base = await readRecipe(RECIPE);
    const child = join(root, 'child.json');
    writeFileSync(child, JSON.stringify({ extends: RECIPE, name: 'child', model: { skip_hsa: true }, optimizer: { lr: 0.5 } }));
    const { recipe, hash } = await readRecipe(child);
    expect(recipe.name).toBe('child');
    expect(recipe.model).toEqual({ ...base.recipe.model, skipHsa: true });
    expect(recipe.optimizer).toEqual({ ...base.recipe.optimizer, lr: 0.5 });
    expect(recipe.stages).toEqual(base.recipe.stages);
    // the base's corpus, relative to the base's file, still names the same file from the child's folder
    expect(resolve(root, recipe.corpus!)).toBe(resolve(dirname(RECIPE), base.recipe.corpus!));
    expect(hash).not.toBe(base.hash);
    const same = join(root, 'same.json');
    writeFileSync(same, JSON.stringify({ extends: RECIPE }));
    expect((await readRecipe(same)).recipe).toEqual({ ...base.recipe, corpus: relative(root, resolve(dirname(RECIPE), base.recipe.corpus!)) });
    const a = join(root, 'a.json');
    writeFileSync(a, JSON.stringify({ extends: 'b.json' }));
    writeFileSync(join(root, 'b.json'), JSON.stringify({ extends: 'a.json' }));
    await expect(readRecipe(a)).rejects.toMatchObject({ code: 'E_BAD_CONFIG', field: 'extends' });
  });
});
