import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as api from './index.js';

function coreFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'test-utils' ? [] : coreFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

describe('public API', () => {
  it('exports the loaders, the trainer, the tokenizer and the error type', () => {
    for (const name of ['fromTokenizerJson', 'fromTiktoken', 'fromTiktokenRanks', 'trainBpe', 'Tokenizer', 'TokenizerError', 'translatePattern']) {
      expect(api).toHaveProperty(name);
    }
  });

  it('the core path uses no Node-only API (it must run in browsers)', () => {
    const src = path.dirname(new URL(import.meta.url).pathname);
    for (const f of coreFiles(src)) {
      const text = fs.readFileSync(f, 'utf8');
      expect(text, f).not.toMatch(/from 'node:|require\(|\bBuffer\b|\bprocess\.|__dirname/);
    }
  });
});
