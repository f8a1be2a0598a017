#!/usr/bin/env bash
# Rebuilds the bundled model models/picsharp-small from nothing: fetches the public-domain text, trains the tokenizer,
# generates the QA sets, pretrains the LM and evaluates it. Every number in models/picsharp-small/MODEL_CARD.md comes
# from these commands. Resumable: re-running after an interruption continues the training from its last checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build -c Release src/PicSharp.Cli >/dev/null
pic() { dotnet src/PicSharp.Cli/bin/Release/net10.0/pic.dll "$@"; }
run=runs/picsharp-small
mkdir -p "$run" data/qa

pic data fetch
[ -f "$run/tokenizer.json" ] || pic tokenizer train --input data/corpus/train --vocab-size 4096 --out "$run/tokenizer.json"

# Facts and definitions contexts stay within ~450 estimated tokens (about 850 real ones) so each example fits the
# model's 1024-token training sequences whole.
pic data qa --kind facts --split train --count 20000 --seed 11 --min-tokens 80 --max-tokens 450 --out data/qa/facts-train.json
pic data qa --kind facts --split dev --count 300 --seed 12 --min-tokens 100 --max-tokens 450 --out data/qa/facts-dev.json
pic data qa --kind facts --split test --count 500 --seed 13 --min-tokens 100 --max-tokens 450 --out data/qa/facts-test.json
pic data qa --kind definitions --split train --count 8000 --seed 21 --min-tokens 80 --max-tokens 450 --out data/qa/definitions-train.json
pic data qa --kind definitions --split test --count 300 --seed 23 --min-tokens 100 --max-tokens 450 --out data/qa/definitions-test.json
pic data qa --kind arithmetic --split train --count 8000 --seed 31 --out data/qa/arithmetic-train.json
pic data qa --kind arithmetic --split test --count 300 --seed 33 --out data/qa/arithmetic-test.json
# Stage 2's curriculum: short passages with 1-3 entities, two questions each.
pic data qa --kind facts --split train --count 24000 --seed 41 --min-entities 1 --max-entities 3 --questions-per-context 2 --out data/qa/facts-train-short.json
# Stage 3's look-up drills (copy the word after a given one, the value of a key, or a whole list).
pic data qa --kind recall --split train --count 40000 --seed 51 --min-entities 4 --max-entities 40 --out data/qa/recall-train.json
pic data qa --kind recall --split test --count 300 --seed 53 --min-entities 4 --max-entities 40 --out data/qa/recall-test.json

# One training stage into OUT: the arguments every stage shares, plus --resume when OUT already has a checkpoint.
train_stage() {
  local out=$1; shift
  local resume=()
  [ -d "$out/checkpoint" ] && resume=(--resume)
  pic pretrain-lm --tokenizer "$run/tokenizer.json" --corpus data/corpus/train --validation data/corpus/validation \
    --out "$out" --batch 8 --seq-len 1024 --log-every 10 --export-dtype bfloat16 --threads 2 "$@" "${resume[@]}"
}
all_qa=(--qa data/qa/recall-train.json --qa data/qa/facts-train-short.json --qa data/qa/facts-train.json
        --qa data/qa/definitions-train.json --qa data/qa/arithmetic-train.json)

# Stage 1: 1000 steps of 8 x 1024 tokens, 70 % QA rows.
stage1=runs/picsharp-small
train_stage "$stage1" --config models/configs/picsharp-small.json \
  --qa data/qa/facts-train.json --qa data/qa/definitions-train.json --qa data/qa/arithmetic-train.json \
  --steps 1000 --lr 1.5e-3 --warmup 50 --qa-share 0.7 --seed 1234 --checkpoint-minutes 10 --eval-every 100 --max-minutes 95

# Stage 2: continues from stage 1's fp32 checkpoint with the short-passage curriculum and 85 % QA rows; it was
# stopped at step 300 of a 1200-step schedule (no copying had emerged, see MODEL_CARD.md).
stage2=runs/picsharp-small-stage2
train_stage "$stage2" --model "$stage1/checkpoint" \
  --qa data/qa/facts-train-short.json --qa data/qa/facts-train.json --qa data/qa/definitions-train.json --qa data/qa/arithmetic-train.json \
  --steps 1200 --lr 1e-3 --warmup 30 --qa-share 0.85 --seed 4321 --checkpoint-minutes 10 --eval-every 200 --stop-at-step 300

# Stage 3: continues from stage 2 with the look-up drills added and 90 % QA rows.
stage3=runs/picsharp-small-stage3
train_stage "$stage3" --model "$stage2/checkpoint" "${all_qa[@]}" \
  --steps 1000 --lr 1e-3 --warmup 30 --qa-share 0.9 --seed 777 --checkpoint-minutes 8 --eval-every 200

# Stage 4: a shorter, lower-LR continuation of stage 3's mix.
stage4=runs/picsharp-small-stage4
train_stage "$stage4" --model "$stage3/checkpoint" "${all_qa[@]}" \
  --steps 550 --lr 6e-4 --warmup 20 --qa-share 0.9 --seed 888 --checkpoint-minutes 8 --eval-every 275

for kind in facts definitions arithmetic recall; do
  pic eval-lm --model "$stage4/model" --qa "data/qa/$kind-test.json" --modes full,none --threads 1 \
    --json "$stage4/eval-$kind.json" --predictions "$stage4/predictions-$kind.jsonl"
done

# The bundled copy (bf16 weights, tokenizer) that `pic demo` and the README use.
mkdir -p models/picsharp-small
cp "$stage4"/model/config.json "$stage4"/model/model.safetensors "$stage4"/model/tokenizer.json models/picsharp-small/
