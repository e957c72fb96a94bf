#!/usr/bin/env bash
# Driver of the install/consumer tests (see consumer_test.cmake).
#
#   run_consumer_test.sh install   BUILD_DIR WORK_DIR
#   run_consumer_test.sh cmake     BUILD_DIR WORK_DIR LIBDIR
#   run_consumer_test.sh pkgconfig BUILD_DIR WORK_DIR LIBDIR
#   run_consumer_test.sh libgo     BUILD_DIR WORK_DIR LIBDIR
#
# install:   cmake --install BUILD_DIR --prefix WORK_DIR/prefix
# cmake:     configures, builds and runs this directory's CMake project
#            against that prefix (CMAKE_PREFIX_PATH)
# pkgconfig: builds main.cpp with `c++ main.cpp $(pkg-config --cflags --libs
#            coscope)` against that prefix (PKG_CONFIG_PATH) and runs it
# libgo:     configures and builds the libgo-style programs of
#            tests/libgo_compat against that prefix into WORK_DIR/libgo-build
#            (ctest runs each one, tests/libgo_compat/libgo_compat_test.cmake)
#
# LIBDIR is the prefix-relative library directory (CMAKE_INSTALL_LIBDIR).
# Environment: CXX (compiler, default c++), CONSUMER_CXXFLAGS (extra compile and
# link flags, e.g. the sanitizer flags of the build under test),
# CONSUMER_CMAKE_ARGS (extra configure arguments, one per line),
# EXPECT_STACK_CLASH_PROTECTION (1: the package must give the consumer
# -fstack-clash-protection; cmake and pkgconfig fail if main.cpp's compile
# command lacks it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [[ $# -lt 3 ]]; then
  sed -n '2,24p' "${BASH_SOURCE[0]}" >&2
  exit 2
fi
mode=$1
build_dir=$2
work_dir=$3
libdir=${4:-lib}
prefix=$work_dir/prefix
cxx=${CXX:-c++}
read -r -a extra_flags <<<"${CONSUMER_CXXFLAGS:-}"

run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  "$@"
}

# Library directory of the prefix, for the dynamic loader (a shared build).
export LD_LIBRARY_PATH="$prefix/$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

case "$mode" in
  install)
    rm -rf "$prefix"
    mkdir -p "$work_dir"
    run cmake --install "$build_dir" --prefix "$prefix"
    for f in include/coscope/coscope.h include/coscope/detail/park.h \
             "$libdir/pkgconfig/coscope.pc" \
             "$libdir/cmake/coscope/coscopeConfig.cmake" \
             "$libdir/cmake/coscope/coscopeConfigVersion.cmake" \
             "$libdir/cmake/coscope/coscopeTargets.cmake"; do
      if [[ ! -f $prefix/$f ]]; then
        echo "FAIL: not installed: $f" >&2
        exit 1
      fi
    done
    if ! compgen -G "$prefix/$libdir/libcoscope.*" >/dev/null; then
      echo "FAIL: no libcoscope.* installed in $libdir" >&2
      exit 1
    fi
    echo "installed into $prefix:"
    (cd "$prefix" && find . -type f -o -type l | sort | sed 's/^/  /')
    ;;

  cmake)
    consumer_build=$work_dir/cmake-build
    rm -rf "$consumer_build"
    cmake_args=()
    if [[ -n ${CONSUMER_CMAKE_ARGS:-} ]]; then
      mapfile -t cmake_args <<<"$CONSUMER_CMAKE_ARGS"
    fi
    run cmake -S "$here" -B "$consumer_build" \
      -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
      -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
      -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_CXX_FLAGS="${CONSUMER_CXXFLAGS:-}" \
      -DCMAKE_EXE_LINKER_FLAGS="${CONSUMER_CXXFLAGS:-}" \
      "${cmake_args[@]}"
    found=$(sed -n 's/^coscope_DIR:PATH=//p' "$consumer_build/CMakeCache.txt")
    case "$found" in
      "$prefix"/*) ;;
      *) echo "FAIL: find_package(coscope) found '$found', not the package in $prefix" >&2
         exit 1 ;;
    esac
    run cmake --build "$consumer_build"
    if [[ ${EXPECT_STACK_CLASH_PROTECTION:-0} == 1 ]] &&
       ! grep -q -- '-fstack-clash-protection' "$consumer_build/compile_commands.json"; then
      echo "FAIL: coscope::coscope did not give main.cpp -fstack-clash-protection" >&2
      exit 1
    fi
    run "$consumer_build/consumer"
    ;;

  libgo)
    libgo_build=$work_dir/libgo-build
    rm -rf "$libgo_build"
    run cmake -S "$here/../libgo_compat" -B "$libgo_build" \
      -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
      -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_CXX_FLAGS="${CONSUMER_CXXFLAGS:-}" \
      -DCMAKE_EXE_LINKER_FLAGS="${CONSUMER_CXXFLAGS:-}"
    found=$(sed -n 's/^coscope_DIR:PATH=//p' "$libgo_build/CMakeCache.txt")
    case "$found" in
      "$prefix"/*) ;;
      *) echo "FAIL: find_package(coscope) found '$found', not the package in $prefix" >&2
         exit 1 ;;
    esac
    run cmake --build "$libgo_build"
    ;;

  pkgconfig)
    export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
    pcfiledir=$(pkg-config --variable=pcfiledir coscope)
    if [[ $pcfiledir != "$PKG_CONFIG_PATH" ]]; then
      echo "FAIL: pkg-config found coscope.pc in '$pcfiledir', not in $PKG_CONFIG_PATH" >&2
      exit 1
    fi
    echo "coscope $(pkg-config --modversion coscope) from $pcfiledir"
    echo "cflags: $(pkg-config --cflags coscope)"
    echo "libs:   $(pkg-config --libs coscope)"
    out=$work_dir/pkgconfig-consumer
    mkdir -p "$work_dir"
    if [[ ${EXPECT_STACK_CLASH_PROTECTION:-0} == 1 ]] &&
       [[ " $(pkg-config --cflags coscope) " != *" -fstack-clash-protection "* ]]; then
      echo "FAIL: pkg-config --cflags coscope lacks -fstack-clash-protection" >&2
      exit 1
    fi
    read -r -a pc_flags <<<"$(pkg-config --cflags --libs coscope)"
    run "$cxx" "${extra_flags[@]}" "$here/main.cpp" -o "$out" "${pc_flags[@]}"
    run "$out"
    ;;

  *)
    echo "run_consumer_test.sh: unknown mode '$mode'" >&2
    exit 2
    ;;
esac
