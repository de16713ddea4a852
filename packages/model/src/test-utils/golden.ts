/**
 * The golden reference run (reference-model.md §7) for the model tests: `<repo>/../shared/golden`,
 * resolved from this file (packages/model/src/test-utils). Tests fail, never skip, when it is missing.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Backend, SafetensorsFile } from '@hsa/tensor';
import { HsaModel } from '../model.js';

export const GOLDEN_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/golden');
export const goldenPath = (name: string): string => resolve(GOLDEN_DIR, name);

export const goldenConfigJson = (): unknown => JSON.parse(readFileSync(goldenPath('config_softmax.json'), 'utf8'));

let gold: SafetensorsFile | null = null;
/** golden_softmax.safetensors (input_ids, logits, intermediates). */
export function goldenRun(): SafetensorsFile {
  gold ??= SafetensorsFile.parse(readFileSync(goldenPath('golden_softmax.safetensors')));
  return gold;
}

/** The golden model on a backend. */
export function goldenModel(backend: Backend): HsaModel {
  const label = goldenPath('model.safetensors');
  return HsaModel.load(backend, goldenConfigJson(), [{ label, file: SafetensorsFile.parse(readFileSync(label)) }]);
}

/** max |a − b| (NaN counts as ∞). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = a.length === b.length ? 0 : Number.POSITIVE_INFINITY;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    m = Math.max(m, Number.isNaN(d) ? Number.POSITIVE_INFINITY : d);
  }
  return m;
}
