#!/usr/bin/env bash
# Installs the Debian packages coscope needs to build, test and debug, and
# only the ones that are missing. Safe to run again; never asks a question.
#
#   scripts/setup.sh            # install what is missing
#   scripts/setup.sh --check    # only report what is missing (exit 1 if any)
#   scripts/setup.sh --bench    # also Go (golang-go), for the peer benchmarks
#                               # of bench/peers/run (only on request: ~450 MB)
set -euo pipefail

# One package per line; add new dependencies here.
PACKAGES=(
  # toolchain
  build-essential
  g++
  cmake
  pkg-config
  python3
  gdb
  clang-format
  # the runtime's and hooks' static checks (ctest clang_tidy, config in .clang-tidy)
  clang-tidy
  # the Python's lint (ctest python_lint, config in .flake8)
  flake8
  # libraries the runtime links
  libboost-context-dev
  libspdlog-dev
  libfmt-dev
  # <sys/sdt.h>: the runtime's probe points for the gdb toolkit (header only)
  systemtap-sdt-dev
  # tests and benchmarks
  libgtest-dev
  libgmock-dev
  googletest
  libbenchmark-dev
  # hooks tests: real third-party blocking clients and a server to talk to
  libcurl4-openssl-dev
  libhiredis-dev
  redis-server
  # walkthroughs: glibc's own symbols in gdb (__GI___libc_read, _IO_new_file_underflow)
  libc6-dbg
)

# Only with --bench: bench/peers/run's Go peers (skipped when Go is missing).
BENCH_PACKAGES=(
  golang-go
)

check_only=0
for arg in "$@"; do
  case "$arg" in
    --check) check_only=1 ;;
    --bench) PACKAGES+=("${BENCH_PACKAGES[@]}") ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

is_installed() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  [[ "$status" == "install ok installed" ]]
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup.sh: dpkg-query not found; this script supports Debian/Ubuntu only." >&2
  echo "setup.sh: install these packages (or their equivalents) by hand: ${PACKAGES[*]}" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup.sh: all dependencies present"
  exit 0
fi

if [[ $check_only -eq 1 ]]; then
  echo "setup.sh: missing: ${missing[*]}"
  exit 1
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    echo "setup.sh: missing packages (${missing[*]}) and not root, no sudo: install them as root" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update &&
       "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install \
         --no-install-recommends "${missing[@]}"; } </dev/null >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup.sh: apt-get failed while installing: ${missing[*]}" >&2
  exit 1
fi
echo "setup.sh: installed ${missing[*]}"
