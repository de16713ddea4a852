#!/usr/bin/env bash
# Trains recipes side by side on the GPU machine, then evaluates the models (docs/training.md).
# Here, once: ../shared/device/kit.sh apps/cli/src/main.ts      (→ .device-kit/main.mjs)
# Then with the device tool (carry [".device-kit"]), each call within the warm window of the last:
#
#   . .device-kit/boot && bash recipes/device.sh train $OUT 9 builtin ablation-swa-only ...
#       one `hsa train --resume --max-minutes 9` per recipe, all at once (a step of this model is
#       bound by host work, so several processes share the card well); repeat until each prints
#       `train: done`. Checkpoints stay in $HSA_RUNS (default /tmp/hsa-runs) on the machine; the logs
#       and, once done, config.json, model.safetensors and tokenizer.json come back in $OUT/<recipe>.tar
#       (HSA_MODELS=0: the logs only, e.g. for probes: ~16 MB a model, the tool returns ~8 files).
#       RECIPE:BASE starts RECIPE from the model that BASE's run wrote, or from the model directory BASE
#       (`hsa train --init`; a directory carried along, e.g. runs/builtin-near, ignored by git), e.g.
#       `train $OUT 4 builtin-near && train $OUT 5 probes/fork-keyed:builtin-near probes/fork-far:builtin-near`.
#
#   . .device-kit/boot && bash recipes/device.sh eval $OUT 'builtin niah_single_2 4k,16k 0,25,50,75,100 10' ...
#       one `hsa eval` per job "MODEL TASKS LENGTHS DEPTHS SAMPLES [SEED]" (MODEL: a recipe trained
#       above, or a directory; SEED default 1: another seed gives other samples, so one cell can be
#       spread over processes), all at once, one process per task, length and depth; JSON in
#       <model>/eval-<task>-<length>-d<depth>-s<seed>.json (SAMPLES per depth), all in $OUT/eval.tar.
#       Each process stops after HSA_EVAL_MINUTES (default 9); its JSON keeps the samples it answered
#       (`complete: false`; apps/cli/scripts/results.ts counts them).
set -uo pipefail
phase=${1:?train or eval}
out=${2:?output folder}
shift 2
runs=${HSA_RUNS:-/tmp/hsa-runs}
cli() { node .device-kit/main.mjs "$@"; }
case $phase in
train)
  minutes=${1:?minutes}
  shift
  names=()
  for job in "$@"; do
    r=${job%%:*}
    names+=("$r")
    init=()
    if [[ $job == *:* ]]; then
      base=${job#*:}
      [[ -d $base ]] || base=$runs/$base
      init=(--init "$base")
    fi
    mkdir -p "$runs/$r"
    cli train --recipe "recipes/$r.json" --out "$runs/$r" --backend webgpu --resume "${init[@]}" --max-minutes "$minutes" --every 50 >>"$runs/$r/stdout.log" 2>&1 &
  done
  wait
  for r in "${names[@]}"; do
    # one tar per recipe: the device tool brings back few files, each of limited size
    files=(stdout.log train-log.jsonl)
    [[ -f $runs/$r/model.safetensors && ${HSA_MODELS:-1} == 1 ]] && files+=(config.json model.safetensors tokenizer.json)
    tar cf "$out/${r//\//-}.tar" -C "$runs/$r" "${files[@]}"
    echo "== $r"
    tail -n 4 "$runs/$r/stdout.log"
  done
  ;;
eval)
  for job in "$@"; do
    read -r model tasks lengths depths samples seed <<<"$job"
    seed=${seed:-1}
    dir=$model
    [[ -d $dir ]] || dir=$runs/$model
    name=$(basename "$model")
    mkdir -p "$out/$name"
    for len in ${lengths//,/ }; do
      for task in ${tasks//,/ }; do
        for depth in ${depths//,/ }; do
          f=$out/$name/eval-$task-$len-d$depth-s$seed
          timeout "${HSA_EVAL_MINUTES:-9}m" node .device-kit/main.mjs eval --model "$dir" --backend webgpu \
            --corpus packages/tasks/data/tinyshakespeare.txt --tasks "$task" --lengths "$len" --depths "$depth" \
            --samples "$samples" --seed "$seed" --json "$f.json" >"$f.txt" 2>&1 &
        done
      done
    done
  done
  wait
  for f in "$out"/*/eval-*.txt; do echo "== $f"; grep -v '^\s*$' "$f" | tail -n 3; done
  (cd "$out" && tar cf eval.tar --remove-files */eval-*)
  ;;
*)
  echo "recipes/device.sh: unknown phase $phase (train or eval)" >&2
  exit 2
  ;;
esac
