/**
 * `hsa logits` (run through the command tree, in-process) on the golden model and golden input_ids:
 * the written logits match the reference run within 1e-4 (reference-model.md §7); bad inputs are typed errors.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SafetensorsFile, serializeSafetensors } from '@hsa/tensor';
import { writeSafetensorsFile } from '@hsa/tensor/node';
import { afterAll, expect, it } from 'vitest';
import { buildProgram } from '../program.js';
import { readInputIds } from './logits.js';

/** <repo>/../shared/golden: the repo root is 3 levels up from apps/cli/src/commands. */
const GOLDEN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/golden');
const gold = SafetensorsFile.parse(readFileSync(join(GOLDEN, 'golden_softmax.safetensors')));
const tmp = mkdtempSync(join(tmpdir(), 'hsa-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('writes logits F32 [1, 512, 512] within 1e-4 of the reference (CPU, I64 ids, model dir layout)', async () => {
  const model = join(tmp, 'golden');
  mkdirSync(model);
  symlinkSync(join(GOLDEN, 'config_softmax.json'), join(model, 'config.json'));
  symlinkSync(join(GOLDEN, 'model.safetensors'), join(model, 'model.safetensors'));
  const ids = gold.int32('input_ids');
  const input = join(tmp, 'ids.safetensors');
  await writeSafetensorsFile(input, { input_ids: { dtype: 'I64', shape: [1, ids.length], data: BigInt64Array.from(ids, (v) => BigInt(v)) } });
  const output = join(tmp, 'logits.safetensors');
  // --matrix-units asks WebGPU for subgroup matrices; the CPU backend takes it and computes the same
  await buildProgram().parseAsync(['node', 'hsa', 'logits', '--model', model, '--input', input, '--output', output, '--backend', 'cpu', '--matrix-units']);
  const out = SafetensorsFile.parse(readFileSync(output));
  expect(out.names).toEqual(['logits']);
  expect(out.entry('logits').dtype).toBe('F32');
  expect(out.entry('logits').shape).toEqual([1, 512, 512]);
  const got = out.float32('logits');
  const want = gold.float32('logits');
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  console.info(`hsa logits (cpu): max abs error ${err.toExponential(2)}`);
  expect(err).toBeLessThan(1e-4);
});

it('input_ids must exist, be I32/I64 and [1, L]', async () => {
  const write = (name: string, t: Parameters<typeof serializeSafetensors>[0]) => {
    const p = join(tmp, name);
    writeFileSync(p, serializeSafetensors(t));
    return p;
  };
  const cases: [string, Parameters<typeof serializeSafetensors>[0], RegExp][] = [
    ['none.safetensors', { ids: { dtype: 'I32', shape: [1, 2], data: new Int32Array(2) } }, /no tensor 'input_ids'/],
    ['f32.safetensors', { input_ids: { dtype: 'F32', shape: [1, 2], data: new Float32Array(2) } }, /F32, expected I32 or I64/],
    ['batch.safetensors', { input_ids: { dtype: 'I32', shape: [2, 2], data: new Int32Array(4) } }, /\[1, L\]/],
  ];
  for (const [name, t, msg] of cases) {
    await expect(readInputIds(write(name, t))).rejects.toThrow(expect.objectContaining({ code: 'E_ARGUMENT', message: expect.stringMatching(msg) }));
  }
});
