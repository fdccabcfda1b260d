#!/usr/bin/env bash
# Installs what is missing, builds from scratch and runs every test, in stages:
#   main     the main build (gcc): every suite (unit, differential, interpose,
#            valgrind, faults, fuzz, servers, soak, install, compat, security,
#            abi, bench smoke test); valgrind runs the unit, differential and
#            fault suites under memcheck
#   asan     clang with AddressSanitizer + UBSan over the unit, differential,
#            fault and fuzz suites (all but the tests labelled no-asan)
#   tsan     clang with ThreadSanitizer over the same (all but no-tsan)
#   clang    everything built once more with clang, warnings as errors; the
#            interpose and abi suites run there (the library itself: the
#            sanitizer passes run the rest of the suites built by clang)
#   i386     the 32-bit x86 build with gcc and with clang (unit, differential
#            with the 32-bit sendfile, interpose, abi, tarball), warnings as
#            errors
#   musl     the library built against musl, and a musl program run through it
#
#   toolchain/test.sh [BUILD_DIR]      (default: build-test, made anew)
#
# A stage that needs what this machine cannot do (32-bit x86 programs, a
# sanitizer's runtime, root for a mount namespace, ...) says so in one line
# and is counted as incomplete, never as passed; the run stays green for it. At
# the end a table gives every stage's result and time, and repeats those
# lines. Every stage runs even when an earlier one failed.
# Exit status: 0 when no stage failed.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-test}
# shellcheck source=machine.sh
. "$root/toolchain/machine.sh"
start=$SECONDS
jobs=$(nproc)

SFSHIM_STAGE_NOTES=$(mktemp)
export SFSHIM_STAGE_NOTES
trap 'rm -f "$SFSHIM_STAGE_NOTES"' EXIT

names=() results=() times=() notes=()
failed=0 not_run=0

# stage NAME COMMAND...: runs COMMAND and keeps its result and time.
stage() {
    local name=$1 t0=$SECONDS rc=0 note
    shift
    : > "$SFSHIM_STAGE_NOTES"
    echo "== test.sh: stage $name"
    "$@" || rc=$?
    note=$(paste -sd ';' "$SFSHIM_STAGE_NOTES")
    names+=("$name")
    times+=($((SECONDS - t0)))
    notes+=("$note")
    if [ "$rc" -eq 0 ]; then
        results+=(passed)
    elif [ "$rc" -eq "$SFM_NOT_RUN" ]; then
        results+=(incomplete)
        not_run=$((not_run + 1))
    else
        results+=(FAILED)
        failed=$((failed + 1))
    fi
    echo "== test.sh: stage $name: ${results[-1]} ($((SECONDS - t0)) s)"
}

main_stage() {
    rm -rf "$build"
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSFSHIM_BUILD_TESTS=ON &&
        cmake --build "$build" -j"$jobs" &&
        ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 900 || return 1
    # Entries that could not run here (no root, no mirror for the bullseye
    # root, ...) pass with a SKIP line of their own: repeat those lines.
    local skips
    skips=$(grep -h '^SKIP' "$build/Testing/Temporary/LastTest.log" 2>/dev/null | sort -u)
    if [ -n "$skips" ]; then
        while IFS= read -r line; do sfm_not_run "${line#SKIP: }"; done <<<"$skips"
        return "$SFM_NOT_RUN"
    fi
}

sanitizer_stage() { # asan|tsan
    SFSHIM_DIFF_ITERATIONS=60 SFSHIM_FUZZ_SECONDS=8 CC=clang CXX=clang++ "$root/toolchain/sanitize.sh" "$1"
}

"$root/toolchain/setup.sh" servers i386 musl compat || failed=$((failed + 1))
rm -rf "$root/build-asan" "$root/build-tsan" "$root/build-clang" "$root/build-i386" \
  "$root/build-i386-clang" "$root/build-musl"

stage main main_stage
stage asan sanitizer_stage asan
stage tsan sanitizer_stage tsan
stage clang "$root/toolchain/clang.sh"
stage i386-gcc "$root/toolchain/i386.sh"
stage i386-clang "$root/toolchain/i386.sh" --clang
stage musl "$root/toolchain/musl.sh"

elapsed=$((SECONDS - start))
echo
echo "test.sh: stages"
printf '  %-11s %-8s %6s\n' stage result time
for i in "${!names[@]}"; do
    printf '  %-11s %-8s %4d:%02d\n' "${names[$i]}" "${results[$i]}" $((times[i] / 60)) $((times[i] % 60))
done
printf '  %-11s %-8s %4d:%02d\n' total "" $((elapsed / 60)) $((elapsed % 60))
for i in "${!names[@]}"; do
    [ -z "${notes[$i]}" ] || echo "  ${names[$i]}: ${notes[$i]//;/; }"
done
total="$(( elapsed / 60 )) min $(( elapsed % 60 )) s"
if [ "$failed" -ne 0 ]; then
    echo "test.sh: $failed stage(s) FAILED in $total"
    exit 1
elif [ "$not_run" -ne 0 ]; then
    echo "test.sh: everything this machine can run passed in $total; $not_run stage(s) incomplete: what did not run is listed above"
else
    echo "test.sh: everything passed in $total"
fi
