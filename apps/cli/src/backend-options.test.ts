/** `--matrix-units`: every command that runs a model takes it, and it asks the backend for subgroup matrices only when given. */
import { expect, it } from 'vitest';
import { MATRIX_UNITS_FLAG, matrixUnitsOptions } from './backend-options.js';
import { buildProgram } from './program.js';

it('maps the flag to the WebGPU backend option, nothing without it', () => {
  expect(matrixUnitsOptions({ matrixUnits: true })).toEqual({ subgroupMatrix: true });
  expect(matrixUnitsOptions({})).toEqual({});
  expect(matrixUnitsOptions({ matrixUnits: false })).toEqual({});
});

it('is an option of needle, generate, logits, eval and train', () => {
  const program = buildProgram();
  for (const name of ['needle', 'generate', 'logits', 'eval', 'train']) {
    const cmd = program.commands.find((c) => c.name() === name);
    expect(cmd?.options.some((o) => o.long === MATRIX_UNITS_FLAG), name).toBe(true);
  }
});
