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

# crash_retry CMD...: runs CMD, and again after a crash (a status other than 0, and 1 = a user error), three tries in
# all; returns CMD's last status. TorchSharp 0.107 can free a temporary Scalar while a native call still reads it
# (docs/perf.md, "A crash TorchSharp can cause"): rare, and a re-run (resuming, for a training stage) survives it.
crash_retry() {
  local attempt status
  for attempt in 1 2 3; do
    status=0
    "$@" || status=$?
    [ "$status" -ge 2 ] && [ "$attempt" -lt 3 ] || return "$status"
    echo "$1 $2 crashed (status $status); running it again"
  done
}

# compressor_attempt OUT ARGS...: one run of `pic train-compressor --out OUT ARGS...`, with --resume when OUT has a
# checkpoint. A resumed stage drops `--from DIR`: it continues its own checkpoint, which already holds what it started
# from (train-compressor refuses both).
compressor_attempt() {
  local out=$1; shift
  local resume args=()
  resume=$(resume_flag "$out") || return 0
  while [ $# -gt 0 ]; do
    if [ -n "$resume" ] && [ "$1" = --from ]; then shift 2; continue; fi
    args+=("$1"); shift
  done
  pic train-compressor --out "$out" "${args[@]}" $resume
}

# compressor_stage OUT ARGS...: compressor_attempt, nothing when OUT is done, resumed after a crash (crash_retry;
# resuming is exact). Status 0 when OUT reached its planned steps, 1 when it stopped early (re-run to resume); exits
# the script when train-compressor fails otherwise (its error line says why).
compressor_stage() {
  crash_retry compressor_attempt "$@" || exit 1
  [ "$(done_steps "$1")" -ge "$(total_steps "$1")" ]
}
