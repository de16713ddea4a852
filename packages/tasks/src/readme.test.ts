// Runs the example of README.md and checks each `// → value` comment against what it printed.
import fs from 'node:fs';
import { inspect } from 'node:util';
import * as tokenizerPkg from '@hsa/tokenizer';
import { expect, it } from 'vitest';
import * as pkg from './index.js';
import * as nodePkg from './node.js';

const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => (...args: unknown[]) => Promise<void>;

it('README example runs and prints what it says', async () => {
  const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme)![1];
  const body = code
    .replace(/import \{([^}]*)\} from '@hsa\/tokenizer';/, 'const {$1} = tokenizerPkg;')
    .replace(/import \{([^}]*)\} from '@hsa\/tasks';/, 'const {$1} = pkg;')
    .replace(/import \{([^}]*)\} from '@hsa\/tasks\/node';/, 'const {$1} = nodePkg;');
  const printed: string[] = [];
  const log = (...args: unknown[]) => printed.push(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' '));
  await new AsyncFunction('pkg', 'nodePkg', 'tokenizerPkg', 'console', body)(pkg, nodePkg, tokenizerPkg, { log });
  const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1]);
  expect(printed).toEqual(expected);
});
