#!/usr/bin/env bash
# bench/attention-forward on the GPU machine: dense forward v1 / v2 / v3, then PyTorch SDPA on the card.
#   ../shared/device/kit.sh bench/attention-forward.ts    (here), then on the device (carry .device-kit):
#   . .device-kit/boot && bash bench/attention-forward.sh $OUT
set -euo pipefail
out=${1:?output folder}
mkdir -p "$out"
node .device-kit/attention-forward.mjs --json "$out/attention-forward-webgpu.json" >/dev/null
python3 bench/attention_forward_torch.py "$out/attention-forward-torch.json"
