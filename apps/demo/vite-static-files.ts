/**
 * Files the page fetches at run time that are not modules: the haystack corpus (Tiny Shakespeare,
 * shipped in @hsa/tasks' `data/`) and the built-in model (`models/builtin/` at the repository root,
 * or the folder HSA_DEMO_MODEL_DIR names; copied only when it exists). The build emits them into the static folder; the dev server serves
 * them from where they are.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

/** URL path in the output → file on disk. */
function staticFiles(): Map<string, string> {
  const files = new Map<string, string>();
  files.set('data/tinyshakespeare.txt', join(here, 'node_modules/@hsa/tasks/data/tinyshakespeare.txt'));
  const model = process.env.HSA_DEMO_MODEL_DIR ?? join(here, '../../models/builtin');
  if (existsSync(model)) {
    for (const name of readdirSync(model)) {
      const path = join(model, name);
      if (statSync(path).isFile() && /\.(json|safetensors)$/.test(name)) files.set(`models/builtin/${name}`, path);
    }
  }
  return files;
}

export function demoStaticFiles(): Plugin {
  return {
    name: 'hsa-demo-static-files',
    generateBundle() {
      for (const [fileName, path] of staticFiles()) this.emitFile({ type: 'asset', fileName, source: readFileSync(path) });
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = staticFiles().get(decodeURIComponent((req.url ?? '').split('?')[0]).replace(/^\/+/, ''));
        if (!path) return next();
        res.setHeader('Content-Length', statSync(path).size);
        res.end(readFileSync(path));
      });
    },
  };
}
