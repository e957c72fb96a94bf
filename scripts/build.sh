#!/usr/bin/env bash
# Configures and builds coscope with CMake.
#
#   scripts/build.sh [CMAKE_ARGS...]
#
# The build tree is build/ in the repository, or $COSCOPE_BUILD_DIR (a
# relative path is taken from the repository root). The build type defaults to
# RelWithDebInfo; every argument is passed to the configure step, so
#   scripts/build.sh -DCMAKE_BUILD_TYPE=Debug -DCOSCOPE_BUILD_BENCHMARKS=OFF
# overrides the defaults. Builds with $COSCOPE_JOBS jobs (default: nproc).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

build_dir=${COSCOPE_BUILD_DIR:-build}
jobs=${COSCOPE_JOBS:-$(nproc 2>/dev/null || echo 2)}

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$build_dir" --parallel "$jobs"
