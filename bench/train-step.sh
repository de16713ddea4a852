#!/usr/bin/env bash
# bench/train-step on the GPU machine: our WebGPU training step, then PyTorch eager f32 on the same card
# (same model, bit-identical weights), merged with ratios and the step-0 check. Each side runs even if
# the other failed (its JSON and stderr still come back); the exit status is non-zero if either did.
#   ../shared/device/kit.sh bench/train-step.ts    (here), then on the device (carry .device-kit):
#   . .device-kit/boot && bash bench/train-step.sh $OUT [--profile] [--d 512 --layers 12 ... (both sides)]
set -uo pipefail
out=${1:?output folder}
shift
mkdir -p "$out"
node .device-kit/train-step.mjs --json "$out/train-step-webgpu.json" "$@" >/dev/null
ours=$?
python3 bench/train_step_torch.py "$out/train-step-torch.json" "$@" >/dev/null
theirs=$?
if [[ $ours -eq 0 && $theirs -eq 0 ]]; then
  python3 bench/merge.py train-step "$out/train-step-webgpu.json" "$out/train-step-torch.json" "$out/train-step.json"
else
  echo "train-step: ours exited $ours, PyTorch exited $theirs" >&2
  exit 1
fi
