#!/usr/bin/env bash
# Installs what is missing, builds from scratch and runs every test:
#   1. the main build (gcc): every suite (unit, differential, interpose,
#      valgrind, faults, fuzz, servers, soak, install, bench smoke test);
#      valgrind runs the unit, differential and fault suites under memcheck;
#   2. clang with AddressSanitizer + UBSan and with ThreadSanitizer, each over
#      the unit, differential, fault and fuzz suites (all but the tests
#      labelled no-asan or no-tsan), both with warnings as errors;
#   3. everything built once more with clang, warnings as errors (unit,
#      differential, interpose run there);
#   4. the i386 build with gcc and with clang (unit, differential with the
#      32-bit sendfile, interpose), warnings as errors for clang;
#   5. the library built against musl, and a musl program run through it.
#   toolchain/test.sh [BUILD_DIR]      (default: build-test, made anew)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-test}
start=$SECONDS

"$root/toolchain/setup.sh" servers i386 musl compat
rm -rf "$build" "$root/build-asan" "$root/build-tsan" "$root/build-clang" "$root/build-i386" \
  "$root/build-i386-clang" "$root/build-musl"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 900

SFSHIM_DIFF_ITERATIONS=60 SFSHIM_FUZZ_SECONDS=8 CC=clang CXX=clang++ "$root/toolchain/sanitize.sh" all

"$root/toolchain/clang.sh"
"$root/toolchain/i386.sh"
"$root/toolchain/i386.sh" --clang
"$root/toolchain/musl.sh"
echo "test.sh: everything passed in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"
