#!/bin/sh
# Builds and runs the unit, differential and fault suites (and a short fuzz
# run) under AddressSanitizer+UBSan, and the unit and fault suites (those
# whose tests enter the shim from several threads and signal handlers) under
# ThreadSanitizer.
#
#   toolchain/sanitize.sh [asan|tsan|all]      (default: all)
#
# Build directories: $SFSHIM_SANITIZE_DIR/build-asan and build-tsan
# (default: the repository root). Randomised parts run reduced:
# SFSHIM_DIFF_ITERATIONS (default 200 here), SFSHIM_FUZZ_SECONDS (10).
# SFSHIM_TSAN_TESTS: a ctest -R pattern that narrows the ThreadSanitizer pass,
# for a quick run by hand (the test command runs it in full).
# Tests that cannot run under a sanitizer carry the ctest label no-asan or
# no-tsan and are excluded by label, with the reason in the test's source:
#   - low RLIMIT_AS (mmap refused): the sanitizers reserve terabytes of
#     address space for their shadow memory;
#   - memory-stability checks (VmRSS/VmHWM/mappings): the sanitizers'
#     quarantine and shadow make the figures measure them, not the shim.
# A pass whose sanitizer cannot run here says so in one line and is skipped.
# Exit status: non-zero when any configure, build or test fails; 77 when
# none failed but a pass could not run here.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
base=${SFSHIM_SANITIZE_DIR:-$root}
what=${1:-all}
jobs=${SFSHIM_JOBS:-2}
export SFSHIM_DIFF_ITERATIONS=${SFSHIM_DIFF_ITERATIONS:-200}
export SFSHIM_FUZZ_SECONDS=${SFSHIM_FUZZ_SECONDS:-10}
# The fault suite's large files at their full 64 MiB: the truncation tests
# cut them at 20 and 24 MiB.
export SFSHIM_FAULT_FILE_MIB=${SFSHIM_FAULT_FILE_MIB:-64}
status=0

# shellcheck source=machine.sh
. "$root/toolchain/machine.sh"
incomplete=0

run_pass() { # name cache-file exclude-label [ctest -R pattern]
    name=$1 cache=$2 exclude=$3 only=${4:-}
    dir=$base/build-$name
    # The sanitizer's runtime must run here. ThreadSanitizer before LLVM 18
    # cannot map its shadow where the kernel randomises mmap with more than
    # 28 bits; without address randomisation (setarch -R) it can.
    kind=address wrap= labels='unit|differential|faults|fuzz'
    targets="unit_tests sfshim_differential_tests sfshim_fault_tests sfshim_fuzz"
    # ThreadSanitizer checks what more than one thread (or a signal handler)
    # does in the shim: the unit and fault suites. The differential and fuzz
    # suites call it from one thread (their reader threads only read the
    # peer's end), so under it they would check the harness alone, at many
    # times ASan's cost on a loaded machine; the main build, ASan+UBSan and
    # memcheck run them.
    [ "$name" = tsan ] && kind=thread labels='unit|faults' targets="unit_tests sfshim_fault_tests"
    # (-L matches any label of a test: the fault suite's no-asan/no-tsan
    # variants carry "faults" in theirs.)
    if ! sfm_sanitizer_runs "$kind"; then
        why=$SFM_WHY
        if [ "$kind" = thread ] && command -v setarch >/dev/null &&
           setarch "$(uname -m)" -R sh -c ". '$root/toolchain/machine.sh'; sfm_sanitizer_runs thread"; then
            wrap="setarch $(uname -m) -R"
            echo "== $name: the runtime runs only without address randomisation: ctest under $wrap"
        else
            sfm_not_run "$name: clang's -fsanitize=$kind cannot run here, the pass did not run: $why"
            incomplete=1
            return
        fi
    fi
    mkdir -p "$dir"
    echo "== $name: configure $dir"
    if ! cmake -S "$root" -B "$dir" -C "$root/toolchain/cmake/$cache" -DSFSHIM_FUZZ_SECONDS="$SFSHIM_FUZZ_SECONDS" >"$dir/sanitize-configure.log" 2>&1; then
        echo "== $name: configure failed (see $dir/sanitize-configure.log)"; tail -20 "$dir/sanitize-configure.log"; status=1; return
    fi
    echo "== $name: build $targets"
    # shellcheck disable=SC2086
    if ! cmake --build "$dir" -j"$jobs" --target $targets >"$dir/sanitize-build.log" 2>&1; then
        echo "== $name: build failed (see $dir/sanitize-build.log)"; grep -E "error" "$dir/sanitize-build.log" | head -20; status=1; return
    fi
    echo "== $name: ctest -L '$labels' -LE $exclude"
    # shellcheck disable=SC2086
    if ! $wrap ctest --test-dir "$dir" -L "$labels" -LE "$exclude" ${only:+-R "$only"} -j"$jobs" \
            --output-on-failure --timeout 600 >"$dir/sanitize-ctest.log" 2>&1; then
        status=1
    fi
    sed -n '/tests passed/,$p' "$dir/sanitize-ctest.log"
}

case $what in
asan|tsan|all) ;;
*) echo "usage: $0 [asan|tsan|all]" >&2; exit 2 ;;
esac
case $what in
asan|all)
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    export ASAN_OPTIONS UBSAN_OPTIONS
    run_pass asan asan-ubsan.cmake no-asan ;;
esac
case $what in
tsan|all)
    TSAN_OPTIONS=${TSAN_OPTIONS:-die_after_fork=0:halt_on_error=1:second_deadlock_stack=1}
    export TSAN_OPTIONS
    run_pass tsan tsan.cmake no-tsan "${SFSHIM_TSAN_TESTS:-}" ;;
esac
if [ $status -ne 0 ]; then
    echo "sanitize.sh: FAILURES (logs: $base/build-*/sanitize-*.log)"
    exit $status
elif [ $incomplete -ne 0 ]; then
    echo "sanitize.sh: what ran is clean; not every pass could run here (above)"
    exit "$SFM_NOT_RUN"
fi
echo "sanitize.sh: all passes clean"
