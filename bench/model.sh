#!/usr/bin/env bash
# bench/model on the GPU machine (random bf16 weights; see bench/model.ts for what is timed).
#   ../shared/device/kit.sh bench/model.ts    (here), then on the device (carry .device-kit):
#   . .device-kit/boot && bash bench/model.sh $OUT [budget seconds for real prefill, default 240]
set -euo pipefail
out=${1:?output folder}
mkdir -p "$out"
node .device-kit/model.mjs --json "$out/model.json" --budget-s "${2:-240}" 2> "$out/model.log" >/dev/null
