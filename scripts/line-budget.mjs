// Line budget (tinygrad-style): source files stay small. Fails on a file over MAX lines.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const MAX = 500;
const roots = ['packages', 'apps', 'bench'];
const skip = new Set(['node_modules', 'dist', '.turbo', 'results']);
const over = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.(ts|mjs)$/.test(name)) {
      const n = readFileSync(p, 'utf8').split('\n').length;
      if (n > MAX) over.push(`${p}: ${n} lines (max ${MAX})`);
    }
  }
}
for (const r of roots) {
  try {
    walk(r);
  } catch {}
}
if (over.length) {
  console.error(`files over the line budget:\n${over.join('\n')}`);
  process.exit(1);
}
