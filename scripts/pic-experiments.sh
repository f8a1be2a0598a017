#!/usr/bin/env bash
# The compression sweep of issue 9: PIC's block mask (`pic`) against the global mask (ICAE, `global`) at ratios 16,
# 64 and 4 with two seeds each (four at 4x, where whether the memory becomes readable depends on the training path),
# then the key-values kind at 16x (two seeds) and the two ablations (`pic-causal-text`, `pic-recurrent`) at 16x. Every
# arm gets the same recipe: the same data in the same order (batches are a pure function of seed and step), the same
# steps, batch, window and learning-rate schedule, so arms of one seed differ only in what the arm names.
#
# Per arm, in runs/pic-experiments/ARM/: pretrain/ (autoencoding + LM continuation on corpus windows), qa/ (QA from
# memory, started from pretrain/checkpoint), eval-SET.json and predictions-SET.jsonl (full passage, memory, another
# passage's memory as the control, nothing: the same questions in each mode, EM/F1 and the gold answer's loss),
# bounds-pretrain.json and bounds-qa.json (held-out reconstruction from each stage's memory against the next window's
# memory, `pic memory-bounds`).
# metrics.jsonl in pretrain/ and qa/ has a probe line every EVAL_EVERY steps with the wall clock (held-out loss and
# token accuracy, EM/F1 from memory on a fixed dev sample).
#
# Resumable run by run: a finished stage or evaluation is skipped, an unfinished one is resumed from its checkpoint,
# data files that exist are kept. Re-run the same command after a stop. On a shared machine, e.g.
#   setsid nohup nice -n 15 scripts/pic-experiments.sh > runs/pic-experiments.log 2>&1 &
# Settings (environment):
#   BASE=models/picsharp-small  the frozen base model folder (config.json, model.safetensors, tokenizer.json)
#   ARMS="pic-16-s1 global-16-s1"  only these arms (default: all, in the order below)
#   KIND=embeddings             memory kind of the main arms (key-values if that is the kind that works)
#   PRETRAIN_STEPS=1500 QA_STEPS=500 WINDOW=256 CHUNK=64 BATCH=8 THREADS=1 EVAL_LIMIT=300
#   QA_MORE=0                   >0: after an arm's evaluation, a second QA stage of this many steps from its QA
#                               checkpoint, evaluated the same way, in ARM/qa-moreN (does longer QA training read more?)
#   MEMORY_INIT=random          start of memory/task tokens: random | vocab-mean
#   DTYPE=                      compute dtype of every stage and evaluation: float32 | bfloat16 (default: the base
#                               folder's torch_dtype). bf16 pays only where bf16 matmuls beat fp32 (`pic bench
#                               forward` shows both); the two arms of a pair must use the same one
#   PASSAGES=long               long: QA on facts/recall/reading passages up to 450 tokens, tests facts, recall,
#                               held-out (the sweep of docs/experiments.md); short: QA on short reading passages (1-3
#                               people) and the primary test reading-short-test (1-2 people) that the base reads well
#                               with the passage, so what memory loses shows (issue 28), beside the long tests; into
#                               runs/pic-experiments-short
#   RUN=runs/pic-experiments    the sweep's folder (default by PASSAGES and SMOKE)
#   SMOKE=1                     a few steps and a few questions per arm into runs/pic-experiments-smoke
set -euo pipefail
source "$(dirname "$0")/recipe.sh"

base=${BASE:-models/picsharp-small}
kind=${KIND:-embeddings}
threads=${THREADS:-1}
window=${WINDOW:-256}; chunk=${CHUNK:-64}; batch=${BATCH:-8}
pretrain_steps=${PRETRAIN_STEPS:-1500}; qa_steps=${QA_STEPS:-500}; qa_more=${QA_MORE:-0}
eval_every=${EVAL_EVERY:-100}; eval_limit=${EVAL_LIMIT:-300}
memory_init=${MEMORY_INIT:-random}
dtype=()
[ -z "${DTYPE:-}" ] || dtype=(--dtype "$DTYPE")
passages=${PASSAGES:-long}
case "$passages" in long) run=runs/pic-experiments ;; short) run=runs/pic-experiments-short ;;
  *) echo "pic-experiments: PASSAGES must be long or short, not '$passages'" >&2; exit 2 ;; esac
smoke=${SMOKE:-0}
if [ "$smoke" = 1 ]; then
  run=$run-smoke; pretrain_steps=3; qa_steps=2; eval_every=2; eval_limit=4; window=${WINDOW:-128}
  [ "$qa_more" = 0 ] || qa_more=2
fi
[ -z "${RUN:-}" ] || run=$RUN

# The arms, in the order a full sweep runs them: NAME POLICY KIND RATIO SEED. 16x first (the paper's learning-speed
# claim), then 64x (its largest gain), then the rest.
other=$([ "$kind" = embeddings ] && echo key-values || echo embeddings)
arms=()
for seed in 1 2; do arms+=("pic-16-s$seed pic $kind 16 $seed" "global-16-s$seed global $kind 16 $seed"); done
for seed in 1 2; do arms+=("pic-64-s$seed pic $kind 64 $seed" "global-64-s$seed global $kind 64 $seed"); done
for seed in 1 2 3 4; do arms+=("pic-4-s$seed pic $kind 4 $seed" "global-4-s$seed global $kind 4 $seed"); done
for seed in 1 2; do arms+=("pic-16-$other-s$seed pic $other 16 $seed" "global-16-$other-s$seed global $other 16 $seed"); done
arms+=("pic-causal-text-16-s1 pic-causal-text $kind 16 1" "pic-recurrent-16-s1 pic-recurrent $kind 16 1")
# A misspelt ARMS name would otherwise run nothing and still report the sweep complete.
for wanted in ${ARMS:-}; do
  known=0
  for spec in "${arms[@]}"; do [ "${spec%% *}" = "$wanted" ] && known=1; done
  [ "$known" = 1 ] || { echo "pic-experiments: unknown arm '$wanted' in ARMS; known arms: $(printf '%s ' "${arms[@]%% *}")" >&2; exit 2; }
done

# The QA sets live in the run folder, so a resumed sweep sees the data it started with. Passages are sized to the
# base model's positions: the 1,024 of picsharp-small take passages up to 450 estimated tokens (~850 real).
positions=$(grep -o '"max_position_embeddings": *[0-9]*' "$base/config.json" | grep -o '[0-9]*$')
longest=$(( positions >= 2048 ? 950 : 450 ))
qa=$run/qa
mkdir -p "$qa"
[ -d data/corpus/train ] || pic data fetch
if [ "$passages" = long ]; then
  gen "$qa/facts-train.json" --kind facts --split train --count "$(n 42000)" --seed 61 --min-tokens 80 --max-tokens 430 --questions-per-context 6
  gen "$qa/recall-train.json" --kind recall --split train --count "$(n 20000)" --seed 63 --min-entities 4 --max-entities 40 --questions-per-context 4
  # Reading passages (many phrasings, distractors, six writing systems): what the held-out generator's questions need a
  # memory to keep; the same generator settings as the base model's training set (issue 10), its train split only.
  gen "$qa/reading-train.json" --kind reading --split train --count "$(n 30000)" --seed 65 --min-tokens 120 --max-tokens 400 --questions-per-context 6
  gen "$qa/facts-dev.json" --kind facts --split dev --count "$(n 300)" --seed 12 --min-tokens 100 --max-tokens 450
  gen "$qa/recall-test.json" --kind recall --split test --count "$(n 300)" --seed 53 --min-entities 4 --max-entities 40
  qa_train=(--qa "$qa/facts-train.json" --qa "$qa/recall-train.json" --qa "$qa/reading-train.json")
  dev_set=$qa/facts-dev.json
  test_sets=(facts-test recall-test heldout-test)
else
  # Short reading passages with the generator settings of train-picsharp-mem.sh's answering episodes and primary test
  # set (its test seed, so the two tables share questions), train and dev with their own seeds; a held-out-phrasing
  # test of the same size beside it.
  gen "$qa/reading-short-train.json" --kind reading --split train --count "$(n 40000)" --seed 67 --min-entities 1 --max-entities 3 --max-tokens 300 --questions-per-context 4
  gen "$qa/reading-short-dev.json" --kind reading --split dev --count "$(n 300)" --seed 68 --min-entities 1 --max-entities 2 --max-tokens 300
  gen "$qa/reading-short-test.json" --kind reading --split test --count "$(n 300)" --seed 77 --min-entities 1 --max-entities 2 --max-tokens 300
  gen "$qa/heldout-short-test.json" --kind heldout --split test --count "$(n 300)" --seed 19 --min-entities 1 --max-entities 2 --max-tokens 300
  qa_train=(--qa "$qa/reading-short-train.json")
  dev_set=$qa/reading-short-dev.json
  test_sets=(reading-short-test heldout-short-test facts-test heldout-test)
fi
gen "$qa/facts-test.json" --kind facts --split test --count "$(n 500)" --seed 13 --min-tokens 100 --max-tokens 450
gen "$qa/heldout-test.json" --kind heldout --split test --count "$(n 400)" --seed 18 --max-tokens "$longest"

# stage OUT ARGS...: compressor_stage (recipe.sh) with the arguments every stage shares; fails when the stage stopped
# early.
stage() {
  local out=$1; shift
  compressor_stage "$out" --model "$base" "${dtype[@]}" --threads "$threads" --batch "$batch" --log-every 20 \
    --checkpoint-minutes 10 --eval-every "$eval_every" --dev-qa "$dev_set" --eval-samples 64 \
    --token-cache "$run/train-tokens.bin" "$@"
}

# evaluate COMPRESSOR DIR: EM/F1 and answer losses on the test sets from the full passage, from memory, from another
# passage's memory (the control) and from nothing, into DIR. An evaluation made before the control existed is redone.
evaluate() {
  local compressor=$1 dir=$2
  for set in "${test_sets[@]}"; do
    grep -qs '"memory-other"' "$dir/eval-$set.json" || crash_retry pic eval-lm --model "$base" --compressor "$compressor" "${dtype[@]}" --qa "$qa/$set.json" \
      --modes full,memory,memory-other,none --limit "$eval_limit" --threads "$threads" \
      --json "$dir/eval-$set.json" --predictions "$dir/predictions-$set.jsonl"
  done
}

# bounds STAGE_DIR JSON: held-out reconstruction from the stage's memory, from the next window's (the control), from
# none and from the text (`pic memory-bounds`), into JSON; experiments-report reads ARM/bounds-{pretrain,qa}.json.
bounds() {
  [ -f "$2" ] || crash_retry pic memory-bounds --model "$base" --compressor "$1/checkpoint" --window "$window" \
    --samples "$(n 64)" --threads "$threads" --json "$2"
}

# arm NAME POLICY KIND RATIO SEED: pretrain, QA fine-tuning, evaluation; with QA_MORE, the longer QA stage too.
arm() {
  local name=$1 policy=$2 memory=$3 ratio=$4 seed=$5
  if [ -n "${ARMS:-}" ] && [[ " $ARMS " != *" $name "* ]]; then return 0; fi
  local dir=$run/$name
  echo "== $name: $policy $memory ${ratio}x seed $seed"
  stage "$dir/pretrain" --objective pretrain --policy "$policy" --kind "$memory" --ratio "$ratio" --chunk-length "$chunk" \
    --lora-rank 16 --lora-alpha 32 --memory-init "$memory_init" \
    --window "$window" --continuation 64 --lm-share 0.5 \
    --steps "$pretrain_steps" --warmup 50 --lr 2e-3 --memory-lr 2e-3 --seed "$seed" \
    || { echo "$name: pretraining stopped early; re-run to resume"; exit 0; }
  bounds "$dir/pretrain" "$dir/bounds-pretrain.json"
  stage "$dir/qa" --objective qa --from "$dir/pretrain/checkpoint" "${qa_train[@]}" \
    --steps "$qa_steps" --warmup 20 --lr 1e-3 --memory-lr 1e-3 --seed "$seed" \
    || { echo "$name: QA training stopped early; re-run to resume"; exit 0; }
  bounds "$dir/qa" "$dir/bounds-qa.json"
  evaluate "$dir/qa/checkpoint" "$dir"
  [ "$qa_more" -gt 0 ] || return 0
  # Another seed, so the continuation sees the questions in a new order rather than replaying the first stage's.
  local more=$dir/qa-more$qa_more
  stage "$more" --objective qa --from "$dir/qa/checkpoint" "${qa_train[@]}" \
    --steps "$qa_more" --warmup 20 --lr 1e-3 --memory-lr 1e-3 --seed $(( seed + 100 )) \
    || { echo "$name: the longer QA stage stopped early; re-run to resume"; exit 0; }
  bounds "$more" "$more/bounds-qa.json"
  evaluate "$more/checkpoint" "$more"
}

for spec in "${arms[@]}"; do arm $spec; done
echo "sweep complete: $run"
