/**
 * bench/probe-subgroup-matrix: does Dawn on this machine expose matrix units (tensor cores) to WGSL
 * (`chromium-experimental-subgroup-matrix`, Vulkan's VK_KHR_cooperative_matrix), and how do they
 * behave? Lists the adapter's features and subgroup-matrix configurations (Dawn toggles from
 * --dawn-features, default `allow_unsafe_apis`, which experimental features need; f16 on NVIDIA also
 * needs `vulkan_enable_f16_on_nvidia`), checks 16×16×16 f16 products loaded from workgroup or
 * storage memory at several strides, offsets and majorness in 1 or 4 subgroups against the CPU
 * (--big-offsets: offsets past 4K elements), then, unless --layouts-only, runs plain GEMMs built
 * from subgroup matrices read straight from storage: checked against float64 on the f16-rounded
 * inputs, then timed at 4096³ (GPU timestamps, median of 10). A probe for planning, not a kernel of
 * the library and not a benchmark (no baseline in the run: bench/matmul has cuBLAS's rate).
 *
 *   ../shared/device/kit.sh bench/probe-subgroup-matrix.ts
 *   device: . .device-kit/boot && node .device-kit/probe-subgroup-matrix.mjs \
 *             --dawn-features allow_unsafe_apis,vulkan_enable_f16_on_nvidia --json $OUT/probe.json
 */
import { f16ToF32, f32ToF16 } from '@hsa/kernels';
import { useSoftwareVulkanIfNoDriver } from '@hsa/tensor';
import { argValue, fillRandom, writeJson } from './common.js';

interface SgConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

const FEATURE = 'chromium-experimental-subgroup-matrix';

/** WGSL of C[M×N] (f32) = A[M×K] · B[K×N] (f16, row-major): each subgroup owns TM×TN result tiles. */
function gemmWgsl(cfg: SgConfig, TM: number, TN: number, sgPerWg: number, sgSize: number): string {
  const { M: m, N: n, K: k } = cfg;
  const L = `subgroup_matrix_left<f16, ${k}, ${m}>`;
  const R = `subgroup_matrix_right<f16, ${n}, ${k}>`;
  const C = `subgroup_matrix_result<f32, ${n}, ${m}>`;
  const lines: string[] = [];
  for (let i = 0; i < TM; i++) for (let j = 0; j < TN; j++) lines.push(`  var c${i}_${j} = ${C}();`);
  const body: string[] = [];
  for (let i = 0; i < TM; i++) body.push(`    let a${i} = subgroupMatrixLoad<${L}>(&A, (row0 + ${i * m}u) * u.K + kk, false, u.K);`);
  for (let j = 0; j < TN; j++) body.push(`    let b${j} = subgroupMatrixLoad<${R}>(&B, kk * u.N + col0 + ${j * n}u, false, u.N);`);
  for (let i = 0; i < TM; i++) for (let j = 0; j < TN; j++) body.push(`    c${i}_${j} = subgroupMatrixMultiplyAccumulate(a${i}, b${j}, c${i}_${j});`);
  const store: string[] = [];
  for (let i = 0; i < TM; i++) {
    for (let j = 0; j < TN; j++) store.push(`  subgroupMatrixStore(&Cm, (row0 + ${i * m}u) * u.N + col0 + ${j * n}u, c${i}_${j}, false, u.N);`);
  }
  return /* wgsl */ `
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
struct Dims { M: u32, N: u32, K: u32, pad: u32 }
@group(0) @binding(0) var<uniform> u: Dims;
@group(0) @binding(1) var<storage, read> A: array<f16>;
@group(0) @binding(2) var<storage, read> B: array<f16>;
@group(0) @binding(3) var<storage, read_write> Cm: array<f32>;
@compute @workgroup_size(${sgPerWg * sgSize})
fn main(@builtin(workgroup_id) wid: vec3u${sgPerWg > 1 ? ', @builtin(subgroup_id) sgid: u32' : ''}) {
  let sg = ${sgPerWg > 1 ? 'sgid' : '0u'};
  // the workgroup's subgroups side by side along N
  let row0 = wid.y * ${TM * m}u;
  let col0 = (wid.x * ${sgPerWg}u + sg) * ${TN * n}u;
${lines.join('\n')}
  for (var kk = 0u; kk < u.K; kk += ${k}u) {
${body.join('\n')}
  }
${store.join('\n')}
}`;
}

/**
 * Loads through workgroup or storage memory, row- or column-major, with strides and offsets, in
 * 1 or 4 subgroups (subgroup sg at offset sg·16 rows): C = A·B of 16×16 f16 blocks against the CPU.
 */
async function layoutTests(device: GPUDevice, sgSize: number) {
  const out: unknown[] = [];
  const big = process.argv.includes('--big-offsets');
  for (const mem of big ? (['workgroup', 'wgstore64'] as const) : (['workgroup', 'storage', 'wgstore16', 'wgstore64', 'wgstore64cm'] as const)) {
    for (const [str, off, cmA, cmB, nsg] of big ? ([[64, 2048, false, false, 1], [64, 3072, false, true, 1], [64, 4096, false, false, 1], [64, 4096, false, true, 1], [64, 5120, false, false, 1], [64, 6144, false, false, 1], [64, 8192, false, true, 1], [128, 4096, false, false, 1], [16, 4096, false, false, 1], [16, 8192, false, false, 1]] as const) : mem.startsWith('wgstore') ? ([[64, 0, false, false, 1], [64, 0, false, true, 4]] as const) : [
      [16, 0, false, false, 1], [16, 0, true, false, 1], [16, 0, false, true, 1], [64, 0, false, false, 1],
      [64, 16, false, false, 1], [64, 16, false, true, 1], [128, 32, true, true, 1], [64, 0, false, false, 4], [64, 0, false, true, 4],
    ] as const) {
      const n = big ? off + 64 * str : 64 * str; // 64 rows (4 subgroups × 16) of str elements past off
      const wg = nsg * sgSize;
      const src = mem !== 'storage' ? '&As' : '&inA';
      const srcB = mem !== 'storage' ? '&Bs' : '&inB';
      // the result through workgroup memory (stride 16 or 64, row- or column-major), then copied out
      const ws = mem === 'wgstore16' ? 16 : 64;
      const cmS = mem === 'wgstore64cm';
      const store = mem.startsWith('wgstore')
        ? `subgroupMatrixStore(&Cs, ${big ? off : 0}u + sg * 16u * ${cmS ? 1 : ws}u, c, ${cmS}, ${ws}u);
  workgroupBarrier();
  for (var i = lid; i < ${256 * nsg}u; i += ${wg}u) {
    let s2 = i / 256u; let r = (i % 256u) / 16u; let cc = i % 16u;
    outC[i] = Cs[${big ? off : 0}u + ${cmS ? `s2 * 16u + cc * ${ws}u + r` : `(s2 * 16u + r) * ${ws}u + cc`}];
  }`
        : 'subgroupMatrixStore(&outC, sg * 256u, c, false, 16u);';
      const code = `enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> inA: array<f16>;
@group(0) @binding(1) var<storage, read> inB: array<f16>;
@group(0) @binding(2) var<storage, read_write> outC: array<f32>;
var<workgroup> As: array<f16, ${n}>;
var<workgroup> Bs: array<f16, ${n}>;
var<workgroup> Cs: array<f32, ${big ? off + 4096 : 4096}>;
@compute @workgroup_size(${wg})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_id) sg: u32) {
  for (var i = lid; i < ${n}u; i += ${wg}u) { As[i] = inA[i]; Bs[i] = inB[i]; }
  workgroupBarrier();
  let o = ${off}u + sg * ${cmA ? 16 : 16 * str}u;
  let ob = ${off}u + sg * ${cmB ? 16 : 16 * str}u;
  let a = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(${src}, o, ${cmA}, ${str}u);
  let b = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(${srcB}, ob, ${cmB}, ${str}u);
  let c = subgroupMatrixMultiplyAccumulate(a, b, subgroup_matrix_result<f32, 16, 16>());
  ${store}
}`;
      const a = fillRandom(new Float32Array(n), 7);
      const b = fillRandom(new Float32Array(n), 8);
      const ah = Uint16Array.from(a, f32ToF16);
      const bh = Uint16Array.from(b, f32ToF16);
      let err = Number.NaN;
      let msg = '';
      try {
        const module = device.createShaderModule({ code });
        const pipe = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
        const mk = (d: Uint16Array | Float32Array, usage: number) => {
          const buf = device.createBuffer({ size: d.byteLength, usage: usage | GPUBufferUsage.COPY_DST });
          device.queue.writeBuffer(buf, 0, d.buffer as ArrayBuffer, d.byteOffset, d.byteLength);
          return buf;
        };
        const A = mk(ah, GPUBufferUsage.STORAGE);
        const B = mk(bh, GPUBufferUsage.STORAGE);
        const C = mk(new Float32Array(256 * nsg).fill(Number.NaN), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
        const rb = device.createBuffer({ size: 1024 * nsg, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(pipe);
        pass.setBindGroup(0, device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [A, B, C].map((buffer, binding) => ({ binding, resource: { buffer } })) }));
        pass.dispatchWorkgroups(1);
        pass.end();
        enc.copyBufferToBuffer(C, 0, rb, 0, 1024 * nsg);
        device.queue.submit([enc.finish()]);
        await rb.mapAsync(GPUMapMode.READ);
        const got = new Float32Array(rb.getMappedRange().slice(0));
        rb.unmap();
        err = 0;
        for (let s = 0; s < nsg; s++) {
          const o = off + s * (cmA ? 16 : 16 * str);
          const ob = off + s * (cmB ? 16 : 16 * str);
          for (let r = 0; r < 16; r++) {
            for (let c = 0; c < 16; c++) {
              let v = 0;
              for (let k = 0; k < 16; k++) {
                const x = f16ToF32(ah[cmA ? o + k * str + r : o + r * str + k]);
                const y = f16ToF32(bh[cmB ? ob + c * str + k : ob + k * str + c]);
                v += x * y;
              }
              const e = Math.abs(got[s * 256 + r * 16 + c] - v);
              err = Math.max(err, Number.isFinite(e) ? e : Number.POSITIVE_INFINITY);
            }
          }
        }
      } catch (e) {
        msg = String(e).slice(0, 200);
      }
      const r = { mem, str, off, cmA, cmB, nsg, err, msg };
      console.error(JSON.stringify(r));
      out.push(r);
    }
  }
  return out;
}

async function main() {
  const { create, globals } = (await import('webgpu')) as unknown as {
    create(flags: string[]): GPU;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, globals);
  await useSoftwareVulkanIfNoDriver();
  const extra = argValue('--dawn-features') ?? 'allow_unsafe_apis';
  const gpu = create(['backend=vulkan', `enable-dawn-features=${extra}`]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no adapter');
  const features = [...adapter.features].sort();
  const info = adapter.info as unknown as Record<string, unknown>;
  const configs = ((info.subgroupMatrixConfigs as SgConfig[] | undefined) ?? []).map((c) => ({
    componentType: c.componentType,
    resultComponentType: c.resultComponentType,
    M: c.M,
    N: c.N,
    K: c.K,
  }));
  const report: Record<string, unknown> = {
    probe: 'subgroup-matrix',
    description: info.description,
    subgroupMinSize: info.subgroupMinSize,
    subgroupMaxSize: info.subgroupMaxSize,
    features,
    subgroupMatrixConfigs: configs,
  };
  console.error(JSON.stringify(report));
  const cfg = configs.find((c) => c.componentType === 'f16' && c.resultComponentType === 'f32');
  if (!features.includes(FEATURE) || !features.includes('shader-f16') || !cfg) {
    report.gemm = 'no f16 → f32 subgroup-matrix configuration';
    writeJson(argValue('--json'), report);
    return;
  }
  const lim = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: [FEATURE as GPUFeatureName, 'shader-f16', 'subgroups', 'timestamp-query'],
    requiredLimits: {
      maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
      maxBufferSize: lim.maxBufferSize,
      maxComputeInvocationsPerWorkgroup: lim.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: lim.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
    },
  });
  const sgSize = Number(info.subgroupMaxSize ?? 32);
  report.layouts = await layoutTests(device, sgSize);
  const results: unknown[] = [];
  const shapes: [number, number][] = [
    [1, 1],
    [2, 2],
    [2, 4],
    [4, 4],
  ];
  for (const [TM, TN] of process.argv.includes('--layouts-only') ? [] : shapes) {
    for (const sgPerWg of [1, 4, 8]) {
      const code = gemmWgsl(cfg, TM, TN, sgPerWg, sgSize);
      const module = device.createShaderModule({ code });
      let pipeline: GPUComputePipeline;
      try {
        pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      } catch (e) {
        const info = await module.getCompilationInfo();
        const r = { TM, TN, sgPerWg, error: String(e), messages: info.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.type} ${m.message}`) };
        console.error(JSON.stringify(r));
        results.push(r);
        continue;
      }
      const run = async (Mm: number, Nn: number, Kk: number, time: boolean) => {
        const a = fillRandom(new Float32Array(Mm * Kk), 1);
        const b = fillRandom(new Float32Array(Kk * Nn), 2);
        const ah = Uint16Array.from(a, f32ToF16);
        const bh = Uint16Array.from(b, f32ToF16);
        const mk = (data: Uint16Array | Uint32Array | Float32Array, usage: number) => {
          const buf = device.createBuffer({ size: Math.max(16, data.byteLength), usage: usage | GPUBufferUsage.COPY_DST });
          device.queue.writeBuffer(buf, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
          return buf;
        };
        const uni = mk(new Uint32Array([Mm, Nn, Kk, 0]), GPUBufferUsage.UNIFORM);
        const A = mk(ah, GPUBufferUsage.STORAGE);
        const B = mk(bh, GPUBufferUsage.STORAGE);
        const C = mk(new Float32Array(Mm * Nn).fill(Number.NaN), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
        const bind = device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [uni, A, B, C].map((buffer, binding) => ({ binding, resource: { buffer } })),
        });
        const groups = [Nn / (TN * cfg.N * sgPerWg), Mm / (TM * cfg.M)];
        const encodeSteps = (enc: GPUCommandEncoder, n: number, qs?: GPUQuerySet) => {
          for (let i = 0; i < n; i++) {
            const pass = enc.beginComputePass(
              qs && (i === 0 || i === n - 1)
                ? { timestampWrites: { querySet: qs, ...(i === 0 ? { beginningOfPassWriteIndex: 0 } : {}), ...(i === n - 1 ? { endOfPassWriteIndex: 1 } : {}) } }
                : undefined,
            );
            pass.setPipeline(pipeline);
            pass.setBindGroup(0, bind);
            pass.dispatchWorkgroups(groups[0], groups[1]);
            pass.end();
          }
        };
        const enc = device.createCommandEncoder();
        encodeSteps(enc, 1);
        const rb = device.createBuffer({ size: Mm * Nn * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
        enc.copyBufferToBuffer(C, 0, rb, 0, Mm * Nn * 4);
        device.queue.submit([enc.finish()]);
        await rb.mapAsync(GPUMapMode.READ);
        const got = new Float32Array(rb.getMappedRange().slice(0));
        rb.unmap();
        // float64 check on sampled entries, inputs as the GPU saw them (f16-rounded)
        let worst = 0;
        for (let s = 0; s < 256; s++) {
          const idx = (s * 2654435761) % (Mm * Nn);
          const r = Math.floor(idx / Nn);
          const c = idx % Nn;
          let v = 0;
          let mag = 0;
          for (let q = 0; q < Kk; q++) {
            const x = f16ToF32(ah[r * Kk + q]) * f16ToF32(bh[q * Nn + c]);
            v += x;
            mag += Math.abs(x);
          }
          const e = Math.abs(got[idx] - v) / (mag * 2 ** -20 * Math.sqrt(Kk) + 1e-6);
          worst = Math.max(worst, Number.isFinite(e) ? e : Number.POSITIVE_INFINITY);
        }
        let ms: number | undefined;
        if (time && worst <= 1) {
          const qs = device.createQuerySet({ type: 'timestamp', count: 2 });
          const res = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
          const out = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
          const times: number[] = [];
          for (let rep = 0; rep < 12; rep++) {
            const e2 = device.createCommandEncoder();
            encodeSteps(e2, 10, qs);
            e2.resolveQuerySet(qs, 0, 2, res, 0);
            e2.copyBufferToBuffer(res, 0, out, 0, 16);
            device.queue.submit([e2.finish()]);
            await out.mapAsync(GPUMapMode.READ);
            const [t0, t1] = new BigUint64Array(out.getMappedRange().slice(0));
            out.unmap();
            if (rep >= 2) times.push(Number(t1 - t0) / 1e6 / 10);
          }
          times.sort((x, y) => x - y);
          ms = times[Math.floor(times.length / 2)];
        }
        for (const buf of [uni, A, B, C, rb]) buf.destroy();
        return { worst, ms };
      };
      const small = await run(TM * cfg.M * 3, TN * cfg.N * sgPerWg * 2, 512, false);
      const big = await run(4096, 4096, 4096, true);
      const tflops = big.ms ? (2 * 4096 ** 3) / (big.ms * 1e-3) / 1e12 : undefined;
      const r = { TM, TN, sgPerWg, smallCheck: small.worst, bigCheck: big.worst, ms4096: big.ms, tflops };
      console.error(JSON.stringify(r));
      results.push(r);
    }
  }
  report.config = cfg;
  report.gemm = results;
  writeJson(argValue('--json'), report);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
