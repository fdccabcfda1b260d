#!/usr/bin/env bash
# SFSHIM_STATS's file is opened so that nothing but a regular file at the path
# is written: a symbolic link is not followed (dangling or not), a FIFO does
# not block the exit (with or without a reader) and gets nothing, and a
# failure costs the program nothing (no line on its stderr unless SFSHIM_LOG
# asks). Processes sharing one stats file append whole JSON lines.
# usage: stats_file_test.sh PROBE LIBRARY
set -uo pipefail
probe=$1 lib=$2
work=$(mktemp -d)
trap 'exec 3<&- 2>/dev/null; rm -rf "$work"' EXIT INT TERM
fails=0
ok() { echo "  ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# Runs the probe with the shim and SFSHIM_STATS=$1 (more variables may follow),
# killed after 10 s; its stderr in $work/err. Prints the exit status.
run() {
    local stats=$1
    shift
    timeout 10 env "$@" SFSHIM_STATS="$stats" LD_PRELOAD="$lib" "$probe" > "$work/out" 2> "$work/err"
    local rc=$?
    [ $rc = 124 ] || grep -q 'shim=loaded' "$work/out" || echo "the probe did not load the shim: $(cat "$work/out")" >&2
    echo $rc
}

# The control: a plain path gets one JSON line.
[ "$(run "$work/plain.json")" = 0 ] || bad "the probe failed"
if [ "$(wc -l < "$work/plain.json" 2>/dev/null)" = 1 ] && grep -q '^{"pid":' "$work/plain.json"; then
    ok "a plain path gets one JSON line"
else
    bad "a plain path got no JSON line (the tests below would prove nothing)"
fi

# A symbolic link at the path, to a file that exists: not followed.
printf 'precious\n' > "$work/target"
ln -s "$work/target" "$work/link.json"
run "$work/link.json" > /dev/null
if [ "$(cat "$work/target")" = precious ]; then ok "a symbolic link at the path is not followed"
else bad "the stats went through a symbolic link into its target"; fi
[ -s "$work/err" ] && bad "a refused stats path printed on stderr: $(cat "$work/err")"

# A dangling link (a name planted in a shared directory): nothing created.
ln -s "$work/created-through-link" "$work/dangling.json"
run "$work/dangling.json" > /dev/null
if [ ! -e "$work/created-through-link" ]; then ok "a dangling symbolic link does not create its target"
else bad "a dangling symbolic link created its target"; fi

# A FIFO without a reader: the exit is not blocked.
mkfifo "$work/fifo.json"
rc=$(run "$work/fifo.json")
if [ "$rc" = 0 ]; then ok "a FIFO without a reader does not block the exit"
elif [ "$rc" = 124 ]; then bad "a FIFO without a reader blocked the exit (killed after 10 s)"
else bad "with a FIFO at the path the probe exited $rc"; fi

# A FIFO with a reader: refused, nothing written into it.
mkfifo "$work/fifo2.json"
exec 3<> "$work/fifo2.json"  # read and write ends: opening does not wait
rc=$(run "$work/fifo2.json")
[ "$rc" = 0 ] || bad "with a read FIFO at the path the probe exited $rc"
if IFS= read -r -t 1 -u 3 line; then bad "a FIFO with a reader got the report: $line"
else ok "a FIFO with a reader gets nothing"; fi
exec 3<&-

# A failure is silent, unless logging was asked for.
run "$work/no-such-dir/stats.json" > /dev/null
if [ -s "$work/err" ]; then bad "a stats file that cannot be opened printed on stderr: $(cat "$work/err")"
else ok "a stats file that cannot be opened prints nothing"; fi
run "$work/no-such-dir/stats.json" SFSHIM_LOG=warn > /dev/null
if grep -q 'SFSHIM_STATS' "$work/err"; then ok "with SFSHIM_LOG=warn the failure is told on stderr"
else bad "with SFSHIM_LOG=warn the failure was not told (stderr: $(cat "$work/err"))"; fi

# Concurrent writers: every line is whole.
n=64
for i in $(seq $n); do
    SFSHIM_STATS="$work/shared.json" LD_PRELOAD="$lib" "$probe" > /dev/null 2>&1 &
done
wait
lines=$(wc -l < "$work/shared.json")
if python3 - "$work/shared.json" "$n" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "the file does not end with a newline"
pids = set()
for l in lines[:-1]:
    pids.add(json.loads(l)["pid"])
assert len(lines) - 1 == int(sys.argv[2]) == len(pids), f"{len(lines) - 1} lines from {len(pids)} pids"
PY
then ok "$n processes appending to one file: $lines lines, each a JSON object"
else bad "$n processes appending to one file left lines that are not JSON ($lines lines)"; fi

[ $fails -eq 0 ] && echo PASS || { echo "FAILED: $fails check(s)"; exit 1; }
