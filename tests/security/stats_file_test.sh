#!/usr/bin/env bash
# SFSHIM_STATS's live file is opened so that nothing but a regular file at
# the path is written: a symbolic link is not followed (dangling or not), a
# FIFO does not block the program (with or without a reader) and gets
# nothing, a file that is not a stats file (an old report, say) is left as
# it is, and a failure costs the program nothing (no line on its stderr
# unless SFSHIM_LOG asks). Processes sharing one file at once (the first of
# them making it) each get a slot of their own.
# usage: stats_file_test.sh PROBE LIBRARY SUPPORT_DIR
set -uo pipefail
probe=$1 lib=$2 support=$3
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

# slots FILE: the pids and states of the file's used slots ("pid:state ..."),
# or "not a stats file".
slots() {
    PYTHONPATH=$support python3 -c '
import sys, live_stats
try:
    h, slots = live_stats.read(sys.argv[1])
except (OSError, ValueError):
    print("not a stats file")
    sys.exit(1)
print(" ".join("%d:%s:%d" % (s["pid"], s["state"], s["calls"]) for s in slots))' "$1"
}

# The control: a plain path gets a live file with the probe's slot.
[ "$(run "$work/plain.stats")" = 0 ] || bad "the probe failed"
if [[ "$(slots "$work/plain.stats")" =~ ^[0-9]+:exited:1$ ]]; then
    ok "a plain path gets a live stats file, with the probe's slot"
else
    bad "a plain path got no live stats file: $(slots "$work/plain.stats") (the tests below would prove nothing)"
fi

# A file that is not a stats file (a report of an older version, a file
# of the user's): left as it is; said when logging is on.
printf '{"pid":1,"calls":1}\n' > "$work/old.json"
cp "$work/old.json" "$work/old.copy"
run "$work/old.json" SFSHIM_LOG=warn > /dev/null
if cmp -s "$work/old.json" "$work/old.copy"; then ok "a file that is not a stats file is left as it is"
else bad "a file that is not a stats file was changed"; fi
if grep -q 'not a stats file' "$work/err"; then ok "with SFSHIM_LOG=warn that is told"
else bad "with SFSHIM_LOG=warn a foreign file was not told (stderr: $(cat "$work/err"))"; fi

# An empty file (made by mktemp, say) becomes the stats file.
: > "$work/empty.stats"
run "$work/empty.stats" > /dev/null
if [[ "$(slots "$work/empty.stats")" =~ ^[0-9]+:exited:1$ ]]; then ok "an empty file becomes the stats file"
else bad "an empty file did not become the stats file: $(slots "$work/empty.stats")"; fi

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

# A FIFO without a reader: the program is not blocked.
mkfifo "$work/fifo.json"
rc=$(run "$work/fifo.json")
if [ "$rc" = 0 ]; then ok "a FIFO without a reader does not block the program"
elif [ "$rc" = 124 ]; then bad "a FIFO without a reader blocked the program (killed after 10 s)"
else bad "with a FIFO at the path the probe exited $rc"; fi

# A FIFO with a reader: refused, nothing written into it.
mkfifo "$work/fifo2.json"
exec 3<> "$work/fifo2.json"  # read and write ends: opening does not wait
rc=$(run "$work/fifo2.json")
[ "$rc" = 0 ] || bad "with a read FIFO at the path the probe exited $rc"
# (Whatever would have come was written before the probe exited.)
if IFS= read -r -t 0.1 -u 3 line; then bad "a FIFO with a reader got something: $line"
else ok "a FIFO with a reader gets nothing"; fi
exec 3<&-

# A failure is silent, unless logging was asked for.
run "$work/no-such-dir/stats.json" > /dev/null
if [ -s "$work/err" ]; then bad "a stats file that cannot be opened printed on stderr: $(cat "$work/err")"
else ok "a stats file that cannot be opened prints nothing"; fi
run "$work/no-such-dir/stats.json" SFSHIM_LOG=warn > /dev/null
if grep -q 'SFSHIM_STATS' "$work/err"; then ok "with SFSHIM_LOG=warn the failure is told on stderr"
else bad "with SFSHIM_LOG=warn the failure was not told (stderr: $(cat "$work/err"))"; fi

# Concurrent processes, the file new to all of them: one file, a slot each.
n=64
for i in $(seq $n); do
    SFSHIM_STATS="$work/shared.stats" LD_PRELOAD="$lib" "$probe" > /dev/null 2>&1 &
done
wait
if PYTHONPATH=$support python3 - "$work/shared.stats" "$n" <<'PY'
import sys, live_stats
h, slots = live_stats.read(sys.argv[1])
n = int(sys.argv[2])
pids = {s["pid"] for s in slots}
ok = len(slots) == len(pids) == n and all(s["state"] == "exited" and s["calls"] == 1 for s in slots)
print(f"  {len(slots)} slots, {len(pids)} pids, {h['claimed']} claims")
sys.exit(0 if ok else 1)
PY
then ok "$n processes making and sharing one file: a slot each, every call counted"
else bad "$n processes sharing one file were not each counted once"; fi

[ $fails -eq 0 ] && echo PASS || { echo "FAILED: $fails check(s)"; exit 1; }
