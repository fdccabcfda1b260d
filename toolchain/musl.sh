#!/usr/bin/env bash
# The library built against musl (x86_64, Debian's musl-tools) and tested:
# configures BUILD_DIR with toolchain/cmake/musl-linux.cmake, builds the
# library and the POSIX check of its core (warnings are errors), builds
# tests/interpose/probe.c with musl-gcc, and runs tests/interpose/musl_test.sh
# with sfshim-nosendfile from a host (glibc) build in BUILD_DIR/host.
#
#   toolchain/musl.sh [BUILD_DIR]        (default: build-musl, reused)
#
# Exit status: 0 when everything built and passed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-musl}
jobs=$(nproc)

"$root/toolchain/setup.sh" musl
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSFSHIM_WERROR=ON \
  -DSFSHIM_BUILD_TESTS=OFF -DCMAKE_TOOLCHAIN_FILE="$root/toolchain/cmake/musl-linux.cmake"
cmake --build "$build" -j"$jobs" --target sfshim sfshim_posix_check

cmake -S "$root" -B "$build/host" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSFSHIM_BUILD_TESTS=OFF
cmake --build "$build/host" -j"$jobs" --target sfshim-nosendfile

musl-gcc -O2 -Wall -Wextra -Werror -include "$root/tests/interpose/musl_probe_compat.h" \
  "$root/tests/interpose/probe.c" -o "$build/musl_probe"
"$root/tests/interpose/musl_test.sh" "$build/musl_probe" "$build/shim/libsfshim.so.0" \
  "$build/host/bin/sfshim-nosendfile"
