/**
 * A random-weight model directory for the browser tests, shaped like recipes/tiny.json (vocab 512,
 * S = 64, top-2, one HSA group) with bf16 matrices like the built-in model, and a byte-level BPE
 * trained on Tiny Shakespeare's training paragraphs: config.json, model.safetensors, tokenizer.json.
 * Weights are seeded uniform (matrices ±0.17, norms 1 ± 0.17), as @hsa/model's random-model tests.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parameterSpecs, parseConfig } from '@hsa/model';
import { loadShakespeare } from '@hsa/tasks/node';
import { type SafetensorsTensorInput, serializeSafetensors } from '@hsa/tensor';
import { trainBpe } from '@hsa/tokenizer';

const readRecipe = (name: string) => JSON.parse(readFileSync(fileURLToPath(new URL(`../../../recipes/${name}.json`, import.meta.url)), 'utf8'));

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The tokenizer.json of the fixture (trained on a slice of the training split; deterministic). */
export function fixtureTokenizerJson(recipeName = 'tiny'): Record<string, unknown> {
  const recipe = readRecipe(recipeName);
  return trainBpe(loadShakespeare().train.slice(0, 400), { vocabSize: recipe.tokenizer.vocabSize, specialTokens: recipe.tokenizer.specialTokens });
}

/** Writes the fixture model into `dir` (the shape of recipes/<recipeName>.json); returns its config.json object. */
export function writeRandomModel(dir: string, seed = 1, recipeName = 'tiny'): Record<string, unknown> {
  const config = { ...readRecipe(recipeName).model };
  const r = mulberry32(seed);
  const u = (a: number) => (2 * r() - 1) * a;
  const tensors: Record<string, SafetensorsTensorInput> = {};
  for (const p of parameterSpecs(parseConfig(config))) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const norm = p.kind === 'vector' && p.name.endsWith('.weight');
    const small = p.name.endsWith('.bias') || p.name.endsWith('pos_decay');
    const data = Float32Array.from({ length: n }, () => (norm ? 1 + u(0.17) : small ? u(0.09) : u(0.17)));
    tensors[p.name] = { dtype: p.kind === 'vector' ? 'F32' : 'BF16', shape: p.shape, data };
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(tensors));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(fixtureTokenizerJson(recipeName)));
  return config;
}
