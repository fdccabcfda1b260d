#!/usr/bin/env bash
# Runs the CTest suites several times in a row while two CPU-bound processes
# run beside them, as on a busy CI machine, and reports every run and failure.
#
#   tests/stress.sh [-b BUILD_DIR] [-n ROUNDS] [-j JOBS] [-L LABELS]
#   tests/stress.sh -a [-n ROUNDS]
#
#   -b  a configured build tree (default: build); it is built first
#   -n  rounds (default 5; 1 with -a)
#   -j  ctest -j (default: the number of CPUs)
#   -L  ctest label regex (default: the suites below)
#   -a  every stage: the whole test command (toolchain/test.sh, build-test made
#       anew, sanitizer, clang, i386 and musl builds included) in each round
#
# Every round's output goes to BUILD_DIR/stress/round-N.log (with -a:
# build-stress/round-N.log). The last line is the summary; the exit status is
# 1 when any test failed in any round (2 for a usage or build error). The CPU
# hogs are killed however it ends.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build
rounds=
jobs=$(nproc)
labels='^(unit|differential|faults.*|fuzz|servers|interpose)$'
all=0

usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts 'ab:n:j:L:h' opt; do
    case $opt in
    a) all=1 ;;
    b) build=$OPTARG ;;
    n) rounds=$OPTARG ;;
    j) jobs=$OPTARG ;;
    L) labels=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
[ -n "$rounds" ] || { [ $all = 1 ] && rounds=1 || rounds=5; }
case $rounds in '' | *[!0-9]* | 0) echo "stress: -n wants a positive number" >&2; exit 2 ;; esac
case $jobs in '' | *[!0-9]* | 0) echo "stress: -j wants a positive number" >&2; exit 2 ;; esac
if [ $all = 1 ]; then
    build=$root/build-stress
    mkdir -p "$build"
else
    [ -f "$build/CTestTestfile.cmake" ] || { echo "stress: $build is not a configured build tree" >&2; exit 2; }
    build=$(cd "$build" && pwd)
    echo "stress: building $build"
    cmake --build "$build" -j"$jobs" >"$build/stress-build.log" 2>&1 ||
        { echo "stress: the build failed (see $build/stress-build.log)" >&2; exit 2; }
fi

hogs=()
ctest_pid=
stop_hogs() {
    local p
    for p in "${hogs[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${hogs[@]}"; do wait "$p" 2>/dev/null; done
    hogs=()
}
stop_all() {
    # ctest and its tests: its own process group (setsid below)
    [ -z "$ctest_pid" ] || kill -TERM -- "-$ctest_pid" 2>/dev/null
    stop_hogs
}
trap stop_all EXIT
trap 'stop_all; echo "stress: interrupted" >&2; exit 130' INT TERM
for _ in 1 2; do
    sh -c 'while :; do :; done' &
    hogs+=("$!")
done

logs=$build/stress
[ $all = 1 ] && logs=$build
mkdir -p "$logs"
commit=${SFSHIM_STRESS_COMMIT:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [ $all = 1 ]; then
    echo "stress: $rounds rounds of the whole test command beside 2 CPU hogs (pids ${hogs[*]}), sources at $commit"
else
    echo "stress: $rounds rounds of ctest -L '$labels' -j$jobs beside 2 CPU hogs (pids ${hogs[*]}), sources at $commit"
fi
start=$SECONDS
runs=0 failures=0 bad_rounds=0
failed_names=()
for ((r = 1; r <= rounds; r++)); do
    log=$logs/round-$r.log
    t0=$SECONDS
    if [ $all = 1 ]; then
        setsid "$root/toolchain/test.sh" "$build/build-test" >"$log" 2>&1 &
        ctest_pid=$!
        wait "$ctest_pid"
        rc=$?
        ctest_pid=
        # Every ctest summary of the stages, and the stage table.
        total=0 failed=0
        while IFS= read -r line; do
            total=$((total + $(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")))
            failed=$((failed + $(sed -E 's/.* ([0-9]+) tests? failed .*/\1/' <<<"$line")))
        done < <(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log")
        [ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1 # a stage failed without a failed test
        runs=$((runs + total))
        failures=$((failures + failed))
        [ "$failed" -eq 0 ] || bad_rounds=$((bad_rounds + 1))
        sed -n '/^test.sh: stages/,$p' "$log" | sed 's/^/stress: /'
        while IFS= read -r name; do
            failed_names+=("round $r: $name")
        done < <(grep -E '^[[:space:]]+[0-9]+ - .*\(Failed|Timeout|Exception' "$log" | sed -E 's/^[[:space:]]+//')
        echo "stress: round $r/$rounds: $total tests, $failed failed, $((SECONDS - t0)) s ($log)"
        continue
    fi
    # In the background and waited for, so that a signal to this script is
    # handled at once (the trap stops ctest and its tests too).
    setsid ctest --test-dir "$build" -L "$labels" -j"$jobs" --output-on-failure --timeout 900 >"$log" 2>&1 &
    ctest_pid=$!
    wait "$ctest_pid"
    rc=$?
    ctest_pid=
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
    total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
    failed=$(sed -E 's/.* ([0-9]+) tests? failed .*/\1/' <<<"$line")
    if [ -z "$line" ] || [ "$total" -eq 0 ]; then
        echo "stress: round $r: no test ran (ctest status $rc; see $log)"
        total=0 failed=1
    fi
    [ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1 # ctest failed without a failed test
    runs=$((runs + total))
    failures=$((failures + failed))
    if [ "$failed" -gt 0 ]; then
        bad_rounds=$((bad_rounds + 1))
        while IFS= read -r name; do
            failed_names+=("round $r: $name")
        done < <(sed -n '/The following tests FAILED:/,$p' "$log" | grep -E '^[[:space:]]+[0-9]+ - ' | sed -E 's/^[[:space:]]+//')
    fi
    echo "stress: round $r/$rounds: $total tests, $failed failed, $((SECONDS - t0)) s ($log)"
done
stop_hogs
for n in "${failed_names[@]}"; do echo "stress: FAILED $n"; done
elapsed=$((SECONDS - start))
echo "stress: $rounds rounds, $runs test runs, $failures failures ($bad_rounds rounds with a failure)," \
    "$((elapsed / 60)) min $((elapsed % 60)) s beside 2 CPU hogs, sources at $commit"
[ "$failures" -eq 0 ]
