#!/usr/bin/env bash
# bench/train-step on the GPU machine: our WebGPU training step, then PyTorch eager f32 on the same card
# (same model, bit-identical weights), merged with ratios and the step-0 check.
#   ../shared/device/kit.sh bench/train-step.ts    (here), then on the device (carry .device-kit):
#   . .device-kit/boot && bash bench/train-step.sh $OUT [--d 512 --layers 12 ... (both sides get them)]
set -euo pipefail
out=${1:?output folder}
shift
node .device-kit/train-step.mjs --json "$out/train-step-webgpu.json" "$@" >/dev/null
python3 bench/train_step_torch.py "$out/train-step-torch.json" "$@" >/dev/null
python3 bench/merge.py train-step "$out/train-step-webgpu.json" "$out/train-step-torch.json" "$out/train-step.json"
