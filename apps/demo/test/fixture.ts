/**
 * A random-weight model directory for the browser tests, shaped like recipes/tiny.json (vocab 512,
 * S = 64, top-2, one HSA group) with bf16 matrices like the built-in model, and a byte-level BPE
 * trained on Tiny Shakespeare's training paragraphs: config.json, model.safetensors, tokenizer.json.
 * Weights are seeded uniform (matrices ±0.17, norms 1 ± 0.17), as @hsa/model's random-model tests.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomTensors } from '@hsa/model/test-utils';
import { loadShakespeare } from '@hsa/tasks/node';
import { serializeSafetensors } from '@hsa/tensor';
import { trainBpe } from '@hsa/tokenizer';

const readRecipe = (name: string) => JSON.parse(readFileSync(fileURLToPath(new URL(`../../../recipes/${name}.json`, import.meta.url)), 'utf8'));

/** The tokenizer.json of the fixture (trained on a slice of the training split; deterministic). */
export function fixtureTokenizerJson(recipeName = 'tiny'): Record<string, unknown> {
  const recipe = readRecipe(recipeName);
  return trainBpe(loadShakespeare().train.slice(0, 400), { vocabSize: recipe.tokenizer.vocabSize, specialTokens: recipe.tokenizer.specialTokens });
}

/** Writes the fixture model into `dir` (the shape of recipes/<recipeName>.json); returns its config.json object. */
export function writeRandomModel(dir: string, seed = 1, recipeName = 'tiny'): Record<string, unknown> {
  const config = { ...readRecipe(recipeName).model };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(randomTensors(config, seed, 'BF16')));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(fixtureTokenizerJson(recipeName)));
  return config;
}
