/**
 * Where the shared golden run lives: `<repo>/../shared/golden` (CI keeps the same read-only folder
 * beside the clone). Tests fail, never skip, when it is missing.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** <repo>/../shared/golden, resolved from this file (packages/tensor/src/test-utils). */
export const GOLDEN_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/golden');

export const goldenPath = (name: string): string => resolve(GOLDEN_DIR, name);
