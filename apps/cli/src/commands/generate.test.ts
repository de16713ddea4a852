/**
 * `hsa generate` in-process on a small random model with a BPE tokenizer trained here: the streamed
 * text is the decoded continuation, the ids are those of the library's generateText, --ids works
 * without a tokenizer, and bad prompts are typed errors.
 */
import { rmSync } from 'node:fs';
import { generateText, HsaModel } from '@hsa/model';
import { CpuBackend, SafetensorsFile, serializeSafetensors } from '@hsa/tensor';
import { fromTokenizerJson } from '@hsa/tokenizer';
import { afterAll, describe, expect, it } from 'vitest';
import { TINY_CONFIG, tinyModelDir, tinyTensors, tinyTokenizerJson } from '../test-utils/tiny-model.js';
import { runGenerate } from './generate.js';

const PROMPT = 'a cat, a dog: 12 foxes jumped over 7 mats and the lazy dog slept on. '.repeat(6);
const dir = tinyModelDir();
const bare = tinyModelDir({ tokenizer: false });
afterAll(() => {
  for (const d of [dir, bare]) rmSync(d, { recursive: true, force: true });
});

describe('hsa generate', () => {
  it('streams the decoded continuation of a text prompt; ids equal generateText; retrieval per token', async () => {
    let streamed = '';
    const r = await runGenerate({ model: dir, prompt: PROMPT, maxNewTokens: 12, backend: 'cpu', retrieval: true, write: (s) => (streamed += s), progress: false });
    const tok = fromTokenizerJson(tinyTokenizerJson());
    const model = HsaModel.load(new CpuBackend(), TINY_CONFIG, [{ label: 'm', file: SafetensorsFile.parse(serializeSafetensors(tinyTensors())) }]);
    const want = await generateText(model, tok.encode(PROMPT), { maxNewTokens: 12 });
    model.dispose();
    expect(r.promptTokens).toBeGreaterThan(64);
    expect(r.ids).toEqual(want.ids);
    expect(streamed).toBe(tok.decode(r.ids));
    expect(r.text).toBe(streamed);
    expect(r.retrieval.map((s) => s.index)).toEqual(r.ids.map((_, i) => i));
    expect(r.retrieval.at(-1)!.layers).toHaveLength(1);
    const host = await runGenerate({ model: dir, prompt: PROMPT, maxNewTokens: 12, backend: 'cpu', hostMemory: true, write: () => {}, progress: false });
    expect(host.ids).toEqual(r.ids);
  }, 300_000);

  it('takes --ids without a tokenizer and prints ids', async () => {
    let out = '';
    const r = await runGenerate({ model: bare, ids: '5, 6, 7, 8, 9', maxNewTokens: 4, backend: 'cpu', write: (s) => (out += s), progress: false });
    expect(out).toBe(r.ids.join(','));
    await expect(runGenerate({ model: bare, prompt: 'hi', backend: 'cpu', progress: false })).rejects.toThrow(/tokenizer/);
  });

  it('rejects zero or two prompt sources, non-integer ids, and a plan over the memory budget', async () => {
    await expect(runGenerate({ model: dir, backend: 'cpu' })).rejects.toMatchObject({ code: 'E_ARGUMENT' });
    await expect(runGenerate({ model: dir, prompt: 'a', ids: '1', backend: 'cpu' })).rejects.toThrow(/exactly one/);
    await expect(runGenerate({ model: dir, ids: '1,x', backend: 'cpu' })).rejects.toThrow(/integers/);
    await expect(runGenerate({ model: dir, ids: '1,2', maxNewTokens: 1e7, memoryBudget: 0.01, backend: 'cpu' })).rejects.toMatchObject({ code: 'E_OUT_OF_MEMORY' });
  });
});
