/**
 * Packaging: builds and packs @hsa/kernels and @hsa/tensor, installs the tarballs into a scratch
 * folder outside the workspace (offline; `webgpu` linked from the workspace's install) and runs the
 * README example there, against dist/ as a user would.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const scratch = mkdtempSync(join(tmpdir(), 'hsa-pack-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });

/** The first ```js block of a README. */
function readmeExample(path: string): string {
  const m = /```js\n([\s\S]*?)```/.exec(readFileSync(path, 'utf8'));
  if (!m) throw new Error(`${path} has no js example`);
  return m[1];
}

it('installs the packed @hsa/tensor with its workspace dependencies and runs the README example', () => {
  const tarballs: Record<string, string> = {};
  for (const pkg of ['kernels', 'tensor']) {
    const dir = join(root, 'packages', pkg);
    run('pnpm', ['run', 'build'], dir);
    run('pnpm', ['pack', '--pack-destination', scratch], dir);
    const file = readdirSync(scratch).find((f) => f.startsWith(`hsa-${pkg}-`) && f.endsWith('.tgz'));
    expect(file, `tarball of @hsa/${pkg}`).toBeDefined();
    tarballs[`@hsa/${pkg}`] = `file:${join(scratch, file!)}`;
  }
  // the registry dependency (webgpu, with its own) linked from this workspace's install: an offline
  // install cannot resolve it from the store without pnpm's metadata cache, which a frozen-lockfile
  // install does not write
  const webgpu = dirname(realpathSync(createRequire(join(root, 'packages/tensor/package.json')).resolve('webgpu/package.json')));
  const overrides = { ...tarballs, webgpu: `link:${webgpu}` };
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module', dependencies: tarballs, pnpm: { overrides } }));
  run('pnpm', ['install', '--offline', '--ignore-workspace', '--config.confirmModulesPurge=false'], scratch);
  writeFileSync(join(scratch, 'example.mjs'), readmeExample(join(root, 'packages/tensor/README.md')));
  const out = run('node', ['example.mjs'], scratch);
  expect(out).toMatch(/^(webgpu|cpu) \[ 1, 5, 4, 11 \]/);
  writeFileSync(join(scratch, 'kernels.mjs'), readmeExample(join(root, 'packages/kernels/README.md')));
  expect(run('node', ['kernels.mjs'], scratch)).toMatch(/^\[ 4, 5, 10, 11 \]\nmatmul:/);
}, 240_000);
