// The tokenizer benchmark's 10 MB of mixed text, built offline and deterministically from text that
// ships in installed npm packages: TypeScript's diagnostic messages in 13 languages (Latin, Cyrillic,
// CJK, Korean, Turkish, Polish, ...), TypeScript's lib .d.ts files (code with English comments),
// package READMEs (English prose and markdown), plus generated numbers, emoji with ZWJ sequences and
// whitespace runs. Blocks of ~4 KB are taken round-robin from the sources so every part of the run
// sees every kind of text.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(new URL('../packages/tokenizer/package.json', import.meta.url));

function sources(): string[] {
  const tsLib = path.dirname(require.resolve('typescript'));
  const out: string[] = [];
  for (const d of fs.readdirSync(tsLib)) {
    const f = path.join(tsLib, d, 'diagnosticMessages.generated.json');
    if (fs.existsSync(f)) out.push(Object.values(JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, string>).join('\n'));
  }
  out.push(['lib.dom.d.ts', 'lib.es5.d.ts', 'lib.webworker.d.ts'].map((f) => fs.readFileSync(path.join(tsLib, f), 'utf8')).join('\n'));
  const readmes = ['vitest', 'typescript', 'fast-check', 'js-tiktoken', 'gpt-tokenizer'].map((p) => {
    try {
      return fs.readFileSync(path.join(path.dirname(require.resolve(`${p}/package.json`)), 'README.md'), 'utf8');
    } catch {
      return '';
    }
  });
  out.push(readmes.join('\n\n'));
  out.push(generated());
  return out.filter((s) => s.length > 0);
}

function generated(): string {
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const emoji = ['👍', '👨‍👩‍👧‍👦', '🏳️‍🌈', '👩🏽‍💻', '🇩🇪', '😀', '❤️', '🧑‍🚀'];
  const parts: string[] = [];
  for (let i = 0; i < 40_000; i++) {
    const r = rnd();
    if (r < 0.3) parts.push(String(Math.floor(rnd() * 10 ** (1 + Math.floor(rnd() * 9)))));
    else if (r < 0.5) parts.push((rnd() * 1000).toFixed(3));
    else if (r < 0.7) parts.push(emoji[Math.floor(rnd() * emoji.length)]);
    else if (r < 0.85) parts.push(' '.repeat(1 + Math.floor(rnd() * 40)));
    else parts.push('\n'.repeat(1 + Math.floor(rnd() * 3)) + '\t'.repeat(Math.floor(rnd() * 4)));
  }
  return parts.join(' ');
}

/** About `bytes` bytes (UTF-8) of mixed text, the same on every run. */
export function mixedText(bytes = 10_000_000): string {
  const srcs = sources();
  const pos = srcs.map(() => 0);
  const chunks: string[] = [];
  let total = 0;
  for (let k = 0; total < bytes; k = (k + 1) % srcs.length) {
    const s = srcs[k];
    let end = Math.min(s.length, pos[k] + 4096);
    if (end < s.length && /[\uDC00-\uDFFF]/.test(s[end])) end++; // do not cut a surrogate pair
    const chunk = s.slice(pos[k], end);
    pos[k] = end >= s.length ? 0 : end;
    chunks.push(chunk);
    total += Buffer.byteLength(chunk);
  }
  return chunks.join('');
}
