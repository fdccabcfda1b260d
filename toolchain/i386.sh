#!/usr/bin/env bash
# The 32-bit x86 build (i386, glibc) on this x86_64 machine: configures
# build-i386/ with toolchain/cmake/i386-linux-gnu.cmake, builds everything,
# and runs the unit, differential, interpose, abi (the glibc floor) and
# tarball tests (CTest labels). Where 32-bit x86 programs cannot run (a
# kernel without its i386 ABI: toolchain/machine.sh asks), it still builds
# everything and checks what needs no execution (label inspect: the ELF
# class, the glibc floor, the exports), says in one line what did not run,
# and exits with 77. The
# x86_64 kernel runs the 32-bit programs through its i386 syscall ABI, so
# the differential suite compares the shim with the kernel's own 32-bit
# `sendfile` (32-bit offset, MAX_NON_LFS) and `sendfile64`.
#
#   toolchain/i386.sh [--clang] [BUILD_DIR]
#
# gcc by default (BUILD_DIR build-i386), clang with --clang (build-i386-clang:
# only the interpose and abi suites run there); warnings are errors either
# way. A build directory is reused unless it was configured with the other
# compiler.
# SFSHIM_DIFF_ITERATIONS (default here 60) sets the randomised cases.
# Exit status: 0 when everything built and passed, 77 when it passed what
# this machine can run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cc=gcc cxx=g++ name=build-i386
if [ "${1:-}" = --clang ]; then
  cc=clang cxx=clang++ name=build-i386-clang
  shift
fi
build=${1:-$root/$name}
jobs=$(nproc)

"$root/toolchain/setup.sh" i386
cache=$build/CMakeCache.txt
if [ -f "$cache" ]; then
  if [ "$cxx" = clang++ ]; then
    grep -q '^CMAKE_CXX_COMPILER:.*clang++' "$cache" || rm -rf "$build"
  else
    ! grep -q '^CMAKE_CXX_COMPILER:.*clang' "$cache" || rm -rf "$build"
  fi
fi
CC=$cc CXX=$cxx cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSFSHIM_WERROR=ON \
  -DSFSHIM_BUILD_TESTS=ON \
  -DCMAKE_TOOLCHAIN_FILE="$root/toolchain/cmake/i386-linux-gnu.cmake"
cmake --build "$build" -j"$jobs"

# What was built is 32-bit: the library, the probe and the test binaries.
for f in "$build/shim/libsfshim.so.0" "$build/tests/interpose/interpose_probe" \
         "$build/tests/differential/sfshim_differential_tests"; do
  od -An -tx1 -j4 -N1 "$f" | grep -q 01 || { echo "i386.sh: $f is not a 32-bit ELF file" >&2; exit 1; }
done

export SFSHIM_DIFF_ITERATIONS=${SFSHIM_DIFF_ITERATIONS:-60}
# shellcheck source=machine.sh
. "$root/toolchain/machine.sh"
# gcc: every suite that runs here; clang: the library and commands it built,
# preloaded (interpose, abi), as the suites themselves are run by the gcc
# build and, built by clang, by the sanitizer passes.
labels='unit|differential|interpose|abi|tarball'
[ "$cxx" = clang++ ] && labels='interpose|abi'
if sfm_i386_runs; then
  ctest --test-dir "$build" -L "$labels" --output-on-failure -j"$jobs" --timeout 300
else
  # What needs no 32-bit program to run: the files themselves (ELF class
  # above, the glibc floor and the exports: label inspect).
  ctest --test-dir "$build" -L inspect --output-on-failure -j"$jobs" --timeout 300
  sfm_not_run "i386 ($cc): built and inspected (ELF class, glibc floor, exports); its unit, differential," \
    "interpose and tarball suites did not run: $SFM_WHY"
  exit "$SFM_NOT_RUN"
fi
