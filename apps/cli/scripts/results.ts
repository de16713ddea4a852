/**
 * Pools the per-depth eval JSONs of recipes/device.sh into one markdown table (docs/results.md):
 *   (in apps/cli) node --conditions=@hsa/source --import tsx scripts/results.ts DIR [DIR ...]
 * DIR holds `eval-<task>-<length>-d<depth>….json` files (`hsa eval --json`) of one model, named after
 * it; a file a time limit cut short (`complete: false`) counts with the samples it answered. A cell
 * pools every depth of a (task, length): accuracy over all samples with its Wilson 95% interval, the
 * number of samples, the needle-chunk retrieval rate and the prefill tokens/s.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { wilson } from '@hsa/tasks';

interface Row {
  task: string;
  length: number;
  depth: number;
  n: number;
  accuracy: number;
  tokensPerSecond: number | null;
  needleChunkHit: number;
}

const fmtLen = (n: number) => (n >= 1 << 20 ? `${n / (1 << 20)}M` : n >= 1024 ? `${n / 1024}K` : String(n));
const pct = (x: number) => (100 * x).toFixed(0);

interface Sample {
  task: string;
  length: number;
  depth: number;
  score: number;
  needleChunkHit: boolean;
  prefillSeconds: number;
}

/** The cells of a report: its rows, or for a partial one the rows its samples make. */
function rowsOf(report: { complete?: boolean; rows?: Row[]; samples?: Sample[] }): Row[] {
  if (report.complete !== false && report.rows) return report.rows;
  const groups = new Map<string, Sample[]>();
  for (const x of report.samples ?? []) {
    const key = `${x.task}|${x.length}|${x.depth}`;
    groups.set(key, [...(groups.get(key) ?? []), x]);
  }
  return [...groups.values()].map((xs) => {
    const sum = (f: (x: Sample) => number) => xs.reduce((a, x) => a + f(x), 0);
    const { task, length, depth } = xs[0];
    return { task, length, depth, n: xs.length, accuracy: sum((x) => x.score) / xs.length, needleChunkHit: sum((x) => (x.needleChunkHit ? 1 : 0)) / xs.length, tokensPerSecond: (length * xs.length) / sum((x) => x.prefillSeconds) };
  });
}

const cells = new Map<string, Map<number, Row[]>>();
for (const dir of process.argv.slice(2)) {
  for (const f of readdirSync(dir).filter((x) => /^eval-.*\.json$/.test(x))) {
    for (const r of rowsOf(JSON.parse(readFileSync(join(dir, f), 'utf8')))) {
      const key = `${basename(dir)} | ${r.task}`;
      const byLen = cells.get(key) ?? new Map<number, Row[]>();
      byLen.set(r.length, [...(byLen.get(r.length) ?? []), r]);
      cells.set(key, byLen);
    }
  }
}
const lengths = [...new Set([...cells.values()].flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
console.log(`| model | task | ${lengths.map(fmtLen).join(' | ')} |`);
console.log(`|---|---|${lengths.map(() => '---').join('|')}|`);
for (const [key, byLen] of [...cells].sort(([a], [b]) => a.localeCompare(b))) {
  const row = lengths.map((l) => {
    const rs = byLen.get(l);
    if (!rs) return '';
    const n = rs.reduce((s, r) => s + r.n, 0);
    const acc = rs.reduce((s, r) => s + r.accuracy * r.n, 0) / n;
    const hit = rs.reduce((s, r) => s + r.needleChunkHit * r.n, 0) / n;
    const { low, high } = wilson(acc, n);
    const depths = [...new Set(rs.map((r) => r.depth))].sort((a, b) => a - b);
    const tps = rs.every((r) => r.tokensPerSecond) ? rs.reduce((s, r) => s + (r.tokensPerSecond ?? 0), 0) / rs.length : null;
    return `${pct(acc)}% [${pct(low)}–${pct(high)}] n=${n} (d ${depths.join('/')}; chunk ${pct(hit)}%${tps ? `; ${(tps / 1000).toFixed(0)}K tok/s` : ''})`;
  });
  console.log(`| ${key} | ${row.join(' | ')} |`);
}
