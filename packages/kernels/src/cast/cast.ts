/**
 * cast: out = convert(x) between f32, i32 and packed f16/bf16 (bit-exact with the host converters).
 * v1: one thread per output element, or per output word (two elements) for packed outputs.
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type CastParams, type CastType, castRef } from './cast.ref.js';
import { WGSL_BITS_OF, WGSL_ENCODE_BF16, WGSL_ENCODE_F16, WGSL_ENCODE_I32 } from './cast.wgsl.js';

const U = defineUniforms({ n: 'u32' });
const WG = 256;
const packed = (t: CastType) => t === 'f16' || t === 'bf16';

function buffers(p: CastParams): BufferBinding[] {
  return [
    { name: 'xs', access: 'read', type: p.from === 'i32' ? 'i32' : 'u32' },
    { name: 'out', access: 'read_write', type: p.to === 'i32' ? 'i32' : 'u32' },
  ];
}

function castWgsl(p: CastParams): string {
  const enc = { f32: 'fn enc(b: u32) -> u32 { return b; }', i32: WGSL_ENCODE_I32, f16: WGSL_ENCODE_F16, bf16: WGSL_ENCODE_BF16 }[p.to];
  const body = packed(p.to)
    ? `if (2u * i >= u.n) { return; }
  let hi = select(0u, enc(bitsOf(2u * i + 1u)), 2u * i + 1u < u.n);
  out[i] = enc(bitsOf(2u * i)) | (hi << 16u);`
    : `if (i >= u.n) { return; }
  out[i] = enc(bitsOf(i));`;
  return /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(buffers(p), 'U')}
${WGSL_BITS_OF[p.from]}
${enc}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = ${WGSL_LINEAR_WORKGROUP} * ${WG}u + lid;
  ${body}
}`;
}

export const cast: Kernel<CastParams> = {
  name: 'cast',
  ref: castRef,
  program: (p, caps) => ({
    key: `cast:${p.from}:${p.to}`,
    code: () => castWgsl(p),
    buffers: buffers(p),
    uniforms: U.pack({ n: p.n }),
    workgroups: grid(ceilDiv(packed(p.to) ? Math.ceil(p.n / 2) : p.n, WG), caps),
  }),
};
