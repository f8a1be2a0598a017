#!/usr/bin/env bash
# Trains picsharp-mem: picsharp-base continued with memory episodes, so that the base, once frozen, reads soft memory
# (docs/memory-literate-base.md). All weights train on (1 - w) x next-token loss on prose and QA text with the
# passage + w x memory episodes: the model with learned memory tokens (from stage 3 on, through an encoder adapter per
# arrangement) compresses a short reading passage or a corpus window, and the model's weights read the memory back to
# reconstruct it, continue it or answer a question about it. Stages 1-2 mixed every arrangement and taught nothing;
# stage 3 focused on one and the memory began to carry answers; stage 4 continues that focus with 16x.
# Then evaluates the result with the passage and without it, and the decoder diagnostic (`pic memory-bounds
# --optimise`) beside picsharp-base's.
#
# Resumable: data files that exist are kept, a stage with a checkpoint is resumed exactly, a finished one skipped.
# Run folders live in RUNS (default /work/runs, outside the work tree); a stage that spans sessions on machines that
# may be replaced writes a bf16 snapshot when stopped early (commit it), and continues from it when its folder is gone.
#   setsid nohup scripts/train-picsharp-mem.sh > /work/runs/picsharp-mem.log 2>&1 &
# Settings: THREADS=2 STEPS=2000 (stage 4) FROM=models/picsharp-base SMOKE=1 (a few steps into RUNS/picsharp-mem-smoke)
set -euo pipefail
source "$(dirname "$0")/recipe.sh"

smoke=${SMOKE:-0}
runs=${RUNS:-/work/runs}
run=$runs/picsharp-mem
threads=${THREADS:-2}
steps1=1500; stage1_stop=436; curriculum1=600
steps2=1100; stage2_stop=448; curriculum2=1050
steps3=300; eval_every3=50
steps4=${STEPS:-2000}; curriculum4=2000; eval_every=200; fit_steps=200
from=${FROM:-models/picsharp-base}
if [ "$smoke" = 1 ]; then
  run=$runs/picsharp-mem-smoke; steps1=4; stage1_stop=2; curriculum1=2; steps2=4; stage2_stop=2; curriculum2=2; steps3=2; eval_every3=2
  steps4=2; curriculum4=2; eval_every=2; fit_steps=2
fi
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
    --out "$stage" --batch 1 --seq-len 2048 --qa-share 0.9 \
    --qa "$qa/reading-train.json" --qa "$qa/reading-train-short.json" --qa "$qa/reading-train-long.json" --qa "$qa/facts-train.json" \
    --qa "$qa/spans-train.json" --qa "$qa/recall-train.json" --qa "$qa/repeat-train.json" \
    --memory-weight 0.5 --memory-qa "$qa/mem-reading-train.json" --memory-qa-dev "$qa/mem-reading-dev.json" \
    --memory-batch 8 --log-every 10 --export-dtype bfloat16 --threads "$threads" --checkpoint-minutes 10 "$@" || exit 1
  [ "$(done_steps "$stage")" -ge "$steps" ]
}
[ -f "$run/tokenizer.json" ] || cp "$from/tokenizer.json" "$run/tokenizer.json"

# evaluate MODEL COMPRESSORS OUT: the frozen result read with the passage and without it (beside picsharp-base on the
# same questions), held-out reconstruction bounds, and the decoder diagnostic (`pic memory-bounds --optimise`) with the
# task tokens of its own 16x arrangement (the same command on picsharp-base, with the bundled compressor's, is in
# docs/memory-literate-base.md); into OUT.
evaluate() {
  local model=$1 compressors=$2 out=$3
  mkdir -p "$out"
  for set in reading-short-test facts-test heldout-test; do
    [ -f "$out/eval-$set.json" ] || crash_retry pic eval-lm --model "$model" --qa "$qa/$set.json" --modes full,none --threads "$threads" \
      --json "$out/eval-$set.json"
  done
  [ -f "$out/bounds.json" ] || pic memory-bounds --model "$model" --threads "$threads" --json "$out/bounds.json" > "$out/bounds.txt"
  [ -f "$out/optimised.json" ] || crash_retry pic memory-bounds --optimise --model "$model" \
    --compressor "$compressors/pic-embeddings-16" --qa "$qa/diagnostic-test.json" --passages 12 --ratios 4,16 \
    --steps "$fit_steps" --batch 12 --threads "$threads" --json "$out/optimised.json" > "$out/optimised.txt"
}

# The frozen result, once committed (FROZEN, default models/picsharp-mem: the model and its arrangements' compressors
# in memory-compressors/), stands in for every stage on a machine that lost the run folders: only the evaluations run.
frozen=${FROZEN:-models/picsharp-mem}
if [ "$smoke" != 1 ] && [ ! -d "$run/stage4/model" ] && [ -f "$frozen/model.safetensors" ]; then
  evaluate "$frozen" "$frozen/memory-compressors" "$run/frozen"
  echo "picsharp-mem (committed, frozen) evaluated: $run/frozen"
  exit 0
fi

# A committed snapshot (bf16 weights + episode tokens and adapters, state.json {"stage": S, "step": K}) stands in for
# every stage up to S on a machine that lost the run folders; S continues from it with a fresh optimizer.
snapshot=${SNAPSHOT:-snapshots/picsharp-mem}
snap_stage=none; snap_step=0
if [ "$smoke" != 1 ] && [ -f "$snapshot/state.json" ]; then
  snap_stage=$(grep -o '"stage": *"[a-z0-9]*"' "$snapshot/state.json" | grep -o '"[a-z0-9]*"$' | tr -d '"' || true)
  snap_stage=${snap_stage:-stage2}  # the first snapshot, written before stages were named, was stage 2's
  snap_step=$(grep -o '"step": *[0-9]*' "$snapshot/state.json" | grep -o '[0-9]*$')
fi
# order STAGE: 1..4; lets a snapshot of a later stage skip the earlier ones.
order() { echo "${1#stage}"; }
have() { [ -d "$run/$1/checkpoint" ]; }
# snapshot_stop STAGE STEPS_BEFORE: after a stage stopped early, its latest weights become the snapshot to commit.
snapshot_stop() {
  local dir=$1 before=$2 name=$3
  [ "$smoke" = 1 ] && return 0
  mkdir -p "$snapshot"
  cp "$dir/model/config.json" "$dir/model/model.safetensors" "$dir/model/tokenizer.json" "$dir/checkpoint/memory_episodes.safetensors" "$snapshot/"
  echo "{\"stage\": \"$name\", \"step\": $(( $(done_steps "$dir") + before ))}" > "$snapshot/state.json"
  echo "snapshot of $name step $(( $(done_steps "$dir") + before )) in $snapshot (bf16): commit it"
}
# later_snapshot STAGE: true when a snapshot of a later stage stands in for STAGE (its folder is gone).
later_snapshot() { ! have "$1" && [ "$snap_stage" != none ] && [ "$(order "$snap_stage")" -gt "$(order "$1")" ]; }
# from_snapshot STAGE: true when STAGE itself continues from the snapshot (its folder is gone).
from_snapshot() { ! have "$1" && [ "$snap_stage" = "$1" ]; }

# Stage 1, corpus windows and answering episodes, the ratios opened 4 -> 16 -> 64 over 600 steps. The 1,500-step
# schedule was stopped at step 436: its probe showed memory carrying almost nothing (4x reconstruction 0.289 against a
# 0.281 floor, answer loss from own memory 2.230 against another passage's 2.240), with 64x already open.
stage1=$run/stage1
if ! later_snapshot stage2 && ! from_snapshot stage2 && ! have stage2; then
  train "$stage1" "$stage1_stop" "$from" --lr 5e-4 --steps "$steps1" --stop-at-step "$stage1_stop" --warmup 50 --seed 2040 \
    --memory-ratios 4,16,64 --memory-curriculum "$curriculum1" --eval-every "$eval_every" \
    || { echo "stage 1 stopped before step $stage1_stop; re-run to resume"; exit 0; }
fi

# Stage 2 from stage 1's checkpoint (its memory episode tokens kept), a new 1,100-step schedule: half of the text
# episodes reconstruct the answering passages themselves, and 4x alone for the first third. Stopped at step 448: after
# 884 steps in all, answers still took nothing from memory (docs/memory-literate-base.md).
stage2=$run/stage2
if ! later_snapshot stage2 && ! from_snapshot stage2; then
  train "$stage2" "$stage2_stop" "$stage1/checkpoint" --lr 5e-4 --steps "$steps2" --stop-at-step "$stage2_stop" --warmup 50 --seed 2041 \
    --memory-ratios 4,16,64 --memory-curriculum "$curriculum2" --memory-passage-share 0.5 --eval-every "$eval_every" \
    || { echo "stage 2 stopped before step $stage2_stop; re-run to resume"; exit 0; }
fi
from2=$stage2/checkpoint
from_snapshot stage2 && from2=$snapshot

# Stage 3, the probe that first made the model's own memory carry answers: one arrangement (pic, embeddings, 4x),
# half answering and half reconstructing the passage, and each arrangement compressing through its own rank-16 encoder
# adapter at lr 2e-3 (the model's weights at 5e-4 still train through both passes).
focused=(--memory-kv-share 0 --memory-qa-share 0.5 --memory-passage-share 1 --memory-encoder-lora-rank 16)
stage3=$run/stage3
# A snapshot of stage 3 is its last step: stage 4 starts from it.
if ! later_snapshot stage3 && ! from_snapshot stage3; then
  train "$stage3" "$steps3" "$from2" --lr 5e-4 --steps "$steps3" --warmup 20 --seed 3005 --memory-ratios 4 --memory-curriculum 0 \
    --memory-global-share 0 --eval-every "$eval_every3" --memory-lr 2e-3 "${focused[@]}" \
    || { echo "stage 3 stopped before step $steps3; re-run to resume"; exit 0; }
fi

# Stage 4, the long one: stage 3's focus and mask at a fifth of its peak rates (lr 1e-4, encoder 4e-4), 4x alone for
# the first half and 16x beside it for the second. Two stage-4 runs that re-warmed to stage 3's peak rates lost its
# reading within 200-400 steps (the 4x gap fell from 0.324 nats to 0.015 with both masks 50/50, to 0.021 with `pic`
# alone; RUNS/picsharp-mem/stage4-both-masks, stage4-pic-rewarm): stage 3's gap grew while its rate decayed. The mask
# comparison then needs its ablation, a base co-trained on `global` alone. On a replaced machine stage 4 continues from
# the committed snapshot: a fresh optimizer with a short warm-up over the remaining steps.
stage4=$run/stage4; from4=$stage3/checkpoint; warmup4=50; seed4=4001; curriculum=$curriculum4; steps=$steps4; before=0
from_snapshot stage3 && from4=$snapshot
if from_snapshot stage4; then
  before=$snap_step; stage4=$run/stage4-from-$before; from4=$snapshot
  steps=$(( steps4 - before )); curriculum=$(( curriculum4 > before ? curriculum4 - before : 0 )); seed4=$(( 4001 + before )); warmup4=20
  echo "continuing stage 4 from $snapshot (step $before): $steps more steps in $stage4"
fi
if ! train "$stage4" "$steps" "$from4" --lr 1e-4 --memory-lr 4e-4 --steps "$steps" --warmup "$warmup4" --seed "$seed4" --memory-ratios 4,16 \
    --memory-curriculum "$curriculum" --memory-global-share 0 --eval-every "$eval_every" "${focused[@]}"; then
  snapshot_stop "$stage4" "$before" stage4
  echo "stage 4 stopped before step $steps; re-run to resume"; exit 0
fi

evaluate "$stage4/model" "$stage4/memory-compressors" "$stage4"
echo "picsharp-mem done: $stage4/model"
