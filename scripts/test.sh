#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with the tests on and
# runs ctest. With --sanitizers, or when CI=true, it then builds two more
# trees and runs their ctests too: build-asan/ with AddressSanitizer +
# UndefinedBehaviorSanitizer, and build-tsan/ with ThreadSanitizer.
#
#   scripts/test.sh [--sanitizers] [--no-setup] [CMAKE_ARGS...]
#
# CMAKE_ARGS go to the configure step of the first tree (build/ or
# $COSCOPE_BUILD_DIR). Exits non-zero if any build or any test fails. Never
# reads standard input.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

run_setup=1
sanitizers=0
[[ ${CI:-} == true ]] && sanitizers=1
build_args=()
for arg in "$@"; do
  case "$arg" in
    --sanitizers) sanitizers=1 ;;
    --no-setup) run_setup=0 ;;
    *) build_args+=("$arg") ;;
  esac
done

build_dir=${COSCOPE_BUILD_DIR:-build}
asan_dir=${COSCOPE_ASAN_BUILD_DIR:-build-asan}
tsan_dir=${COSCOPE_TSAN_BUILD_DIR:-build-tsan}
ctest_jobs=${COSCOPE_CTEST_JOBS:-2}

section() {
  printf '\n==== %s ====\n\n' "$*"
}

run_ctest() {
  ctest --test-dir "$1" --output-on-failure --no-tests=error -j "$ctest_jobs" </dev/null
}

failed=()

if [[ $run_setup -eq 1 ]]; then
  section "setup: system packages"
  scripts/setup.sh
fi

section "build ($build_dir)"
COSCOPE_BUILD_DIR=$build_dir scripts/build.sh -DCOSCOPE_BUILD_TESTS=ON "${build_args[@]}"

section "ctest ($build_dir)"
run_ctest "$build_dir" || failed+=("ctest in $build_dir")

# sanitizer_pass TITLE DIR OPTION: builds DIR with the tests and OPTION=ON
# (no benchmarks, no walkthroughs), then runs its ctest.
sanitizer_pass() {
  local title=$1 dir=$2 option=$3
  section "build with $title ($dir)"
  if COSCOPE_BUILD_DIR=$dir scripts/build.sh \
      -DCOSCOPE_BUILD_TESTS=ON \
      -D"$option"=ON \
      -DCOSCOPE_BUILD_BENCHMARKS=OFF \
      -DCOSCOPE_BUILD_WALKTHROUGHS=OFF; then
    section "ctest ($dir)"
    run_ctest "$dir" || failed+=("ctest in $dir")
  else
    failed+=("build of $dir")
  fi
}

if [[ $sanitizers -eq 1 ]]; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  # A report fails the test that caused it, even where the test passes.
  export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1}
  sanitizer_pass "AddressSanitizer + UBSan" "$asan_dir" COSCOPE_ASAN
  sanitizer_pass "ThreadSanitizer" "$tsan_dir" COSCOPE_TSAN
fi

section "summary"
if [[ ${#failed[@]} -gt 0 ]]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
if [[ $sanitizers -eq 1 ]]; then
  echo "all tests passed ($build_dir, $asan_dir with ASan+UBSan, $tsan_dir with TSan)"
else
  echo "all tests passed ($build_dir)"
fi
