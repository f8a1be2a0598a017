#!/usr/bin/env bash
# Trains picsharp-mem: picsharp-base continued with memory episodes, so that the base, once frozen, reads soft memory
# (models/picsharp-mem/MODEL_CARD.md). All weights train on (1 - w) x next-token loss on prose and QA text with the
# passage + w x memory episodes: the model with learned memory tokens compresses a corpus window or a short reading
# passage (mask pic or global at random, embeddings or key-values memory, ratios 4/16/64 opened from low to high) and
# the same weights read the memory back to reconstruct the window, continue it or answer a question about it.
# Then evaluates the result with the passage and without it, and the decoder diagnostic (`pic memory-bounds
# --optimise`) beside picsharp-base's.
#
# Resumable: data files that exist are kept, a stage with a checkpoint is resumed exactly, a finished one skipped.
# Run folders live in RUNS (default /work/runs, outside the work tree); a run that spans sessions on machines that
# may be replaced continues from a committed bf16 snapshot with FROM=DIR (a fresh optimizer with a short warm-up).
#   setsid nohup scripts/train-picsharp-mem.sh > /work/runs/picsharp-mem.log 2>&1 &
# Settings: THREADS=2 STEPS=1500 CURRICULUM=600 FROM=models/picsharp-base SMOKE=1 (a few steps into RUNS/picsharp-mem-smoke)
set -euo pipefail
source "$(dirname "$0")/recipe.sh"

smoke=${SMOKE:-0}
runs=${RUNS:-/work/runs}
run=$runs/picsharp-mem
threads=${THREADS:-2}
steps=${STEPS:-1500}; curriculum=${CURRICULUM:-600}; eval_every=200
from=${FROM:-models/picsharp-base}
if [ "$smoke" = 1 ]; then run=$runs/picsharp-mem-smoke; steps=3; curriculum=2; eval_every=2; fi
qa=$run/qa
mkdir -p "$qa"

[ -d data/corpus/train ] || pic data fetch
# Memory episodes answer questions on short reading passages (1-3 people, at most ~300 estimated tokens); the probe
# reads held-out ones of the dev split.
gen "$qa/mem-reading-train.json" --kind reading --split train --count "$(n 40000)" --seed 81 --min-entities 1 --max-entities 3 --max-tokens 300 --questions-per-context 4
gen "$qa/mem-reading-dev.json" --kind reading --split dev --count 64 --seed 82 --min-entities 1 --max-entities 3 --max-tokens 300
# Next-token text: the kinds of picsharp-base's stage 2 with new seeds (new passages), so it keeps reading with the passage.
gen "$qa/reading-train.json" --kind reading --split train --count "$(n 30000)" --seed 85 --min-tokens 120 --max-tokens 400 --questions-per-context 6
gen "$qa/reading-train-short.json" --kind reading --split train --count "$(n 20000)" --seed 86 --min-entities 1 --max-entities 3 --max-tokens 400 --questions-per-context 4
gen "$qa/reading-train-long.json" --kind reading --split train --count "$(n 12000)" --seed 91 --min-tokens 430 --max-tokens 900 --questions-per-context 8
gen "$qa/facts-train.json" --kind facts --split train --count "$(n 15000)" --seed 87 --min-tokens 80 --max-tokens 430 --questions-per-context 6
gen "$qa/spans-train.json" --kind spans --split train --count "$(n 12000)" --seed 88 --min-tokens 60 --max-tokens 430 --questions-per-context 4
gen "$qa/recall-train.json" --kind recall --split train --count "$(n 15000)" --seed 89 --min-entities 4 --max-entities 40 --questions-per-context 4
gen "$qa/repeat-train.json" --kind repeat --split train --count "$(n 3000)" --seed 90 --min-tokens 40 --max-tokens 300
# Test sets. The primary one: short reading passages (1-2 people) the base reads well with the passage, so that what
# memory loses shows; the secondary ones are picsharp-base's (long facts passages, the independent held-out generator).
gen "$qa/reading-short-test.json" --kind reading --split test --count "$(n 300)" --seed 77 --min-entities 1 --max-entities 2 --max-tokens 300
gen "$qa/facts-test.json" --kind facts --split test --count "$(n 300)" --seed 13 --min-tokens 100 --max-tokens 450
gen "$qa/heldout-test.json" --kind heldout --split test --count "$(n 400)" --seed 18 --max-tokens 950

# The run, or its continuation from the committed snapshot when the machine that held the run was replaced: a fresh
# optimizer with a short warm-up over the remaining steps, the snapshot's memory episode tokens kept, new data draws.
stage=$run/stage1
snapshot=${SNAPSHOT:-snapshots/picsharp-mem}
seed=2040; warmup=50
if [ ! -d "$stage/checkpoint" ] && [ "$smoke" != 1 ] && [ -f "$snapshot/state.json" ]; then
  reached=$(grep -o '"step": *[0-9]*' "$snapshot/state.json" | grep -o '[0-9]*$')
  stage=$run/stage1-from-$reached; from=$snapshot
  steps=$(( steps - reached )); curriculum=$(( curriculum > reached ? curriculum - reached : 0 )); seed=$(( 2040 + reached )); warmup=20
  echo "continuing from $snapshot (step $reached): $steps more steps in $stage"
fi
resume=$(resume_flag "$stage") || resume=done
if [ "$resume" != done ]; then
  start=(--model "$from")
  [ "$resume" = --resume ] && start=()
  crash_retry pic pretrain-lm "${start[@]}" --tokenizer "$from/tokenizer.json" --corpus data/corpus/train --validation data/corpus/validation \
    --out "$stage" --batch 1 --seq-len 2048 --steps "$steps" --lr 5e-4 --warmup "$warmup" --qa-share 0.9 --seed "$seed" \
    --qa "$qa/reading-train.json" --qa "$qa/reading-train-short.json" --qa "$qa/reading-train-long.json" --qa "$qa/facts-train.json" \
    --qa "$qa/spans-train.json" --qa "$qa/recall-train.json" --qa "$qa/repeat-train.json" \
    --memory-weight 0.5 --memory-qa "$qa/mem-reading-train.json" --memory-qa-dev "$qa/mem-reading-dev.json" \
    --memory-ratios 4,16,64 --memory-curriculum "$curriculum" --memory-batch 8 \
    --eval-every "$eval_every" --log-every 10 --export-dtype bfloat16 --threads "$threads" --checkpoint-minutes 10 $resume || exit 1
  if [ "$(done_steps "$stage")" -lt "$steps" ]; then
    # Stopped early: its latest weights become the snapshot to commit, should the machine be replaced.
    if [ "$smoke" != 1 ]; then
      mkdir -p "$snapshot"
      cp "$stage/model/config.json" "$stage/model/model.safetensors" "$stage/model/tokenizer.json" "$stage/checkpoint/memory_episodes.safetensors" "$snapshot/"
      echo "{\"step\": $(( $(done_steps "$stage") + ${reached:-0} ))}" > "$snapshot/state.json"
      echo "snapshot of step $(( $(done_steps "$stage") + ${reached:-0} )) in $snapshot (bf16): commit it"
    fi
    echo "stopped before step $steps; re-run to resume"; exit 0
  fi
fi

# Reading with the passage and without it, beside picsharp-base on the same questions.
for set in reading-short-test facts-test heldout-test; do
  [ -f "$stage/eval-$set.json" ] || crash_retry pic eval-lm --model "$stage/model" --qa "$qa/$set.json" --modes full,none --threads "$threads" \
    --json "$stage/eval-$set.json"
done
[ -f "$stage/bounds.json" ] || pic memory-bounds --model "$stage/model" --threads "$threads" --json "$stage/bounds.json" > "$stage/bounds.txt"
echo "picsharp-mem done: $stage/model"
