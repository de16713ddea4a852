/**
 * matmulGpuJs: C = op(A) · op(B) for one batch entry through gpu.js (WebGL2 fragment shaders), the
 * heavy product of the CPU backend where WebGPU is missing.
 *   A: [M, K] (transA: [K, M]) f32, B: [K, N] (transB: [N, K]) f32 (packed bf16/f16 weights are
 *   widened once on the host and kept), C: [M, N] written with row stride ldc.
 * Sums run over k in order in f32, like matmulRef; a GPU may fuse multiply-adds, so results can
 * differ from the reference in the last bits.
 * Kernels are compiled per shape (M, N, K, transposes, whether B is a texture): a model has few
 * distinct shapes. Weights go up once as textures (`upload`), so a product sends only A and reads C.
 */
import { GPU, type IKernelRunShortcut, type Texture } from 'gpu.js';

export interface GpuMatmulShape {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
}

const MAX_KERNELS = 48;

type ThisKernel = { thread: { x: number; y: number }; constants: { K: number; M: number; N: number } };

function copy(this: ThisKernel, x: number[]): number {
  return x[this.thread.x];
}

// gpu.js parses these functions' source into GLSL: plain loops and indexing only, one per layout.
function nn(this: ThisKernel, a: number[], b: number[]): number {
  let s = 0;
  for (let k = 0; k < this.constants.K; k++) s += a[this.thread.y * this.constants.K + k] * b[k * this.constants.N + this.thread.x];
  return s;
}
function nt(this: ThisKernel, a: number[], b: number[]): number {
  let s = 0;
  for (let k = 0; k < this.constants.K; k++) s += a[this.thread.y * this.constants.K + k] * b[this.thread.x * this.constants.K + k];
  return s;
}
function tn(this: ThisKernel, a: number[], b: number[]): number {
  let s = 0;
  for (let k = 0; k < this.constants.K; k++) s += a[k * this.constants.M + this.thread.y] * b[k * this.constants.N + this.thread.x];
  return s;
}
function tt(this: ThisKernel, a: number[], b: number[]): number {
  let s = 0;
  for (let k = 0; k < this.constants.K; k++) s += a[k * this.constants.M + this.thread.y] * b[this.thread.x * this.constants.K + k];
  return s;
}

/** The WebGL renderer's name (e.g. "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device ...))"), '' if hidden. */
export function webglRenderer(): string {
  const canvas = typeof document !== 'undefined' ? document.createElement('canvas') : new OffscreenCanvas(1, 1);
  const gl = canvas.getContext('webgl2') as WebGL2RenderingContext | null;
  if (!gl) return '';
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return name;
}

export class GpuJsMatmul {
  private readonly gpu: GPU;
  private readonly kernels = new Map<string, IKernelRunShortcut>();
  /** upload kernels by length (one per weight size; never evicted: their textures live on) */
  private readonly copies = new Map<number, IKernelRunShortcut>();
  /** products run through gpu.js so far (the page shows it) */
  calls = 0;

  constructor() {
    if (!GPU.isWebGL2Supported) throw new Error('WebGL2 is not available in this browser');
    this.gpu = new GPU({ mode: 'webgl2' });
  }

  private kernel(s: GpuMatmulShape, bTexture: boolean): IKernelRunShortcut {
    const key = `${s.M}x${s.N}x${s.K}:${s.transA ? 't' : 'n'}${s.transB ? 't' : 'n'}:${bTexture ? 'T' : 'A'}`;
    let k = this.kernels.get(key);
    if (k) {
      this.kernels.delete(key); // most recently used last
      this.kernels.set(key, k);
    } else {
      // prompts of many lengths compile many shapes: keep the most recent ones
      if (this.kernels.size >= MAX_KERNELS) {
        const [oldest, old] = this.kernels.entries().next().value!;
        old.destroy();
        this.kernels.delete(oldest);
      }
      const fn = s.transA ? (s.transB ? tt : tn) : s.transB ? nt : nn;
      k = this.gpu
        .createKernel(fn as never, { precision: 'single', tactic: 'precision' })
        .setConstants({ K: s.K, M: s.M, N: s.N })
        .setOutput([s.N, s.M]);
      this.kernels.set(key, k);
    }
    return k;
  }

  /** A matrix kept on the GPU (a 1-D float texture), for B operands used again and again (weights). */
  upload(values: Float32Array): Texture {
    let k = this.copies.get(values.length);
    if (!k) {
      k = this.gpu.createKernel(copy as never, { precision: 'single', pipeline: true, immutable: true, output: [values.length] });
      this.copies.set(values.length, k);
    }
    return k(values) as unknown as Texture;
  }

  /** Writes op(a)·op(b) into c (row stride ldc); b is values or a texture from `upload`. */
  run(s: GpuMatmulShape, a: Float32Array, b: Float32Array | Texture, c: Float32Array, ldc = s.N): void {
    const rows = this.kernel(s, !(b instanceof Float32Array))(a, b) as Float32Array[];
    for (let m = 0; m < s.M; m++) c.set(rows[m].subarray(0, s.N), m * ldc);
    this.calls++;
  }

  destroy(): void {
    for (const k of [...this.kernels.values(), ...this.copies.values()]) k.destroy();
    this.kernels.clear();
    this.copies.clear();
    this.gpu.destroy();
  }
}
