/** Random MoE layers for tests: weights as host arrays (f32 values), a lookup by name, the f64 oracle's view. */
import type { MoeRefDims, MoeRefWeights } from '@hsa/kernels';
import { randF32 } from '@hsa/tensor/test-utils';
import { type MoeConfig, type MoeConfigJson, parseMoeConfig } from '../config.js';
import { moeParameterNames } from '../params.js';

export interface RandomLayer {
  config: MoeConfig;
  named: Map<string, Float32Array>;
  lookup: (name: string) => Float32Array;
  /** the stacked weights the float64 oracle reads */
  ref: MoeRefWeights;
  dims: (T: number) => MoeRefDims;
}

/** Weights in ±scale/√fan_in; bias uniform in [biasLo, biasHi). */
export function randomLayer(json: Partial<MoeConfigJson>, seed: number, bias: [number, number] = [-0.05, 0.05]): RandomLayer {
  const config = parseMoeConfig(json);
  const { experts: E, hidden: d, expertWidth: F } = config;
  const names = moeParameterNames(config);
  const named = new Map<string, Float32Array>();
  let s = seed;
  const put = (name: string, n: number, fanIn: number) => named.set(name, randF32(n, s++, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn)));
  put(names.gate, E * d, d / 4);
  named.set(names.bias, randF32(E, s++, bias[0], bias[1]));
  for (const x of names.experts) {
    put(x.gate, F * d, d);
    put(x.up, F * d, d);
    put(x.down, d * F, F);
  }
  const Fs = F * config.sharedExperts;
  if (names.shared) {
    put(names.shared.gate, Fs * d, d);
    put(names.shared.up, Fs * d, d);
    put(names.shared.down, d * Fs, Fs);
  }
  const stack = (pick: (x: (typeof names.experts)[number]) => string) => {
    const out = new Float64Array(E * F * d);
    names.experts.forEach((x, e) => {
      out.set(named.get(pick(x))!, e * F * d);
    });
    return out;
  };
  const f64 = (name: string) => Float64Array.from(named.get(name)!);
  const ref: MoeRefWeights = {
    gate: f64(names.gate),
    bias: f64(names.bias),
    wg: stack((x) => x.gate),
    wu: stack((x) => x.up),
    wd: stack((x) => x.down),
    shared: names.shared ? { wg: f64(names.shared.gate), wu: f64(names.shared.up), wd: f64(names.shared.down), F: Fs } : undefined,
  };
  const router = { E, k: config.topk, nGroup: config.nGroup, topkGroup: config.topkGroup, scoreFn: config.scoreFunction, norm: config.normTopkProb, scale: config.routedScalingFactor };
  return { config, named, lookup: (n) => named.get(n)!, ref, dims: (T) => ({ T, d, F, router }) };
}

/** Rounds each value to bf16 and back (what a bf16 upload stores), for the oracle. */
export function roundBf16(ref: MoeRefWeights): MoeRefWeights {
  const r = (a: ArrayLike<number>) => {
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    return Float64Array.from(a, (v) => {
      f[0] = v;
      const b = u[0];
      u[0] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) << 16;
      return f[0];
    });
  };
  const shared = ref.shared ? { wg: r(ref.shared.wg), wu: r(ref.shared.wu), wd: r(ref.shared.wd), F: ref.shared.F } : undefined;
  return { ...ref, wg: r(ref.wg), wu: r(ref.wu), wd: r(ref.wd), shared };
}
