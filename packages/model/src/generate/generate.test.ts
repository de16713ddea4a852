/**
 * Generation against the full forward: greedy tokens are the argmax of the forward's logits over
 * prompt + generated text (across a chunk boundary, so retrieval is live); seeded sampling is
 * reproducible; a kept state continues exactly (also after an abort); stop tokens / sequences end it;
 * the retrieval hook reports what the forward's retrieval chose at the same position.
 */
import { CpuBackend, type Tensor } from '@hsa/tensor';
import { testBackends } from '@hsa/tensor/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { createDecodeState, prefill } from '../decode.js';
import { HsaModel } from '../model.js';
import { randomCheckpoint, TINY_CONFIG } from '../test-utils/random-model.js';
import { generateText, segments } from './generate.js';
import type { RetrievalStep } from './retrieval.js';

const CONFIG = { ...TINY_CONFIG, enable_softmax: true, eos_token_id: null };
const FILE = randomCheckpoint(CONFIG, 7);
const PROMPT = Array.from({ length: 100 }, (_, t) => (t * 37 + 5) % 96);
/** one character per id, so text and ids map 1:1 */
const CHARS = { createStreamDecoder: () => ({ push: (id: number) => String.fromCharCode(0x21 + id), flush: () => '' }) };

const model = HsaModel.load(new CpuBackend(), CONFIG, [FILE]);
afterAll(() => model.dispose());

async function rows(t: Tensor): Promise<Float32Array> {
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

const argmaxRow = (l: Float32Array, r: number, v: number) => {
  let best = 0;
  for (let i = 1; i < v; i++) if (l[r * v + i] > l[r * v + best]) best = i;
  return best;
};

describe('greedy generation', () => {
  it('each token is the argmax of the full forward at the previous position (through chunk 2 completing)', async () => {
    const r = await generateText(model, PROMPT, { maxNewTokens: 40 });
    expect(r.ids).toHaveLength(40);
    expect(r.finishReason).toBe('length');
    const v = CONFIG.vocab_size;
    const logits = await rows(await model.forward([...PROMPT, ...r.ids.slice(0, -1)]));
    for (let i = 0; i < r.ids.length; i++) expect(r.ids[i]).toBe(argmaxRow(logits, PROMPT.length - 1 + i, v));
  }, 300_000);

  it('prefill with logits "last" gives the last row of "all"', async () => {
    const s1 = createDecodeState(model);
    const s2 = createDecodeState(model);
    const all = await rows(await prefill(PROMPT, s1, { segment: 30 }));
    const last = await rows(await prefill(PROMPT, s2, { segment: 30, logits: 'last' }));
    expect(Array.from(last)).toEqual(Array.from(all.subarray((PROMPT.length - 1) * CONFIG.vocab_size)));
    for (const s of [s1, s2]) s.dispose();
  });

  it('a kept state continues exactly: 12 + 12 tokens equal 24 in one call', async () => {
    const once = await generateText(model, PROMPT, { maxNewTokens: 24 });
    const state = createDecodeState(model);
    const a = await generateText(model, PROMPT, { maxNewTokens: 12, state });
    expect(state.pending).toEqual([a.ids[11]]);
    const b = await generateText(model, [], { maxNewTokens: 12, state });
    state.dispose();
    expect([...a.ids, ...b.ids]).toEqual(once.ids);
  }, 300_000);

  it('an abort after 5 tokens is E_ABORTED, and the state then continues as if uninterrupted', async () => {
    const once = await generateText(model, PROMPT, { maxNewTokens: 10 });
    const state = createDecodeState(model);
    const ac = new AbortController();
    const got: number[] = [];
    const run = async () => {
      for await (const t of model.generate(PROMPT, { maxNewTokens: 10, state, signal: ac.signal })) {
        got.push(t.id);
        if (got.length === 5) ac.abort();
      }
    };
    await expect(run()).rejects.toMatchObject({ code: 'E_ABORTED' });
    const rest = await generateText(model, [], { maxNewTokens: 5, state });
    state.dispose();
    expect([...got, ...rest.ids]).toEqual(once.ids);
  }, 300_000);

  it('an abort before the prefill keeps the prompt pending', async () => {
    const state = createDecodeState(model);
    const ac = new AbortController();
    ac.abort();
    await expect(generateText(model, PROMPT, { state, signal: ac.signal })).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(state.pending).toEqual(PROMPT);
    expect(state.pos).toBe(0);
    state.dispose();
  });
});

describe('streamed prompts', () => {
  it('a 300-token prompt in pieces (1, 37, 100, 62, 100) generates what the array prompt does', async () => {
    const long = Array.from({ length: 300 }, (_, t) => (t * 53 + 9) % 96);
    const want = await generateText(model, long, { maxNewTokens: 12 });
    const cuts = [0, 1, 38, 138, 200, 300];
    const pieces = () => cuts.slice(1).map((c, i) => Int32Array.from(long.slice(cuts[i], c)));
    const seen: number[] = [];
    const got = await generateText(model, { length: 300, pieces }, { maxNewTokens: 12, onPrefill: (d) => seen.push(d) });
    expect(got.ids).toEqual(want.ids);
    expect(got.promptTokens).toBe(300);
    expect(seen.at(-1)).toBe(300);
    await expect(generateText(model, { length: 301, pieces }, { maxNewTokens: 2 })).rejects.toThrow(/not its length/);
    // the pieces are regrouped into whole segments: one prefill pass per 64 tokens, not one per piece
    const bySeg: number[] = [];
    const seg = await generateText(model, { length: 300, pieces }, { maxNewTokens: 12, segment: 64, onPrefill: (d) => bySeg.push(d) });
    // (the lazy upper decoder may add one report inside the last segments, where its plan switches)
    expect(bySeg.filter((d) => d % 64 === 0)).toEqual([64, 128, 192, 256]);
    expect(bySeg.at(-1)).toBe(300);
    expect(bySeg.length).toBeLessThanOrEqual(6);
    expect(seg.ids).toEqual(want.ids);
  }, 300_000);

  it('segments() regroups any pieces into arrays of the segment size, the last one shorter', () => {
    const got = [...segments([[7, 8]], [Int32Array.of(1, 2, 3), [], Uint16Array.of(4), Int32Array.of(5, 6, 9, 10, 11)], 4)].map((a) => Array.from(a));
    expect(got).toEqual([[7, 8, 1, 2], [3, 4, 5, 6], [9, 10, 11]]);
    expect([...segments([], [], 4)]).toEqual([]);
  });
});

describe('sampling', () => {
  it('is reproducible by seed, differs across seeds, and topK 1 is greedy', async () => {
    const o = { maxNewTokens: 16, temperature: 2 };
    const a = await generateText(model, PROMPT, { ...o, seed: 1 });
    const b = await generateText(model, PROMPT, { ...o, seed: 1 });
    const c = await generateText(model, PROMPT, { ...o, seed: 2 });
    expect(b.ids).toEqual(a.ids);
    expect(c.ids).not.toEqual(a.ids);
    const greedy = await generateText(model, PROMPT, { maxNewTokens: 16 });
    expect((await generateText(model, PROMPT, { ...o, seed: 3, topK: 1 })).ids).toEqual(greedy.ids);
    expect((await generateText(model, PROMPT, { ...o, seed: 3, topP: 1e-6 })).ids).toEqual(greedy.ids);
  }, 300_000);

  it('rejects bad options with typed errors', async () => {
    await expect(generateText(model, PROMPT, { topK: 0 })).rejects.toMatchObject({ code: 'E_ARGUMENT' });
    await expect(generateText(model, PROMPT, { topP: 0 })).rejects.toMatchObject({ code: 'E_ARGUMENT' });
    await expect(generateText(model, PROMPT, { temperature: -1 })).rejects.toMatchObject({ code: 'E_ARGUMENT' });
    await expect(generateText(model, PROMPT, { stop: ['x'] })).rejects.toThrow(/tokenizer/);
    await expect(generateText(model, [], {})).rejects.toThrow(/nothing to continue/);
  });
});

describe('stops', () => {
  it('a stop token ends the generation and is yielded', async () => {
    const greedy = await generateText(model, PROMPT, { maxNewTokens: 20 });
    const at = greedy.ids.indexOf(greedy.ids[6]);
    const r = await generateText(model, PROMPT, { maxNewTokens: 20, stopTokens: [greedy.ids[6]] });
    expect(r.finishReason).toBe('stop-token');
    expect(r.ids).toEqual(greedy.ids.slice(0, at + 1));
  }, 300_000);

  it('a stop sequence ends it; neither it nor its start is ever streamed', async () => {
    const greedy = await generateText(model, PROMPT, { maxNewTokens: 20, tokenizer: CHARS });
    const stop = greedy.text.slice(8, 11);
    const first = greedy.text.indexOf(stop);
    const streamed: string[] = [];
    const it = model.generate(PROMPT, { maxNewTokens: 20, tokenizer: CHARS, stop: [stop, '\u0000never'] });
    let r = await it.next();
    while (!r.done) {
      streamed.push(r.value.text);
      r = await it.next();
    }
    expect(r.value.finishReason).toBe('stop-sequence');
    expect(r.value.text).toBe(greedy.text.slice(0, first));
    expect(streamed.join('')).toBe(r.value.text);
  }, 300_000);
});

describe('retrieval hook', () => {
  it('reports for each token the chunks and weights the forward chose at that position', async () => {
    const steps: RetrievalStep[] = [];
    const r = await generateText(model, PROMPT, { maxNewTokens: 30, onRetrieval: (s) => steps.push(s) });
    expect(steps.map((s) => s.position)).toEqual(r.ids.map((_, i) => PROMPT.length - 1 + i));
    const held = new Map<string, Tensor>();
    const fwd = await model.forward([...PROMPT, ...r.ids.slice(0, -1)], {
      record: (name, t) => (name.startsWith('retrieval') ? held.set(name, t) : t.dispose()),
    });
    fwd.dispose();
    const seen = new Map<string, ArrayLike<number>>();
    for (const [name, t] of held) seen.set(name, await rows(t));
    for (const s of steps) {
      expect(s.layers).toHaveLength(CONFIG.num_upper_groups);
      for (const l of s.layers) {
        const n = l.kvHeads * l.k;
        const want = Array.from(seen.get(`retrieval${l.group}.indices`)!).slice(s.position * n, (s.position + 1) * n);
        expect(Array.from(l.chunks)).toEqual(want);
        const visible = Math.floor((s.position + 1) / CONFIG.chunk_size);
        for (const c of l.chunks) expect(c).toBeLessThan(visible);
        const sum = l.weights.reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(l.kvHeads, 4);
      }
    }
  }, 300_000);
});

describe.each(testBackends().filter(([name]) => name !== 'cpu'))('%s', (_name, make) => {
  it('greedy generation gives the CPU tokens', async () => {
    const gpu = HsaModel.load(await make(), CONFIG, [FILE]);
    try {
      const want = await generateText(model, PROMPT, { maxNewTokens: 8 });
      expect((await generateText(gpu, PROMPT, { maxNewTokens: 8 })).ids).toEqual(want.ids);
    } finally {
      gpu.dispose();
    }
  }, 240_000);
});
