#!/usr/bin/env bash
# Can the decoder read a compressor's memory at all? Issue 9's milestone before any sweep: at ratio 4, held-out
# autoencoding token accuracy well above the no-memory floor (target >= 0.6), then QA from 4x memory well above the
# no-context floor. This script measures, on one base model, the bounds (`pic memory-bounds`: no memory vs the text
# itself as memory) and the two memory kinds, each arm trained with the same data order, steps and schedule:
#   emb-frozen    input-embedding memory (ICAE), frozen decoder (the paper's setting)
#   kv-frozen     key-values memory (500xCompressor-style prefix at every layer), frozen decoder
# then QA fine-tuning from each arm's autoencoder on short facts passages and EM/F1 from memory vs full vs none.
# (The decoder-adapter arms of docs/experiments.md section 3, a retired deviation, run at tag decoder-adapter-final.)
#
# Resumable: a finished stage or evaluation is skipped, an unfinished one resumed. Results per arm in
# runs/memory-readability/ARM/: ae/ and qa/ (train-compressor runs), bounds.json (memory-bounds of the AE
# compressor), eval-facts-short.json. Settings (environment):
#   BASE=models/picsharp-small   ARMS="emb-frozen" (default: both)   THREADS=2
#   AE_STEPS=600 QA_STEPS=400 RATIO=4 WINDOW=128 RANK=16 EVAL_LIMIT=150   SMOKE=1 (a few steps)
set -euo pipefail
source "$(dirname "$0")/recipe.sh"

base=${BASE:-models/picsharp-small}
threads=${THREADS:-2}
ratio=${RATIO:-4}; window=${WINDOW:-128}; rank=${RANK:-16}
ae_steps=${AE_STEPS:-600}; qa_steps=${QA_STEPS:-400}; eval_limit=${EVAL_LIMIT:-150}
run=${RUN:-runs/memory-readability/$(basename "$base")}
smoke=${SMOKE:-0}
if [ "$smoke" = 1 ]; then run=runs/memory-readability-smoke; ae_steps=3; qa_steps=2; eval_limit=4; fi

qa=$run/qa
mkdir -p "$qa"
[ -d data/corpus/train ] || pic data fetch
# Short passages (1-3 people, ~240 tokens), the setting of docs/experiments.md section 2.
gen "$qa/facts-short-train.json" --kind facts --split train --count "$(n 24000)" --seed 61 --min-entities 1 --max-entities 3 --questions-per-context 4
gen "$qa/facts-short-dev.json" --kind facts --split dev --count "$(n 200)" --seed 12 --min-entities 1 --max-entities 3
gen "$qa/facts-short-test.json" --kind facts --split test --count "$(n 300)" --seed 13 --min-entities 1 --max-entities 3

[ -f "$run/bounds.json" ] || crash_retry pic memory-bounds --model "$base" --window "$window" --threads "$threads" --json "$run/bounds.json"

# stage OUT ARGS...: compressor_stage (recipe.sh) with the options every stage shares; stops the script (status 0,
# to be re-run) when the stage stopped early.
stage() {
  local out=$1; shift
  compressor_stage "$out" --model "$base" --threads "$threads" --batch 8 --log-every 20 --checkpoint-minutes 10 \
    --token-cache "$run/train-tokens.bin" "$@" || { echo "$out stopped early; re-run to resume"; exit 0; }
}

# arm NAME KIND: autoencoding at the ratio, its bounds, QA from it, EM/F1 from memory.
arm() {
  local name=$1 kind=$2
  if [ -n "${ARMS:-}" ] && [[ " $ARMS " != *" $name "* ]]; then return 0; fi
  local dir=$run/$name
  echo "== $name: $kind memory, ratio $ratio, frozen decoder"
  stage "$dir/ae" --objective pretrain --policy pic --kind "$kind" --ratio "$ratio" --chunk-length 64 --window "$window" \
    --lm-share 0 --lora-rank "$rank" --lora-alpha $((2 * rank)) \
    --lr 2e-3 --memory-lr 2e-3 --warmup 50 --steps "$ae_steps" --eval-every 100 --eval-samples 64 --seed 1
  [ -f "$dir/bounds.json" ] || crash_retry pic memory-bounds --model "$base" --compressor "$dir/ae/checkpoint" --window "$window" \
    --threads "$threads" --json "$dir/bounds.json"
  stage "$dir/qa" --objective qa --from "$dir/ae/checkpoint" --qa "$qa/facts-short-train.json" --dev-qa "$qa/facts-short-dev.json" \
    --lr 1e-3 --memory-lr 1e-3 --warmup 20 --steps "$qa_steps" --eval-every 100 --eval-samples 50 --seed 1
  [ -f "$dir/eval-facts-short.json" ] || crash_retry pic eval-lm --model "$base" --compressor "$dir/qa/checkpoint" \
    --qa "$qa/facts-short-test.json" --modes full,memory,none --limit "$eval_limit" --threads "$threads" \
    --json "$dir/eval-facts-short.json" --predictions "$dir/predictions-facts-short.jsonl"
}

arm emb-frozen embeddings
arm kv-frozen key-values
echo "memory readability ablation complete: $run"

# The ablation table (markdown) from the arms' JSON files.
python3 - "$run" <<'PY'
import json, os, sys
run = sys.argv[1]
b = json.load(open(f"{run}/bounds.json"))
print(f"bounds ({b['windows']} held-out windows of {b['window']} tokens): floor {b['floor']['accuracy']:.3f}, ceiling {b['ceiling']['accuracy']:.3f}\n")
print("| arm | AE token accuracy (memory) | AE loss | facts-short EM full / memory / none | F1 full / memory / none |")
print("|---|---|---|---|---|")
for arm in ["emb-frozen", "kv-frozen"]:
    d = f"{run}/{arm}"
    if not os.path.exists(f"{d}/eval-facts-short.json"): continue
    c = json.load(open(f"{d}/bounds.json"))["compressor"]
    modes = {m["mode"]: m for m in json.load(open(f"{d}/eval-facts-short.json"))["modes"]}
    em = " / ".join(f"{modes[m]['exact_match']:.3f}" for m in ["full", "memory", "none"])
    f1 = " / ".join(f"{modes[m]['f1']:.3f}" for m in ["full", "memory", "none"])
    print(f"| {arm} | {c['accuracy']:.3f} | {c['loss']:.3f} | {em} | {f1} |")
PY
