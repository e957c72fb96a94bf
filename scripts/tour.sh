#!/usr/bin/env bash
# The guided tour: installs what is missing, then runs every written step of
# the walkthroughs in batch (walkthroughs/walk all --batch): each step builds
# its programs, shows its map, runs them and gdb with explanations in between,
# and ends with a summary of the facts its transcript showed; the tour ends
# with the notes' questions and their answers. Needs no input.
#
#   scripts/tour.sh [--no-setup] [CMAKE_ARGS...]
#
# --no-setup skips scripts/setup.sh. The build tree is scripts/build.sh's
# (build/ or $COSCOPE_BUILD_DIR); CMAKE_ARGS, if any, configure it first.
# Only what the steps need is built. Exit status: walk's (0 when every fact
# was shown, 1 if one failed, 77 if one cannot be shown on this machine).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

run_setup=1
cmake_args=()
for arg in "$@"; do
  case "$arg" in
    --no-setup) run_setup=0 ;;
    *) cmake_args+=("$arg") ;;
  esac
done

build_dir=${COSCOPE_BUILD_DIR:-build}

if [[ $run_setup -eq 1 ]]; then
  scripts/setup.sh
fi
if [[ ${#cmake_args[@]} -gt 0 ]]; then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cmake_args[@]}"
fi

status=0
walkthroughs/walk all --batch --build-dir "$build_dir" || status=$?

cat <<'TEXT'

==== end of the tour ====

Each step is also yours to take, one stop at a time, in gdb:

  walkthroughs/walk 1                # then 2; `walkthroughs/walk --list` lists them all
  walkthroughs/walk 1 --exercise 1   # two exercises per step, checked against a real run

New to gdb? docs/gdb-primer.md. docs/walkthroughs.md is the index; each step's
page (walkthroughs/N-*/README.md) has its map, goes through what you just saw
and what it answers in the notes, and lists its exercises.
TEXT
exit "$status"
