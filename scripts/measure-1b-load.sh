#!/usr/bin/env bash
# Load time and peak resident memory of a 1B-class checkpoint: random weights in Llama-3.2-1B's shapes (its
# config.json, bf16, sharded like the published files), written once to runs/llama-3.2-1b-random, then loaded by
# `pic bench load`. Usage: scripts/measure-1b-load.sh [extra `pic bench load` options]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/PicSharp.Cli -c Release -v quiet -nologo >/dev/null
pic() { dotnet src/PicSharp.Cli/bin/Release/net10.0/pic.dll "$@"; }
dir=runs/llama-3.2-1b-random
if [ ! -f "$dir/model.safetensors.index.json" ]; then
  pic init --config scripts/llama-3.2-1b-config.json --out "$dir" --dtype bfloat16 --max-shard-gb 1 --force
fi
pic info "$dir"
pic bench load --model "$dir" "$@"
