#!/usr/bin/env bash
# Installs what is missing, builds from scratch and runs every test:
#   1. the main build (gcc): every suite (unit, differential, interpose,
#      valgrind, faults, fuzz, servers, soak, install, bench smoke test);
#   2. clang with AddressSanitizer + UBSan (unit, differential, faults, fuzz)
#      and ThreadSanitizer (the tests with threads, forks and signals), both
#      with warnings as errors;
#   3. everything built once more with clang, warnings as errors (unit,
#      differential, interpose run there);
#   4. the i386 build (unit, differential with the 32-bit sendfile, interpose).
#   toolchain/test.sh [BUILD_DIR]      (default: build-test, made anew)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-test}
start=$SECONDS

"$root/toolchain/setup.sh" servers i386
rm -rf "$build" "$root/build-asan" "$root/build-tsan" "$root/build-clang" "$root/build-i386"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 900

SFSHIM_DIFF_ITERATIONS=60 SFSHIM_FUZZ_SECONDS=8 SFSHIM_TSAN_TESTS='threads|fork|short-lived|signal' \
  CC=clang CXX=clang++ "$root/toolchain/sanitize.sh" all

"$root/toolchain/clang.sh"
"$root/toolchain/i386.sh"
echo "test.sh: everything passed in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"
