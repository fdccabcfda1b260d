#!/usr/bin/env bash
# Installs what is missing, builds from scratch and runs every test.
#   toolchain/test.sh [BUILD_DIR]      (default: build-test, made anew)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-test}

"$root/toolchain/setup.sh" servers
rm -rf "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 600
