/**
 * The mma variant of hsaChunkAttentionForward (f16 subgroup matrices): when it may run, the typed
 * error where it may not, and the layout rule its WGSL depends on. Its results are checked on the GPU
 * machine by bench/attention (mmaCheck against the tile variant, the prefill rows against float64):
 * CI's software adapter has no subgroup matrices.
 */
import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../core/errors.js';
import { PORTABLE_CAPS } from '../core/program.js';
import { H200_MMA_CAPS } from '../test-utils/caps.js';
import { chunkMmaUnsupported, hsaChunkAttentionForward } from './hsaChunkAttention.js';
import { hsaChunkAttentionMmaWgsl, mmaBytes, mmaDirect } from './hsaChunkAttentionMma.wgsl.js';

const H200 = H200_MMA_CAPS;

const P = { t: 5, hq: 32, hk: 2, d: 128, s: 64, chunks: 9, k: 16, variant: 'mma' as const };

describe('hsaChunkAttention mma variant', () => {
  it('runs only with shader-f16, the f16 → f32 16×16×16 configuration, a fixed subgroup size and S, D multiples of 64', () => {
    expect(chunkMmaUnsupported(H200, 128, 64)).toBeNull();
    expect(chunkMmaUnsupported(PORTABLE_CAPS, 128, 64)).toMatch(/shader-f16/);
    expect(chunkMmaUnsupported({ ...H200, subgroupMatrix: [H200.subgroupMatrix?.[0] ?? { componentType: '', resultComponentType: '', M: 0, N: 0, K: 0 }] }, 128, 64)).toMatch(/configuration/);
    expect(chunkMmaUnsupported({ ...H200, subgroupMinSize: 16 }, 128, 64)).toMatch(/subgroup size/);
    expect(chunkMmaUnsupported(H200, 96, 64)).toMatch(/multiples of 64/);
    expect(chunkMmaUnsupported(H200, 128, 48)).toMatch(/multiples of 64/);
    expect(chunkMmaUnsupported(H200, 128, 128)).toMatch(/workgroup memory/);
    expect(chunkMmaUnsupported({ ...H200, maxWorkgroupStorage: 32768 }, 128, 64)).toMatch(/workgroup memory/);
  });

  it('asking for it where it cannot run is a typed error naming why', () => {
    expect(() => hsaChunkAttentionForward.program(P, PORTABLE_CAPS)).toThrow(ArgumentError);
    expect(() => hsaChunkAttentionForward.program({ ...P, d: 96 }, H200)).toThrow(/multiples of 64/);
  });

  it('compiles one program per shape and dtype, 4 subgroups a workgroup, 16 query heads each', () => {
    const a = hsaChunkAttentionForward.program(P, H200);
    const b = hsaChunkAttentionForward.program({ ...P, t: 1000, chunks: 77 }, H200);
    expect(a.key).toBe(b.key);
    expect(hsaChunkAttentionForward.program({ ...P, kv: 'bf16' }, H200).key).not.toBe(a.key);
    const code = a.code();
    expect(code.startsWith('enable f16;')).toBe(true);
    expect(code).toContain('@workgroup_size(128)');
    // t · hk · ceil(ratio / 16) workgroups (ratio 16: one head block)
    const [x, y, z] = a.workgroups;
    expect(x * y * z).toBeGreaterThanOrEqual(P.t * P.hk);
  });

  it('declares only workgroup variables whose sizes are multiples of 16 bytes, within mmaBytes', () => {
    // a subgroup-matrix load ignores the low address bits: a variable of 4 or 8 bytes laid out before
    // the f16 array shifted every load on the H200 (see the WGSL's comment)
    for (const [D, S, kv] of [[128, 64, 'bf16'], [64, 64, 'f32'], [64, 128, 'f16'], [192, 64, 'bf16']] as const) {
      const code = hsaChunkAttentionMmaWgsl({ D, S, kv, SG: 32 }, '');
      const decls = [...code.matchAll(/var<workgroup> \w+: ([^;]+);/g)].map((m) => m[1]);
      expect(decls.length).toBeGreaterThan(0);
      let bytes = 0;
      for (const ty of decls) {
        const arr = /^array<(f16|f32|i32|u32|vec4<f32>), (\d+)>$/.exec(ty);
        const size = arr ? Number(arr[2]) * (({ f16: 2, 'vec4<f32>': 16 } as Record<string, number>)[arr[1]] ?? 4) : ty.startsWith('vec4<') ? 16 : 4;
        expect(size % 16, ty).toBe(0);
        bytes += size;
      }
      expect(bytes).toBeLessThanOrEqual(mmaBytes(D, S, mmaDirect(kv)));
    }
  });

  it('reads f16 memory with the matrix loads directly (no staged K/V), bf16 and f32 through workgroup memory', () => {
    const direct = hsaChunkAttentionForward.program({ ...P, kv: 'f16' }, H200);
    expect(direct.buffers.filter((b) => b.name.startsWith('mem')).map((b) => b.type)).toEqual(['f16', 'f16']);
    const code = direct.code();
    expect(code).toMatch(/subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>\(&memK, i, true, u\.hk \* 128u\)/);
    expect(code).not.toContain('ldK(');
    expect(mmaBytes(128, 64, true)).toBeLessThan(mmaBytes(128, 64) - 128 * 64 * 2 + 1);
    // several memory parts: a switch on the slot's part (a uniform value, not the private cpart)
    const parts = hsaChunkAttentionForward.program({ ...P, kv: 'f16', np: 3, perPart: 4 }, H200).code();
    expect(parts).toContain('switch (p)');
    expect(parts).toContain('&memK2');
    expect(parts).not.toContain('cpart');
    for (const kv of ['bf16', 'f32'] as const) {
      const staged = hsaChunkAttentionForward.program({ ...P, kv }, H200);
      expect(staged.buffers.find((b) => b.name === 'memK')?.type).toBe(kv === 'f32' ? 'f32' : 'u32');
      expect(staged.code()).toContain('ldK(');
    }
  });
});
