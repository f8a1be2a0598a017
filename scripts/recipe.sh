# Sourced by the resumable training scripts (train-picsharp-*, memory-readability, pic-experiments): builds the CLI
# once, then defines what every recipe shares. Expects the caller to have set `smoke` (1 = a smoke run).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dotnet build -c Release src/PicSharp.Cli >/dev/null
pic() { dotnet src/PicSharp.Cli/bin/Release/net10.0/pic.dll "$@"; }

# n COUNT: the number of questions of a set (a hundredth of it, at least 40, in a smoke run).
n() { if [ "${smoke:-0}" = 1 ]; then echo $(( $1 / 100 > 40 ? $1 / 100 : 40 )); else echo "$1"; fi; }
# gen FILE ARGS...: generate a QA set unless it exists (a resumed run must see the data it started with).
gen() { local out=$1; shift; [ -f "$out" ] || pic data qa --out "$out" "$@"; }

# done_steps OUT: the step OUT's checkpoint reached (0 without one); total_steps OUT: the steps it was planned for.
# Both read pretrain-lm and train-compressor run folders alike.
done_steps() { [ -f "$1/checkpoint/state.json" ] && grep -o '"step": *[0-9]*' "$1/checkpoint/state.json" | grep -o '[0-9]*$' || echo 0; }
total_steps() { grep -o '"total_steps": *[0-9]*' "$1/checkpoint/options.json" | grep -o '[0-9]*$'; }
# resume_flag OUT: prints --resume when OUT has a checkpoint to continue, nothing for a new run; fails (status 1) when
# OUT's checkpoint already reached its planned steps, i.e. the stage is done.
resume_flag() {
  [ -d "$1/checkpoint" ] || return 0
  [ "$(done_steps "$1")" -lt "$(total_steps "$1")" ] && echo --resume
}

# compressor_stage OUT ARGS...: `pic train-compressor --out OUT ARGS...`, nothing when OUT is done, --resume when OUT
# has a checkpoint. A resumed stage drops `--from DIR`: it continues its own checkpoint, which already holds what it
# started from (train-compressor refuses both). Status 0 when OUT reached its planned steps, 1 when it stopped early
# (re-run to resume); exits the script when train-compressor fails (its error line says why).
compressor_stage() {
  local out=$1; shift
  local resume
  resume=$(resume_flag "$out") || return 0
  local args=()
  while [ $# -gt 0 ]; do
    if [ -n "$resume" ] && [ "$1" = --from ]; then shift 2; continue; fi
    args+=("$1"); shift
  done
  pic train-compressor --out "$out" "${args[@]}" $resume || exit 1
  [ "$(done_steps "$out")" -ge "$(total_steps "$out")" ]
}
