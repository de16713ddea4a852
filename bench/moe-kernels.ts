/**
 * Device-side helpers of bench/moe: tensors filled by a hash (no host upload of a GiB of weights)
 * and the copy kernel whose rate is the decode step's bandwidth yardstick.
 */
import { type BufferBinding, defineUniforms, type Kernel, wgslBindings } from '@hsa/kernels';
import { type Backend, Tensor, type WebGpuBackend } from '@hsa/tensor';
import { timeGpu } from './common.js';

const FILL_U = defineUniforms({ n: 'u32', seed: 'u32', scale: 'f32' });
const FILL_B: BufferBinding[] = [{ name: 'out', access: 'read_write', type: 'f32' }];

const hash = `fn hash(x: u32) -> u32 { var h = x * 0x9E3779B1u + u.seed; h ^= h >> 15u; h *= 0x85EBCA77u; h ^= h >> 13u; h *= 0xC2B2AE3Du; h ^= h >> 16u; return h; }`;

/** out[i] = (hash(i, seed) / 2³¹ − 1)·scale; the same values on the host via {@link hashValue}. */
const hashFill: Kernel<{ n: number; seed: number; scale: number }> = {
  name: 'benchMoeHashFill',
  ref: ([out], p) => {
    for (let i = 0; i < p.n; i++) out[i] = hashValue(i, p.seed, p.scale);
  },
  program: (p) => {
    const groups = Math.ceil(p.n / 256);
    return {
      key: 'benchMoeHashFill',
      code: () => `${FILL_U.wgsl('U')}
${wgslBindings(FILL_B, 'U')}
${hash}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * 256u;
  if (i >= u.n) { return; }
  out[i] = (f32(hash(i) >> 8u) / 8388608.0 - 1.0) * u.scale;
}`,
      buffers: FILL_B,
      uniforms: FILL_U.pack(p),
      workgroups: [Math.min(65535, groups), Math.ceil(groups / 65535), 1],
    };
  },
};

function hostHash(x: number, seed: number): number {
  let h = (Math.imul(x, 0x9e3779b1) + seed) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x85ebca77) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae3d) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The value hashFill writes at index i. */
export function hashValue(i: number, seed: number, scale: number): number {
  return Math.fround(Math.fround((hostHash(i, seed) >>> 8) / 8388608 - 1) * Math.fround(scale));
}

/** A new f32 tensor of hash values in [−scale, scale). */
export function hashTensor(be: Backend, shape: number[], seed: number, scale: number): Tensor {
  const t = Tensor.empty(be, shape);
  be.run(hashFill, { n: t.size, seed, scale }, [t.arg()]);
  return t;
}

const COPY_U = defineUniforms({ n: 'u32' });
const COPY_B: BufferBinding[] = [
  { name: 'src', access: 'read', type: 'u32' },
  { name: 'dst', access: 'read_write', type: 'u32' },
];

/** dst = src, 16 bytes per thread (n = number of vec4 words). */
export const copyKernel: Kernel<{ n: number }> = {
  name: 'benchCopy',
  ref: ([src, dst]) => dst.set(src),
  program: (p) => {
    const groups = Math.ceil(p.n / 256);
    return {
      key: 'benchCopy',
      code: () => `${COPY_U.wgsl('U')}
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> src: array<vec4u>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4u>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * 256u;
  if (i < u.n) { dst[i] = src[i]; }
}`,
      buffers: COPY_B,
      uniforms: COPY_U.pack(p),
      workgroups: [Math.min(65535, groups), Math.ceil(groups / 65535), 1],
    };
  },
};

/** Our copy kernel's rate over `bytes` (read + write), the floor the decode steps are measured against. */
export async function copyRate(be: WebGpuBackend, bytes: number, iters: number, reps: number) {
  const src = hashTensor(be, [bytes / 4], 31, 1);
  const dst = hashTensor(be, [bytes / 4], 32, 1);
  const t = await timeGpu(be, () => be.run(copyKernel, { n: bytes / 16 }, [src.arg(), dst.arg()]), iters, reps);
  src.dispose();
  dst.dispose();
  return { bytes, timing: t, TBps: (2 * bytes) / (t.medianMs * 1e-3) / 1e12 };
}
