/**
 * `hsa generate` in-process on a small random model with a BPE tokenizer trained here: the streamed
 * text is the decoded continuation, the ids are those of the library's generateText, --ids works
 * without a tokenizer, and bad prompts are typed errors.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateText, HsaModel, parameterSpecs, parseConfig } from '@hsa/model';
import { CpuBackend, Rng, SafetensorsFile, serializeSafetensors } from '@hsa/tensor';
import { fromTokenizerJson, trainBpe } from '@hsa/tokenizer';
import { afterAll, describe, expect, it } from 'vitest';
import { runGenerate } from './generate.js';

const PROMPT = 'a cat, a dog: 12 foxes jumped over 7 mats and the lazy dog slept on. '.repeat(6);
const TEXT = 'the quick brown fox jumps over the lazy dog and the cat sat on the mat while the dog slept. '.repeat(20);
const tokJson = trainBpe([TEXT], { vocabSize: 300 });
const config = {
  vocab_size: 300, hidden_size: 32, num_attention_heads: 2, num_key_value_heads: 1, num_kv_heads: 1, intermediate_size: 48,
  rms_norm_eps: 1e-6, layer_norm_epsilon: 1e-5, attention_bias: false, sliding_window: 16, num_lower_layers: 1,
  num_upper_groups: 1, num_upper_layers: 1, encoder_layers: 1, chunk_size: 64, chunk_topk: 2, retrieval_dim: 64,
  initializer_range: 0.1, pad_token_id: 0, lmk_token_id: 1, enable_softmax: true,
};
const rng = new Rng(5);
const tensors = Object.fromEntries(
  parameterSpecs(parseConfig(config)).map((p) => {
    const n = p.shape.reduce((a, b) => a * b, 1);
    return [p.name, { dtype: 'F32' as const, shape: p.shape, data: Float32Array.from({ length: n }, () => (p.kind === 'vector' ? 1 : 0.3 * rng.normal())) }];
  }),
);
const dir = mkdtempSync(join(tmpdir(), 'hsa-gen-'));
writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(tensors));
writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokJson));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hsa generate', () => {
  it('streams the decoded continuation of a text prompt; ids equal generateText; retrieval per token', async () => {
    let streamed = '';
    const r = await runGenerate({ model: dir, prompt: PROMPT, maxNewTokens: 12, backend: 'cpu', retrieval: true, write: (s) => (streamed += s), progress: false });
    const tok = fromTokenizerJson(tokJson);
    const model = HsaModel.load(new CpuBackend(), config, [{ label: 'm', file: SafetensorsFile.parse(serializeSafetensors(tensors)) }]);
    const want = await generateText(model, tok.encode(PROMPT), { maxNewTokens: 12 });
    model.dispose();
    expect(r.promptTokens).toBeGreaterThan(64);
    expect(r.ids).toEqual(want.ids);
    expect(streamed).toBe(tok.decode(r.ids));
    expect(r.text).toBe(streamed);
    expect(r.retrieval.map((s) => s.index)).toEqual(r.ids.map((_, i) => i));
    expect(r.retrieval.at(-1)!.layers).toHaveLength(1);
  }, 60_000);

  it('takes --ids without a tokenizer and prints ids', async () => {
    const bare = mkdtempSync(join(tmpdir(), 'hsa-gen-bare-'));
    writeFileSync(join(bare, 'config.json'), JSON.stringify(config));
    writeFileSync(join(bare, 'model.safetensors'), serializeSafetensors(tensors));
    let out = '';
    const r = await runGenerate({ model: bare, ids: '5, 6, 7, 8, 9', maxNewTokens: 4, backend: 'cpu', write: (s) => (out += s), progress: false });
    expect(out).toBe(r.ids.join(','));
    await expect(runGenerate({ model: bare, prompt: 'hi', backend: 'cpu', progress: false })).rejects.toThrow(/tokenizer/);
    rmSync(bare, { recursive: true, force: true });
  });

  it('rejects zero or two prompt sources and non-integer ids', async () => {
    await expect(runGenerate({ model: dir, backend: 'cpu' })).rejects.toMatchObject({ code: 'E_ARGUMENT' });
    await expect(runGenerate({ model: dir, prompt: 'a', ids: '1', backend: 'cpu' })).rejects.toThrow(/exactly one/);
    await expect(runGenerate({ model: dir, ids: '1,x', backend: 'cpu' })).rejects.toThrow(/integers/);
    await expect(runGenerate({ model: dir, ids: '1,2', maxNewTokens: 1e7, memoryBudget: 0.01, backend: 'cpu' })).rejects.toMatchObject({ code: 'E_OUT_OF_MEMORY' });
  });
});
