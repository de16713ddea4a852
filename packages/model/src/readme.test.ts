// Runs the example of README.md and checks each `// → value` comment against what it printed.
import fs from 'node:fs';
import { inspect } from 'node:util';
import * as tensor from '@hsa/tensor';
import { expect, it } from 'vitest';
import * as pkg from './index.js';

it('README example runs and prints what it says', async () => {
  const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme)![1];
  const body = code
    .replace(/import \{([^}]*)\} from '@hsa\/tensor';/, 'const {$1} = tensor;')
    .replace(/import \{([^}]*)\} from '@hsa\/model';/, 'const {$1} = pkg;');
  const printed: string[] = [];
  const log = (...args: unknown[]) => printed.push(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' '));
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  await new AsyncFunction('pkg', 'tensor', 'console', body)(pkg, tensor, { log });
  const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1]);
  expect(printed).toEqual(expected);
});
