// Tokenizer encode throughput on the CPU: @hsa/tokenizer against js-tiktoken and gpt-tokenizer
// (cl100k_base) and @huggingface/tokenizers (Llama-3), all in this process, alternating sides each
// round over the same 10 MB of mixed text; the median round is reported. Peak memory (resident set)
// is measured per side in a child process that loads it and encodes the text once.
// Run: node --conditions=@hsa/source --import tsx bench/tokenizer.ts --json bench/results/tokenizer.json
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { fromTiktokenRanks, fromTokenizerJson } from '../packages/tokenizer/src/index.js';
import * as refs from '../packages/tokenizer/src/test-utils/refs.js';
import { mixedText } from './tokenizer-corpus.js';

type Encode = (text: string) => ArrayLike<number>;
interface Side {
  name: string;
  group: string;
  load: () => Encode;
}

const SIDES: Side[] = [
  { name: 'hsa cl100k_base', group: 'cl100k_base', load: () => { const t = fromTiktokenRanks('cl100k_base', refs.rankFileText('cl100k_base')); return (s) => t.encode(s); } },
  { name: 'js-tiktoken cl100k_base', group: 'cl100k_base', load: () => refs.jsTiktokenEncode('cl100k_base') },
  { name: 'gpt-tokenizer cl100k_base', group: 'cl100k_base', load: () => refs.gptTokenizerEncode },
  { name: 'hsa llama3', group: 'llama3', load: () => { const t = fromTokenizerJson(refs.tokenizerJsonText('llama3')); return (s) => t.encode(s); } },
  { name: '@huggingface/tokenizers llama3', group: 'llama3', load: () => { const t = refs.hfReference('llama3'); return (s) => t.encode(s).ids; } },
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Child mode: load one side, encode once, print peak RSS in bytes. */
function childMain(name: string, mb: number): void {
  const text = mixedText(mb * 1e6);
  const before = process.resourceUsage().maxRSS * 1024;
  const enc = SIDES.find((s) => s.name === name)!.load();
  enc(text);
  console.log(JSON.stringify({ peakRss: process.resourceUsage().maxRSS * 1024, baseRss: before }));
}

function peakRss(name: string, mb: number): { peakRss: number; baseRss: number } {
  const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1], '--child', name, '--mb', String(mb)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

function main(): void {
  const mb = Number(arg('--mb') ?? 10);
  const rounds = Number(arg('--rounds') ?? 5);
  const text = mixedText(mb * 1e6);
  const bytes = Buffer.byteLength(text);
  const encoders = SIDES.map((s) => s.load());
  const counts = encoders.map((e) => e(text).length); // warm-up round (not timed), also checks sizes
  const times: number[][] = SIDES.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? SIDES.map((_, i) => i) : SIDES.map((_, i) => SIDES.length - 1 - i);
    for (const i of order) {
      const t0 = performance.now();
      encoders[i](text);
      times[i].push((performance.now() - t0) / 1000);
    }
  }
  const results = SIDES.map((s, i) => {
    const mem = process.argv.includes('--no-memory') ? null : peakRss(s.name, mb);
    return { side: s.name, group: s.group, tokens: counts[i], mbPerS: bytes / 1e6 / median(times[i]), secondsPerRound: times[i], peakRssMB: mem && mem.peakRss / 2 ** 20, baseRssMB: mem && mem.baseRss / 2 ** 20 };
  });
  const by = (n: string) => results.find((r) => r.side === n)!.mbPerS;
  const ratios = {
    cl100k_vs_js_tiktoken: by('hsa cl100k_base') / by('js-tiktoken cl100k_base'),
    cl100k_vs_gpt_tokenizer: by('hsa cl100k_base') / by('gpt-tokenizer cl100k_base'),
    llama3_vs_huggingface: by('hsa llama3') / by('@huggingface/tokenizers llama3'),
  };
  for (const r of results) console.log(`${r.side.padEnd(34)} ${r.mbPerS.toFixed(2).padStart(8)} MB/s  ${r.tokens} tokens  peak RSS ${r.peakRssMB?.toFixed(0) ?? '-'} MiB (before loading: ${r.baseRssMB?.toFixed(0) ?? '-'})`);
  console.log(ratios);
  const json = arg('--json');
  if (json !== undefined) {
    const meta = { node: process.version, cpu: os.cpus()[0]?.model, cores: os.cpus().length, textBytes: bytes, rounds, date: new Date().toISOString() };
    fs.writeFileSync(json, `${JSON.stringify({ meta, results, ratios }, null, 2)}\n`);
  }
}

const child = arg('--child');
if (child !== undefined) childMain(child, Number(arg('--mb') ?? 10));
else main();
