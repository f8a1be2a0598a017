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
# Settings: THREADS=2 STEPS=1100 (stage 2) FROM=models/picsharp-base SMOKE=1 (a few steps into RUNS/picsharp-mem-smoke)
set -euo pipefail
source "$(dirname "$0")/recipe.sh"

smoke=${SMOKE:-0}
runs=${RUNS:-/work/runs}
run=$runs/picsharp-mem
threads=${THREADS:-2}
steps1=1500; stage1_stop=436; curriculum1=600
steps2=${STEPS:-1100}; curriculum2=1050; eval_every=200; fit_steps=200
from=${FROM:-models/picsharp-base}
if [ "$smoke" = 1 ]; then run=$runs/picsharp-mem-smoke; steps1=4; stage1_stop=2; curriculum1=2; steps2=2; curriculum2=2; eval_every=2; fit_steps=2; fi
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
# The decoder diagnostic's passages: 1-2 people, three questions each (`pic memory-bounds --optimise` fits the first 12).
gen "$qa/diagnostic-test.json" --kind reading --split test --count 72 --seed 78 --min-entities 1 --max-entities 2 --max-tokens 300 --questions-per-context 3
# Test sets. The primary one: short reading passages (1-2 people) the base reads well with the passage, so that what
# memory loses shows; the secondary ones are picsharp-base's (long facts passages, the independent held-out generator).
gen "$qa/reading-short-test.json" --kind reading --split test --count "$(n 300)" --seed 77 --min-entities 1 --max-entities 2 --max-tokens 300
gen "$qa/facts-test.json" --kind facts --split test --count "$(n 300)" --seed 13 --min-tokens 100 --max-tokens 450
gen "$qa/heldout-test.json" --kind heldout --split test --count "$(n 400)" --seed 18 --max-tokens 950

# train STAGE STEPS FROM ARGS...: one pretrain-lm stage with the data and settings every stage shares, started from the
# model folder FROM, or resumed when STAGE has a checkpoint; nothing when STAGE already reached STEPS. Fails (status
# 1) when it stopped before STEPS (re-run the script to resume).
train() {
  local stage=$1 steps=$2 from=$3; shift 3
  [ "$(done_steps "$stage")" -lt "$steps" ] || return 0
  local start=(--model "$from")
  [ -d "$stage/checkpoint" ] && start=(--resume)
  crash_retry pic pretrain-lm "${start[@]}" --tokenizer "$run/tokenizer.json" --corpus data/corpus/train --validation data/corpus/validation \
    --out "$stage" --batch 1 --seq-len 2048 --lr 5e-4 --qa-share 0.9 \
    --qa "$qa/reading-train.json" --qa "$qa/reading-train-short.json" --qa "$qa/reading-train-long.json" --qa "$qa/facts-train.json" \
    --qa "$qa/spans-train.json" --qa "$qa/recall-train.json" --qa "$qa/repeat-train.json" \
    --memory-weight 0.5 --memory-qa "$qa/mem-reading-train.json" --memory-qa-dev "$qa/mem-reading-dev.json" \
    --memory-ratios 4,16,64 --memory-batch 8 \
    --eval-every "$eval_every" --log-every 10 --export-dtype bfloat16 --threads "$threads" --checkpoint-minutes 10 "$@" || exit 1
  [ "$(done_steps "$stage")" -ge "$steps" ]
}
[ -f "$run/tokenizer.json" ] || cp "$from/tokenizer.json" "$run/tokenizer.json"

# Stage 1, corpus windows and answering episodes, the ratios opened 4 -> 16 -> 64 over 600 steps. The 1,500-step
# schedule was stopped at step 436: its probe showed memory carrying almost nothing (4x reconstruction 0.289 against a
# 0.281 floor, answer loss from own memory 2.230 against another passage's 2.240), with 64x already open.
# A committed stage-2 snapshot stands in for stage 1 on a machine that lost the run folders.
stage1=$run/stage1
snapshot=${SNAPSHOT:-snapshots/picsharp-mem}
from_snapshot=0
[ ! -d "$run/stage2/checkpoint" ] && [ "$smoke" != 1 ] && [ -f "$snapshot/state.json" ] && from_snapshot=1
if [ "$from_snapshot" = 0 ]; then
  train "$stage1" "$stage1_stop" "$from" --steps "$steps1" --stop-at-step "$stage1_stop" --warmup 50 --seed 2040 \
    --memory-curriculum "$curriculum1" || { echo "stage 1 stopped before step $stage1_stop; re-run to resume"; exit 0; }
fi

# Stage 2 from stage 1's checkpoint (its memory episode tokens kept), a new schedule: half of the text episodes
# reconstruct the answering passages themselves (names, places, numbers: what answers need memory to keep), and 4x
# alone for the first third before 16x and 64x join. On a replaced machine it continues from the committed bf16
# snapshot: a fresh optimizer with a short warm-up over the remaining steps, the snapshot's episode tokens kept.
stage2=$run/stage2; from2=$stage1/checkpoint; warmup2=50; seed2=2041; curriculum=$curriculum2; steps=$steps2
if [ "$from_snapshot" = 1 ]; then
  reached=$(grep -o '"step": *[0-9]*' "$snapshot/state.json" | grep -o '[0-9]*$')
  stage2=$run/stage2-from-$reached; from2=$snapshot
  steps=$(( steps2 - reached )); curriculum=$(( curriculum2 > reached ? curriculum2 - reached : 0 )); seed2=$(( 2041 + reached )); warmup2=20
  echo "continuing stage 2 from $snapshot (step $reached): $steps more steps in $stage2"
fi
if ! train "$stage2" "$steps" "$from2" --steps "$steps" --warmup "$warmup2" --seed "$seed2" \
    --memory-curriculum "$curriculum" --memory-passage-share 0.5; then
  if [ "$smoke" != 1 ]; then
    # Stopped early: its latest weights become the snapshot to commit, should the machine be replaced.
    mkdir -p "$snapshot"
    cp "$stage2/model/config.json" "$stage2/model/model.safetensors" "$stage2/model/tokenizer.json" "$stage2/checkpoint/memory_episodes.safetensors" "$snapshot/"
    echo "{\"step\": $(( $(done_steps "$stage2") + ${reached:-0} ))}" > "$snapshot/state.json"
    echo "snapshot of stage-2 step $(( $(done_steps "$stage2") + ${reached:-0} )) in $snapshot (bf16): commit it"
  fi
  echo "stage 2 stopped before step $steps; re-run to resume"; exit 0
fi
stage=$stage2

# Reading with the passage and without it, beside picsharp-base on the same questions.
for set in reading-short-test facts-test heldout-test; do
  [ -f "$stage/eval-$set.json" ] || crash_retry pic eval-lm --model "$stage/model" --qa "$qa/$set.json" --modes full,none --threads "$threads" \
    --json "$stage/eval-$set.json"
done
[ -f "$stage/bounds.json" ] || pic memory-bounds --model "$stage/model" --threads "$threads" --json "$stage/bounds.json" > "$stage/bounds.txt"
# What the frozen result reads from memory fitted to each passage, with its own 16x arrangement's task tokens (the
# same command on picsharp-base, with the bundled compressor's, is in docs/memory-literate-base.md).
[ -f "$stage/optimised.json" ] || crash_retry pic memory-bounds --optimise --model "$stage/model" \
  --compressor "$stage/memory-compressors/pic-embeddings-16" --qa "$qa/diagnostic-test.json" --passages 12 --ratios 4,16 \
  --steps "$fit_steps" --batch 12 --threads "$threads" --json "$stage/optimised.json" > "$stage/optimised.txt"
echo "picsharp-mem done: $stage/model"
