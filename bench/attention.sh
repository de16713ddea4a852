#!/usr/bin/env bash
# bench/attention on the GPU machine: our WebGPU kernels, then PyTorch on the same card.
#   ../shared/device/kit.sh bench/attention.ts    (here), then on the device (carry .device-kit):
#   . .device-kit/boot && bash bench/attention.sh $OUT
set -euo pipefail
out=${1:?output folder}
node .device-kit/attention.mjs --json "$out/attention-webgpu.json" >/dev/null
python3 bench/attention_torch.py "$out/attention-torch.json" >/dev/null
python3 bench/merge.py attention "$out/attention-webgpu.json" "$out/attention-torch.json" "$out/attention.json"
