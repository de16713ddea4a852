/**
 * bench/probe-topk: where the decode retrieval's scan and merge spend their time on the device: each
 * pass (v4 `bound` and v5 `subgroup`) timed beside copies of itself with parts of its top-k cut out
 * (results wrong on purpose: a probe for planning, not a benchmark). GPU timestamps, 100 dispatches
 * a submission, median of 10.
 *   ../shared/device/kit.sh bench/probe-topk.ts; device: . .device-kit/boot && node .device-kit/probe-topk.mjs --json $OUT/probe-topk.json
 */
import { hsaSelect, type HsaSelectParams, type Kernel } from '@hsa/kernels';
import { Tensor, WebGpuBackend } from '@hsa/tensor';
import { backendOptions, timeGpu, writeJson, argValue } from './common.js';
import { DR, HK, K, S } from './attention-shapes.js';
import { randomTensor } from './fill.js';

const cut = (name: string, edits: [RegExp | string, string][]): Kernel<HsaSelectParams> => ({
  ...hsaSelect,
  name: `probe-${name}`,
  program(p, caps) {
    const prog = hsaSelect.program(p, caps);
    return {
      ...prog,
      key: `${prog.key}:${name}`,
      code: () => {
        let c = typeof prog.code === 'function' ? prog.code() : prog.code;
        for (const [a, b] of edits) {
          const before = c;
          c = c.replace(a, b);
          if (c === before) throw new Error(`probe ${name}: edit ${a} matched nothing`);
        }
        return c;
      },
    };
  },
});

const ITERS = Number(argValue("--iters") ?? 100);

async function main() {
  const be = await WebGpuBackend.create(backendOptions());
  const res: Record<string, Record<string, number>> = {};
  for (const L of (argValue("--lengths") ?? `${1 << 20},${1 << 24}`).split(",").map(Number)) {
    const C = L / S;
    const blockLen = Math.max(256, Math.ceil((C * HK) / 256 / 256) * 256);
    const nb = Math.ceil(C / blockLen);
    const lmk = randomTensor(be, [C, HK, DR], 11, 'bf16');
    const qr = randomTensor(be, [1, HK, DR], 12, 'f32', 4);
    const cs = Tensor.empty(be, [HK, nb, K], 'f32');
    const ci = Tensor.empty(be, [HK, nb, K], 'u32');
    const [idx, w, sel] = [Tensor.empty(be, [1, HK, K], 'i32'), Tensor.empty(be, [1, HK, K], 'f32'), Tensor.empty(be, [1, HK, K], 'f32')];
    const sp: HsaSelectParams = { t: 1, chunks: C, s: S, hr: HK, hk: HK, dr: DR, topk: K, mode: 'softmax', posOffset: L, pass: 'scan', blockLen, lmkDtype: 'bf16' };
    const scanArgs = [qr.arg(), lmk.arg(), cs.arg(), ci.arg()];
    const mergeArgs = [cs.arg(), ci.arg(), idx.arg(), w.arg(), sel.arg()];
    const noSort = cut('noSort', [['fn sgSort(e0: Ent) -> Ent {', 'fn sgSort(e0: Ent) -> Ent {\n  if (u.k != 12345u) { return e0; }']]);
    const noTree = cut('noTree', [[/ {2}sgTree\(\d+u\);/, '']]);
    const noOfferV4 = cut('noOfferV4', [[/fn topkOffer\(lid: u32, has: bool, s: f32, i: u32\) \{/, 'fn topkOffer(lid: u32, has: bool, s: f32, i: u32) {\n  if (u.k != 12345u) { return; }']]);
    const mergeNoTree = cut('mergeNoTree', [['  sgTree(nb);', '']]);
    const mergeNoFinal = cut('mergeNoFinal', [[/ {2}finalizePar\(lid, row \/ u.hr, row % u.hr\);\n\}$/, '}']]);
    const cases: [string, Kernel<HsaSelectParams>, Partial<HsaSelectParams>, 'scan' | 'merge'][] = [
      ['scanV4', hsaSelect, { topkMode: 'bound' }, 'scan'],
      ['scanV4NoOffer', noOfferV4, { topkMode: 'bound' }, 'scan'],
      ['scanV5', hsaSelect, { topkMode: 'subgroup' }, 'scan'],
      ['scanV5NoSort', noSort, { topkMode: 'subgroup' }, 'scan'],
      ['scanV5NoTree', noTree, { topkMode: 'subgroup' }, 'scan'],
      ['mergeV4', hsaSelect, { topkMode: 'bound' }, 'merge'],
      ['mergeV4NoFinal', mergeNoFinal, { topkMode: 'bound' }, 'merge'],
      ['mergeV5', hsaSelect, { topkMode: 'subgroup' }, 'merge'],
      ['mergeV5NoTree', mergeNoTree, { topkMode: 'subgroup' }, 'merge'],
    ];
    const r: Record<string, number> = {};
    be.run(hsaSelect, { ...sp, topkMode: 'bound' }, scanArgs);
    for (const [name, kern, o, pass] of cases) {
      const f = () => be.run(kern, { ...sp, ...o, pass }, pass === 'scan' ? scanArgs : mergeArgs);
      try {
        f();
        r[name] = (await timeGpu(be, f, ITERS, ITERS < 100 ? 2 : 10)).medianMs * 1000;
      } catch (e) {
        console.error(`${name}: ${(e as Error).message}`);
      }
      if (pass === 'scan') be.run(hsaSelect, { ...sp, topkMode: 'bound' }, scanArgs);
    }
    console.error(`${L}: ${JSON.stringify(r)}`);
    res[L] = r;
    for (const t of [lmk, qr, cs, ci, idx, w, sel]) t.dispose();
  }
  writeJson(argValue('--json'), res);
  process.exit(0);
}
main();
