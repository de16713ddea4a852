#!/usr/bin/env bash
# bench/matmul on the GPU machine: our WebGPU kernels, then PyTorch on the same card, merged.
#   ../shared/device/kit.sh bench/matmul.ts    (here), then on the device (carry .device-kit):
#   . .device-kit/boot && bash bench/matmul.sh $OUT
set -euo pipefail
out=${1:?output folder}
mkdir -p "$out"
node .device-kit/matmul.mjs --json "$out/matmul-webgpu.json" >/dev/null
python3 bench/matmul_torch.py "$out/matmul-torch.json" >/dev/null
python3 bench/merge.py matmul "$out/matmul-webgpu.json" "$out/matmul-torch.json" "$out/matmul.json"
