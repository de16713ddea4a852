// The task specifications of hsa-spec.md §7 and what each puts in a prompt: a header, needle
// sentences (with where they go), the question that ends the prompt and the expected answers.
// Texts follow RULER's templates (NVIDIA/RULER, scripts/data/synthetic), so scores compare.
import type { Split } from './corpus.js';
import { check } from './errors.js';
import { drawKey, drawValue, drawVarName, type ValueKind } from './keys.js';
import type { Rng } from './rng.js';

/** Where the filler between needles comes from: RULER's noise sentences or corpus paragraphs. */
export type Haystack = 'noise' | 'text';

/** Needle-in-a-haystack: `pairs` keys with `valuesPerKey` values each; `queries` keys asked. */
export interface NiahTask {
  kind: 'niah';
  /** label of the task in grid rows */
  name: string;
  haystack: Haystack;
  value: ValueKind;
  pairs: number;
  valuesPerKey: number;
  queries: number;
}

/** The passkey task: "The pass key is V. Remember it. V is the pass key." in the haystack. */
export interface PasskeyTask {
  kind: 'passkey';
  name: string;
  haystack: Haystack;
  value: ValueKind;
}

/** Variable tracking: chains `VAR A = 12345`, `VAR B = VAR A`, ...; the first chain is asked. */
export interface VtTask {
  kind: 'vt';
  name: string;
  haystack: Haystack;
  chains: number;
  hops: number;
}

/** Any task this package generates. */
export type TaskSpec = NiahTask | PasskeyTask | VtTask;

/** The presets: RULER's standard configurations, and the paper's MQ-NIAH (2 queries among 6 pairs). */
export const TASKS = {
  passkey: { kind: 'passkey', name: 'passkey', haystack: 'noise', value: 'number' },
  niah_single_1: niah('niah_single_1', 'noise', 'number', 1, 1, 1),
  niah_single_2: niah('niah_single_2', 'text', 'number', 1, 1, 1),
  niah_single_3: niah('niah_single_3', 'text', 'uuid', 1, 1, 1),
  niah_multikey: niah('niah_multikey', 'text', 'number', 4, 1, 1),
  niah_multivalue: niah('niah_multivalue', 'text', 'number', 1, 4, 1),
  niah_multiquery: niah('niah_multiquery', 'text', 'number', 6, 1, 2),
  vt: { kind: 'vt', name: 'vt', haystack: 'noise', chains: 1, hops: 4 },
} as const satisfies Record<string, TaskSpec>;

/** A NIAH task spec (checked): `pairs` keys, `valuesPerKey` values each, `queries` of the keys asked. */
export function niah(name: string, haystack: Haystack, value: ValueKind, pairs: number, valuesPerKey: number, queries: number): NiahTask {
  const count = (n: number, max: number) => Number.isInteger(n) && n >= 1 && n <= max;
  check(count(pairs, 64), `${name}.pairs`, 'an integer in 1..64', pairs);
  check(count(valuesPerKey, 16), `${name}.valuesPerKey`, 'an integer in 1..16', valuesPerKey);
  check(count(queries, pairs), `${name}.queries`, `an integer in 1..pairs (${pairs})`, queries);
  check(value !== 'word' || pairs * valuesPerKey <= 64, `${name}`, 'at most 64 word values', pairs * valuesPerKey);
  return { kind: 'niah', name, haystack, value, pairs, valuesPerKey, queries };
}

/**
 * Where a needle goes in the haystack: `depth` at the requested depth, `any` anywhere, `after`
 * between the requested depth and the end. Needles sharing a `chain` keep their order.
 */
export type Placement = 'depth' | 'any' | 'after';

/** A needle sentence before placement. */
export interface NeedleText {
  text: string;
  key: string;
  value: string;
  queried: boolean;
  place: Placement;
  chain?: number;
}

/** What a task puts in one prompt, before tokenization and placement. */
export interface Content {
  header: string;
  needles: NeedleText[];
  question: string;
  answers: string[];
}

const PLURAL: Record<ValueKind, string> = { number: 'numbers', uuid: 'uuids', word: 'words' };

/** "a", "a and b", "a, b and c". */
function listed(items: readonly string[]): string {
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

function niahContent(t: NiahTask, rng: Rng, split: Split): Content {
  const kind = PLURAL[t.value];
  const keys = new Set<string>();
  for (let p = 0; p < t.pairs; p++) drawKey(rng, split, keys);
  // Word values never repeat a word of a key, or echoing the question would score.
  const values = new Set([...keys].flatMap((k) => k.split('-')));
  const needles: NeedleText[] = [];
  for (const [p, key] of [...keys].entries()) {
    for (let v = 0; v < t.valuesPerKey; v++) {
      const value = drawValue(rng, t.value, values);
      const text = `\nOne of the special magic ${kind} for ${key} is: ${value}.\n`;
      const queried = p < t.queries;
      needles.push({ text, key, value, queried, place: needles.length === 0 ? 'depth' : 'any' });
    }
  }
  // The needles were drawn in query order; shuffle which queried key is named first in the question.
  const asked = rng.shuffle([...keys].slice(0, t.queries));
  const one = asked.length === 1 && t.valuesPerKey === 1;
  const what = one ? `the special magic ${t.value}` : `the special magic ${kind}`;
  const question = one
    ? `What is ${what} for ${asked[0]} mentioned in the provided text? The special magic ${t.value} for ${asked[0]} mentioned in the provided text is`
    : `What are all ${what} for ${listed(asked)} mentioned in the provided text? The special magic ${kind} for ${listed(asked)} mentioned in the provided text are`;
  const header = `Some special magic ${kind} are hidden within the following text. Make sure to memorize it. I will quiz you about the ${kind} afterwards.\n`;
  const answers = asked.flatMap((k) => needles.filter((n) => n.key === k).map((n) => n.value));
  return { header, needles: rng.shuffle(needles).sort((a, b) => rank(a) - rank(b)), question, answers };
}

/** The depth-placed needle first, so placement can find it; the rest keep their shuffled order. */
const rank = (n: NeedleText) => (n.place === 'depth' ? 0 : 1);

function passkeyContent(t: PasskeyTask, rng: Rng): Content {
  const value = drawValue(rng, t.value, new Set());
  return {
    header: 'There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. I will quiz you about the important information there.\n',
    needles: [{ text: `\nThe pass key is ${value}. Remember it. ${value} is the pass key.\n`, key: 'pass key', value, queried: true, place: 'depth' }],
    question: 'What is the pass key? The pass key is',
    answers: [value],
  };
}

function vtContent(t: VtTask, rng: Rng, split: Split): Content {
  const names = new Set<string>();
  const values = new Set<string>();
  const needles: NeedleText[] = [];
  const chains: string[][] = [];
  for (let c = 0; c < t.chains; c++) {
    let value: string;
    do value = String(rng.int(10_000, 99_999));
    while (values.has(value)); // chains need distinct values, or their answers would merge
    values.add(value);
    const chain = Array.from({ length: t.hops + 1 }, () => drawVarName(rng, split, names));
    chain.forEach((name, i) => {
      const text = i === 0 ? `\nVAR ${name} = ${value}\n` : `\nVAR ${name} = VAR ${chain[i - 1]}\n`;
      const place: Placement = c > 0 ? 'any' : i === 0 ? 'depth' : 'after';
      needles.push({ text, key: name, value, queried: c === 0, place, chain: c });
    });
    chains.push(chain);
  }
  const value = needles[0].value;
  const n = chains[0].length;
  return {
    header: 'Memorize and track the chain(s) of variable assignment hidden in the following text.\n',
    needles,
    question: `Question: Find all variables that are assigned the value ${value} in the text above. Answer: According to the chain(s) of variables assigned in the text above, ${n} variables are assigned the value ${value}, they are:`,
    answers: chains[0],
  };
}

/** The header, needles, question and answers of one sample of the task. */
export function taskContent(task: TaskSpec, rng: Rng, split: Split): Content {
  if (task.kind === 'niah') return niahContent(task, rng, split);
  if (task.kind === 'passkey') return passkeyContent(task, rng);
  check(Number.isInteger(task.chains) && task.chains >= 1 && task.chains <= 16, `${task.name}.chains`, 'an integer in 1..16', task.chains);
  check(Number.isInteger(task.hops) && task.hops >= 0 && task.hops <= 64, `${task.name}.hops`, 'an integer in 0..64', task.hops);
  return vtContent(task, rng, split);
}
