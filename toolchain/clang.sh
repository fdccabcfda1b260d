#!/usr/bin/env bash
# The clang build: configures build-clang/ with CC=clang CXX=clang++
# (warnings are errors: SFSHIM_WERROR is on by default), builds everything,
# and runs the interpose and abi suites (CTest labels): the library and
# commands as clang builds them, preloaded into programs. The unit,
# differential, fault and fuzz suites built by clang run in the sanitizer
# passes (toolchain/sanitize.sh), which the test command runs beside this.
#
#   toolchain/clang.sh [BUILD_DIR]       (default: build-clang, reused)
#
# Exit status: 0 when everything built and passed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-clang}
jobs=$(nproc)

"$root/toolchain/setup.sh"
command -v clang >/dev/null && command -v clang++ >/dev/null ||
  { echo "clang.sh: clang and clang++ are needed (toolchain/setup.sh installs clang)" >&2; exit 1; }
# A build directory configured with another compiler keeps it: start afresh.
if [ -f "$build/CMakeCache.txt" ] &&
   ! grep -q '^CMAKE_CXX_COMPILER:.*clang++' "$build/CMakeCache.txt"; then
  rm -rf "$build"
fi
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSFSHIM_WERROR=ON \
  -DSFSHIM_BUILD_TESTS=ON
cmake --build "$build" -j"$jobs"
ctest --test-dir "$build" -L 'interpose|abi' --output-on-failure -j"$jobs" --timeout 300
