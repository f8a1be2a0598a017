# Sourced by the resumable training scripts (pretrain-lm and train-compressor run folders alike).
# done_steps OUT: the step OUT's checkpoint reached (0 without one); total_steps OUT: the steps it was planned for.
done_steps() { [ -f "$1/checkpoint/state.json" ] && grep -o '"step": *[0-9]*' "$1/checkpoint/state.json" | grep -o '[0-9]*$' || echo 0; }
total_steps() { grep -o '"total_steps": *[0-9]*' "$1/checkpoint/options.json" | grep -o '[0-9]*$'; }
# resume_flag OUT: prints --resume when OUT has a checkpoint to continue, nothing for a new run; fails (status 1) when
# OUT's checkpoint already reached its planned steps, i.e. the stage is done.
resume_flag() {
  [ -d "$1/checkpoint" ] || return 0
  [ "$(done_steps "$1")" -lt "$(total_steps "$1")" ] && echo --resume
}
