/**
 * Device-side random fill for the benchmarks: tensors of hash values, so that inputs of hundreds of
 * MiB cost one dispatch instead of a host upload.
 */
import { type BufferBinding, defineUniforms, type Kernel, wgslBindings } from '@hsa/kernels';
import { cast, Tensor, type WebGpuBackend } from '@hsa/tensor';

/** out[i] = hash(i, seed) in [−1, 1), as f32 or as packed bf16 pairs (one u32 per two values). */
const FILL_U = defineUniforms({ words: 'u32', seed: 'u32', scale: 'f32' });
const FILL_B: BufferBinding[] = [{ name: 'out', access: 'read_write', type: 'u32' }];

/** out = hash values in [−scale, scale), as f32 words or as packed bf16 pairs. */
const hashFill: Kernel<{ words: number; seed: number; bf16: boolean; scale: number }> = {
  name: 'benchHashFill',
  ref: () => {
    throw new Error('benchHashFill runs on the GPU only');
  },
  program: (p) => {
    const val = (e: string) => `(f32(hash(${e}) >> 8u) / 8388608.0 - 1.0) * u.scale`;
    const body = p.bf16
      ? `let lo = bitcast<u32>(${val('2u * i')}) >> 16u; let hi = bitcast<u32>(${val('2u * i + 1u')}) & 0xffff0000u; out[i] = lo | hi;`
      : `out[i] = bitcast<u32>(${val('i')});`;
    const groups = Math.ceil(p.words / 256);
    return {
      key: `benchHashFill:${p.bf16}`,
      code: () => `${FILL_U.wgsl('U')}
${wgslBindings(FILL_B, 'U')}
fn hash(x: u32) -> u32 { var h = x * 0x9E3779B1u + u.seed; h ^= h >> 15u; h *= 0x85EBCA77u; h ^= h >> 13u; h *= 0xC2B2AE3Du; h ^= h >> 16u; return h; }
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) n: vec3u) {
  let i = gid.x + gid.y * n.x * 256u;
  if (i >= u.words) { return; }
  ${body}
}`,
      buffers: FILL_B,
      uniforms: FILL_U.pack({ words: p.words, seed: p.seed, scale: p.scale }),
      workgroups: [Math.min(65535, groups), Math.ceil(groups / 65535), 1],
    };
  },
};

/**
 * A new tensor of hash values in [−scale, scale) (seeded), filled on the device; f16: the f32
 * values rounded (the fill writes f32 or bf16).
 */
export function randomTensor(be: WebGpuBackend, shape: number[], seed: number, dtype: 'f32' | 'bf16' | 'f16' = 'f32', scale = 1): Tensor {
  if (dtype === 'f16') {
    const f = randomTensor(be, shape, seed, 'f32', scale);
    const h = cast(f, 'f16');
    f.dispose();
    return h;
  }
  const t = Tensor.empty(be, shape, dtype);
  const words = Math.ceil((t.size * (dtype === 'bf16' ? 2 : 4)) / 4);
  be.run(hashFill, { words, seed, bf16: dtype === 'bf16', scale }, [{ storage: t.storage, dtype: 'u32' }]);
  return t;
}

/**
 * Keeps the GPU busy for `ms` milliseconds (hash fills of a 256 MiB scratch, 50 a submission): the
 * H200 idled at 345 MHz before a run, and decode steps timed after short fills measured up to 3× their
 * later times while steps timed after the 16M fill did not (bench/attention warms its decode cases so).
 */
export async function heat(be: WebGpuBackend, ms: number): Promise<void> {
  const words = 1 << 26;
  const t = Tensor.empty(be, [words], 'f32');
  const t0 = performance.now();
  for (let seed = 0; performance.now() - t0 < ms; ) {
    for (let i = 0; i < 50; i++) be.run(hashFill, { words, seed: seed++, bf16: false, scale: 1 }, [{ storage: t.storage, dtype: 'u32' }]);
    await be.sync();
  }
  t.dispose();
}
