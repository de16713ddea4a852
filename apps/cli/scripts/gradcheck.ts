/**
 * The training gradients of a model directory on the CPU and on WebGPU, compared parameter by
 * parameter at the model's real sizes (the gradient tests use small ones):
 *   (in apps/cli) node --conditions=@hsa/source --import tsx scripts/gradcheck.ts DIR [LENGTH=256] [TOPK=all]
 * One sequence of random ids (loss on its second half), window 64, HSA window 64. Prints each
 * parameter whose max |cpu − webgpu| exceeds 1e-3 of its max |cpu|, and the worst ratio.
 * 2026-11-28, recipes/builtin.json v3 on SwiftShader: 122 parameters, worst 5.1e-5 at 320 tokens,
 * top-k all; 5.4e-5 at 1100 tokens, top-8 (6 minutes). 2026-11-29, runs/builtin-near (v7 stage 1):
 * worst 7.7e-4 at 2048 tokens, top-k all = 32 chunks (16 minutes).
 */
import { parseConfig, TrainableHsaModel } from '@hsa/model';
import { readModelDir } from '@hsa/model/node';
import { backward, clearTape, createBackend } from '@hsa/tensor';

const [dir, lenS, topkS] = process.argv.slice(2);
const L = Number(lenS ?? 256);
const topk = topkS === 'all' || !topkS ? ('all' as const) : Number(topkS);
const files = await readModelDir(dir);
const config = parseConfig(files.configJson);
let s = 12345;
const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
const ids = Array.from({ length: L }, () => 3 + Math.floor(rnd() * 4000));
const targets = ids.slice(1).concat([5]).map((t, i) => (i < L / 2 ? -100 : t));
const opts = { slidingWindow: 64, hsaSlidingWindow: 64, chunkTopk: topk };
const out: Record<string, Map<string, Float32Array>> = {};
for (const name of ['cpu', 'webgpu'] as const) {
  const t0 = performance.now();
  const be = await createBackend(name);
  const m = TrainableHsaModel.fromFiles(be, config, files.files);
  const loss = m.loss({ ids, targets }, opts);
  console.log(name, 'loss', (await loss.data())[0]);
  backward(loss);
  loss.dispose();
  const g = new Map<string, Float32Array>();
  for (const p of m.params) if (p.grad) g.set(p.name, (await p.grad.data()) as Float32Array);
  clearTape();
  out[name] = g;
  console.log(name, 'done in', ((performance.now() - t0) / 1000).toFixed(1), 's');
}
let worst = 0;
for (const [n, a] of out.cpu) {
  const b = out.webgpu.get(n);
  if (!b) {
    console.log('missing on webgpu', n);
    continue;
  }
  let mx = 0;
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    mx = Math.max(mx, Math.abs(a[i]));
    d = Math.max(d, Math.abs(a[i] - b[i]));
  }
  const rel = d / (mx || 1);
  worst = Math.max(worst, rel);
  if (rel > 1e-3) console.log('DIFF', n, rel.toExponential(2), 'max', mx.toExponential(2));
}
console.log('params', out.cpu.size, 'worst rel', worst.toExponential(2));
process.exit(0);
