/**
 * The backward's mma variant (v2: f16 subgroup matrices): when it may run, the typed error where it
 * may not, its programs and the layout rules its WGSL depends on. Its results are checked on the GPU
 * machine by bench/attention (mmaBackwardCheck against v1 on awkward shapes, the training step's
 * gradients against float64): CI's software adapter has no subgroup matrices.
 */
import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../core/errors.js';
import { PORTABLE_CAPS } from '../core/program.js';
import { H200_MMA_CAPS } from '../test-utils/caps.js';
import { chunkBackwardMmaUnsupported, hsaChunkAttentionDkv, hsaChunkAttentionDq } from './hsaChunkAttentionBackward.js';
import { chunkDkvMmaWgsl, chunkDqMmaWgsl, DKV_KEYS, dkvMmaBytes, dqMmaBytes } from './hsaChunkAttentionBackwardMma.wgsl.js';

const H200 = H200_MMA_CAPS;

const P = { t: 45, hq: 32, hk: 2, d: 128, s: 64, chunks: 11, k: 16, variant: 'mma' as const };

/** Bytes of the workgroup variables a WGSL declares, each checked to be a multiple of 16. */
function workgroupBytes(code: string): number {
  const decls = [...code.matchAll(/var<workgroup> \w+: ([^;]+);/g)].map((m) => m[1]);
  expect(decls.length).toBeGreaterThan(0);
  let bytes = 0;
  for (const ty of decls) {
    const arr = /^array<(f16|f32|u32|vec4<f32>), (\d+)>$/.exec(ty);
    const size = arr ? Number(arr[2]) * (({ f16: 2, 'vec4<f32>': 16 } as Record<string, number>)[arr[1]] ?? 4) : ty.startsWith('vec4<') ? 16 : 4;
    // a subgroup-matrix load ignores the low address bits of a misaligned variable (H200, see the forward's WGSL)
    expect(size % 16, ty).toBe(0);
    bytes += size;
  }
  return bytes;
}

describe('hsaChunkAttention backward, mma variant', () => {
  it('runs only where the forward mma can, with 16·n query heads a KV head, k ≤ 128 and its workgroup memory', () => {
    expect(chunkBackwardMmaUnsupported(H200, 128, 64, 16, 16)).toBeNull();
    expect(chunkBackwardMmaUnsupported(H200, 64, 128, 32, 128)).toBeNull();
    expect(chunkBackwardMmaUnsupported(PORTABLE_CAPS, 128, 64, 16, 16)).toMatch(/shader-f16/);
    expect(chunkBackwardMmaUnsupported(H200, 128, 64, 8, 16)).toMatch(/multiple of 16/);
    expect(chunkBackwardMmaUnsupported(H200, 128, 64, 24, 16)).toMatch(/multiple of 16/);
    expect(chunkBackwardMmaUnsupported(H200, 128, 64, 16, 129)).toMatch(/k = 129/);
    expect(chunkBackwardMmaUnsupported(H200, 96, 64, 16, 16)).toMatch(/multiples of 64/);
    // D 192: the dK/dV sums (64 · D floats) no longer fit next to the rest
    expect(chunkBackwardMmaUnsupported({ ...H200, maxWorkgroupStorage: 1 << 20 }, 192, 64, 16, 16)).toBeNull();
    expect(chunkBackwardMmaUnsupported(H200, 192, 64, 16, 16)).toMatch(/workgroup memory/);
  });

  it('asking for it where it cannot run is a typed error naming why', () => {
    expect(() => hsaChunkAttentionDq.program(P, PORTABLE_CAPS)).toThrow(ArgumentError);
    expect(() => hsaChunkAttentionDkv.program({ ...P, hq: 24, hk: 3 }, H200)).toThrow(/not a multiple of 16/);
    // without the variant: v1, whatever the device
    expect(hsaChunkAttentionDq.program({ ...P, variant: undefined }, H200).key).not.toContain('mma');
  });

  it('compiles one program per shape; dq a (token, KV head), dK/dV a (chunk, KV head, 32 keys)', () => {
    const dq = hsaChunkAttentionDq.program(P, H200);
    expect(hsaChunkAttentionDq.program({ ...P, t: 1000, chunks: 77, k: 5 }, H200).key).toBe(dq.key);
    expect(dq.workgroups[0] * dq.workgroups[1] * dq.workgroups[2]).toBe(P.t * P.hk);
    // memory f16 (read by the matrix loads); q and dout f32, staged as f16 rows
    expect(dq.buffers.map((b) => `${b.name}:${b.type}`).slice(0, 6)).toEqual(['q:f32', 'memK:f16', 'memV:f16', 'idx:i32', 'w:f32', 'dout:f32']);
    const dkv = hsaChunkAttentionDkv.program(P, H200);
    expect(dkv.workgroups[0] * dkv.workgroups[1] * dkv.workgroups[2]).toBe((P.chunks * P.hk * P.s) / DKV_KEYS);
    // q and dout are f16 copies read by the matrix loads directly, as the memory
    expect(dkv.buffers.filter((b) => b.type === 'f16').map((b) => b.name)).toEqual(['q', 'memK', 'memV', 'dout']);
    for (const code of [dq.code(), dkv.code()]) {
      expect(code.startsWith('enable f16;')).toBe(true);
      expect(code).toContain('@workgroup_size(128)');
      // spare workgroups of the grid keep the matrix operations in uniform control flow: no early return
      expect(code).not.toMatch(/return;/);
    }
  });

  it('declares only workgroup variables whose sizes are multiples of 16 bytes, within its byte count', () => {
    for (const [D, S] of [[128, 64], [64, 64], [64, 128], [128, 128]] as const) {
      for (const regAcc of [false, true]) {
        expect(workgroupBytes(chunkDqMmaWgsl({ D, S, SG: 32, regAcc }, ''))).toBeLessThanOrEqual(dqMmaBytes(D, S));
        expect(workgroupBytes(chunkDkvMmaWgsl({ D, S, SG: 32, regAcc }, ''))).toBeLessThanOrEqual(dkvMmaBytes(D, regAcc));
      }
    }
    // dK/dV's sums in workgroup memory (the first version) fit the H200's 48 KiB, not the portable
    // 32 KiB; held in subgroup matrices (the default) they leave a quarter of that
    expect(dkvMmaBytes(128)).toBeLessThanOrEqual(49152);
    expect(dkvMmaBytes(128)).toBeGreaterThan(32768);
    expect(dkvMmaBytes(128, true)).toBeLessThan(16384);
  });

  it('keeps its sums in subgroup matrices by default and stores them straight into dq / dK / dV', () => {
    const dkv = hsaChunkAttentionDkv.program(P, H200).code();
    expect(dkv).toMatch(/subgroupMatrixStore\(&dK, /);
    expect(dkv).not.toMatch(/dK\[a\] = F\[/);
    const dq = hsaChunkAttentionDq.program(P, H200).code();
    expect(dq).toMatch(/subgroupMatrixStore\(&dq, /);
    // the first version: sums loaded from and stored to workgroup memory every step
    const wg = hsaChunkAttentionDkv.program({ ...P, mmaAcc: 'workgroup' }, H200);
    expect(wg.key).not.toBe(hsaChunkAttentionDkv.program(P, H200).key);
    expect(wg.code()).toMatch(/dK\[a\] = F\[/);
    expect(() => hsaChunkAttentionDkv.program({ ...P, mmaAcc: 'workgroup' }, { ...H200, maxWorkgroupStorage: 40960 })).toThrow(/sums in workgroup memory need/);
  });
});
