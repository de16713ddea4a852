/**
 * One thread per element: the WGSL entry point shared by elementwise kernels (unary, swiglu, AdamW,
 * copies, ...) and its dispatch rule. The kernel's uniform struct must have a `n: u32` field.
 */
import { ceilDiv, type DeviceCaps, grid, WGSL_LINEAR_WORKGROUP } from './program.js';

export const ELEMENTWISE_WG = 256;

/**
 * `header` declares `u` and the buffers; `body` runs with `i` < u.n; `prelude` holds helper functions.
 */
export function elementwiseWgsl(header: string, body: string, prelude = ''): string {
  return /* wgsl */ `
${header}
${prelude}
@compute @workgroup_size(${ELEMENTWISE_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = ${WGSL_LINEAR_WORKGROUP} * ${ELEMENTWISE_WG}u + lid;
  if (i >= u.n) { return; }
${body}
}`;
}

/** Workgroups for n elements (none for n = 0), spread over a 2-D grid past 65535. */
export function elementwiseGrid(n: number, caps: DeviceCaps): [number, number, number] {
  return n === 0 ? [0, 1, 1] : grid(ceilDiv(n, ELEMENTWISE_WG), caps);
}
