#!/usr/bin/env bash
# bench/moe on the GPU machine: our WebGPU MoE layer and dense SwiGLU, then PyTorch on the same card.
#   ../shared/device/kit.sh bench/moe.ts    (here), then on the device (carry .device-kit):
#   . .device-kit/boot && bash bench/moe.sh $OUT [--small]
# Here (no GPU, SwiftShader): node --conditions=@hsa/source --import tsx bench/moe.ts --small
set -euo pipefail
out=${1:?output folder}
mkdir -p "$out"
flag=${2:-}
node .device-kit/moe.mjs --json "$out/moe-webgpu.json" $flag >/dev/null
python3 bench/moe_torch.py "$out/moe-torch.json" $flag >/dev/null
python3 bench/merge.py moe "$out/moe-webgpu.json" "$out/moe-torch.json" "$out/moe.json"
