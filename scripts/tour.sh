#!/usr/bin/env bash
# The guided tour: installs what is missing, builds, then runs the example
# programs and explains what their output shows.
#
#   scripts/tour.sh [--no-setup] [CMAKE_ARGS...]
#
# --no-setup skips scripts/setup.sh; other arguments go to scripts/build.sh.
# Uses the build tree of scripts/build.sh (build/ or $COSCOPE_BUILD_DIR).
# Needs no input: the example that reads stdin is fed from a pipe.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

run_setup=1
build_args=()
for arg in "$@"; do
  case "$arg" in
    --no-setup) run_setup=0 ;;
    *) build_args+=("$arg") ;;
  esac
done

build_dir=${COSCOPE_BUILD_DIR:-build}
examples_dir=$build_dir/examples

section() {
  printf '\n==== %s ====\n\n' "$*"
}

if [[ $run_setup -eq 1 ]]; then
  section "setup: system packages"
  scripts/setup.sh
fi

section "build"
scripts/build.sh -DCOSCOPE_BUILD_EXAMPLES=ON "${build_args[@]}"

for prog in step1_cin step1_sleep; do
  if [[ ! -x $examples_dir/$prog ]]; then
    echo "tour.sh: $examples_dir/$prog was not built" >&2
    exit 1
  fi
done

section "step 1a: a blocking call that is not hooked (examples/step1_cin.cpp)"
cat <<'TEXT'
Two coroutines share one thread. Coroutine 1 runs `std::cin >> i`; coroutine 2
only prints "Hello, coscope!". Reading stdin is a plain read(0, ...) that no
coroutine runtime turns into a switch, so the thread itself blocks in it.
The number 3 is written to the program's stdin after 1 second:

  $ (sleep 1; echo 3) | build/examples/step1_cin

TEXT
(sleep 1; echo 3) | "$examples_dir/step1_cin"
cat <<'TEXT'

Coroutine 2's greeting comes only after "i = 3", about 1000 ms in: while
coroutine 1 waited for input, nothing else could run on the thread. However
long the input takes, the order stays the same.
TEXT

section "step 1b: a blocking call that yields (examples/step1_sleep.cpp)"
cat <<'TEXT'
Coroutine 1 sleeps for 1000 ms; coroutine 2 greets and then prints every
250 ms. A sleeping coroutine parks and gives the thread back, so coroutine 2
runs during the whole second:

  $ build/examples/step1_sleep

TEXT
"$examples_dir/step1_sleep"
cat <<'TEXT'

Coroutine 2 printed at 0, 250, 500 and 750 ms while coroutine 1 slept; then
coroutine 1 woke at about 1000 ms. Both ran on one thread.
TEXT

section "end of the tour"
echo "The example sources are in examples/ (see examples/README.md)."
