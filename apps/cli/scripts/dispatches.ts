/**
 * Kernel runs of one training step (loss + backward) of a recipe's model with random weights, one
 * forward per sequence against one packed forward (TrainForwardOptions.pack), on the CPU backend:
 *   (in the repository root) node --conditions=@hsa/source --import tsx apps/cli/scripts/dispatches.ts RECIPE LENGTH BATCH
 * At this model size a training step on the GPU is bound by host work per dispatch, so the count is
 * the cost that packing removes. Windows 32, every chunk retrieved. Both losses are printed: equal.
 * 2026-11-29, recipes/builtin.json: 16 × 128 tokens 12,566 → 1,077; 4 × 2048 tokens 3,698 → 1,217.
 */
import { readFileSync } from 'node:fs';
import { parseConfig, TrainableHsaModel, type TrainSequence } from '@hsa/model';
import { backward, clearTape, CpuBackend } from '@hsa/tensor';

const [recipePath, lengthArg, batchArg] = process.argv.slice(2);
if (!recipePath || !lengthArg || !batchArg) {
  console.error('usage: dispatches.ts RECIPE LENGTH BATCH');
  process.exit(2);
}
const recipe = JSON.parse(readFileSync(recipePath, 'utf8'));
const [L, B] = [Number(lengthArg), Number(batchArg)];
const be = new CpuBackend();
let runs = 0;
const run = be.run.bind(be);
be.run = (k, p, a) => {
  runs++;
  run(k, p, a);
};
const model = TrainableHsaModel.init(be, parseConfig(recipe.model), { seed: 1 });
const token = (i: number, b: number) => 3 + ((i * 7 + b) % 90);
const batch: TrainSequence[] = Array.from({ length: B }, (_, b) => ({
  ids: Array.from({ length: L }, (_, i) => token(i, b)),
  targets: Array.from({ length: L }, (_, i) => token(i + 1, b)),
}));
for (const pack of [false, true]) {
  runs = 0;
  const loss = model.loss(batch, { pack, slidingWindow: 32, hsaSlidingWindow: 32, chunkTopk: 'all' });
  const forward = runs;
  const value = ((await loss.data()) as Float32Array)[0];
  backward(loss);
  loss.dispose();
  for (const p of model.params) p.zeroGrad();
  clearTape();
  console.log(`${B} × ${L} tokens, ${pack ? 'packed' : 'one forward per sequence'}: loss ${value.toFixed(5)}, kernel runs ${forward} forward, ${runs} forward + backward`);
}
model.dispose();
