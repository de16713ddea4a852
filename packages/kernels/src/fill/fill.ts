/**
 * fill: out words = pattern; arange: out[i] = start + i·step (f32 or i32).
 * v1: one thread per word / element, 256 threads, 2-D grid.
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type ArangeParams, arangeRef, type FillParams, fillRef } from './fill.ref.js';

const WG = 256;
const FILL_U = defineUniforms({ n: 'u32', pattern: 'u32' });
const FILL_BUFFERS: BufferBinding[] = [{ name: 'out', access: 'read_write', type: 'u32' }];

function linearMain(header: string, body: string): string {
  return /* wgsl */ `
${header}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = ${WGSL_LINEAR_WORKGROUP} * ${WG}u + lid;
  if (i >= u.n) { return; }
  ${body}
}`;
}

export const fill: Kernel<FillParams> = {
  name: 'fill',
  ref: fillRef,
  program: (p, caps) => ({
    key: 'fill',
    code: () => linearMain(`${FILL_U.wgsl('U')}\n${wgslBindings(FILL_BUFFERS, 'U')}`, 'out[i] = u.pattern;'),
    buffers: FILL_BUFFERS,
    uniforms: FILL_U.pack({ n: p.words, pattern: p.pattern }),
    workgroups: grid(ceilDiv(p.words, WG), caps),
  }),
};

const AR_F32 = defineUniforms({ n: 'u32', start: 'f32', step: 'f32' });
const AR_I32 = defineUniforms({ n: 'u32', start: 'i32', step: 'i32' });

export const arange: Kernel<ArangeParams> = {
  name: 'arange',
  ref: arangeRef,
  program(p, caps) {
    const U = p.type === 'f32' ? AR_F32 : AR_I32;
    const buffers: BufferBinding[] = [{ name: 'out', access: 'read_write', type: p.type }];
    const body = p.type === 'f32' ? 'out[i] = u.start + f32(i) * u.step;' : 'out[i] = u.start + i32(i) * u.step;';
    return {
      key: `arange:${p.type}`,
      code: () => linearMain(`${U.wgsl('U')}\n${wgslBindings(buffers, 'U')}`, body),
      buffers,
      uniforms: U.pack({ n: p.n, start: p.start, step: p.step }),
      workgroups: grid(ceilDiv(p.n, WG), caps),
    };
  },
};
