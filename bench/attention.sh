#!/usr/bin/env bash
# bench/attention on the GPU machine: our WebGPU kernels, then PyTorch on the same card.
#   ../shared/device/kit.sh bench/attention.ts    (here), then on the device (carry .device-kit):
#   . .device-kit/boot && bash bench/attention.sh $OUT [decode|prefill|train|swa]    (only the decode steps,
#   only prefill: 32K, 128K and 256K tokens, or only the training step with its profile; TRAIN_LENGTHS=
#   16384,131072 picks its lengths on both sides; swa: the SWA forward at 32K, W 4K, its variants)
set -euo pipefail
out=${1:?output folder}
mkdir -p "$out"
mode=${2:-all}
flag=$([ "$mode" = decode ] && echo --decode || true)
if [ "$mode" = prefill ]; then flag=--prefill; fi
if [ "$mode" = train ]; then flag=--train; fi
if [ "$mode" = swa ]; then flag=--swa; fi
node .device-kit/attention.mjs --json "$out/attention-webgpu.json" $flag ${TRAIN_LENGTHS:+--train-lengths $TRAIN_LENGTHS} >/dev/null
python3 bench/attention_torch.py "$out/attention-torch.json" "$mode" >/dev/null
python3 bench/merge.py attention "$out/attention-webgpu.json" "$out/attention-torch.json" "$out/attention.json"
