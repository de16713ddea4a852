import { defineConfig } from 'vite';
import { demoStaticFiles } from './vite-static-files.ts';

// Relative asset paths (base './'): the built folder works from any static server and any path.
// Workspace packages resolve to their TypeScript sources (the @hsa/source export condition).
export default defineConfig({
  base: './',
  resolve: { conditions: ['@hsa/source', 'module', 'browser', 'default'] },
  plugins: [demoStaticFiles()],
  // the model runs in a module worker (src/engine/worker.ts), which loads gpu.js only when needed
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    chunkSizeWarningLimit: 2048,
    // selfcheck.html: gpu.js matmul against the CPU reference (test/demo.test.ts opens it)
    rollupOptions: { input: { main: 'index.html', selfcheck: 'selfcheck.html' } },
  },
});
