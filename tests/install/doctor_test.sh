#!/bin/sh
# sfshim doctor says what it finds, with the exit status scripts use; and
# `sfshim stats` reads live stats files (SFSHIM_STATS=FILE) as they are.
# usage: doctor_test.sh SFSHIM NOSENDFILE LIBRARY
set -eu
sfshim=$1 nosf=$2 lib=$3
work=$(mktemp -d)
pid= pids=
trap 'rm -rf "$work"; for p in $pid $pids; do kill -KILL "$p" 2>/dev/null || true; done' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }

"$sfshim" doctor > "$work/ok.txt" || fail "doctor: the kernel's sendfile works here, yet exit $?"
[ "$(grep -c ' works$' "$work/ok.txt")" -eq 4 ] || { cat "$work/ok.txt"; fail "four outputs should work"; }

st=0; "$nosf" -- "$sfshim" doctor > "$work/nosf.txt" || st=$?
[ "$st" -eq 1 ] || fail "doctor in a kernel without sendfile: exit $st, not 1"
[ "$(grep -c 'FAILS: ENOSYS' "$work/nosf.txt")" -eq 4 ] || { cat "$work/nosf.txt"; fail "four ENOSYS expected"; }
grep -q "^  layer *none with sendfile (ENOSYS), as NetBSD's compat_linux" "$work/nosf.txt" &&
    ! grep -q 'cannot be trusted' "$work/nosf.txt" || { cat "$work/nosf.txt"; fail "a kernel without sendfile: named, emulated, not untrusted"; }
grep -q '^  count 0 *returns 0, as on Linux$' "$work/ok.txt" || { cat "$work/ok.txt"; fail "count 0 on Linux"; }

# A kernel that refuses count 0 (FreeBSD's linuxulator does, and drops the
# counts of its partial calls): named, not trusted, exit 1.
st=0; "$nosf" --einval-unless-socket -- "$sfshim" doctor > "$work/fbsd.txt" || st=$?
[ "$st" -eq 1 ] || { cat "$work/fbsd.txt"; fail "doctor on a layer that refuses count 0: exit $st, not 1"; }
grep -q '^  count 0 *refused: EINVAL$' "$work/fbsd.txt" &&
    grep -q "^  layer .*refuses count 0, as FreeBSD's linuxulator does" "$work/fbsd.txt" &&
    grep -q 'cannot be trusted here' "$work/fbsd.txt" || { cat "$work/fbsd.txt"; fail "layer not named"; }

# The layers as their profiles play them: named from uname's version.
for layer in freebsd:FreeBSD\ linuxulator illumos-lx:illumos\ LX; do
	profile=${layer%%:*} name=${layer#*:}
	st=0; "$nosf" --profile "$profile" -- "$sfshim" doctor > "$work/$profile.txt" || st=$?
	[ "$st" -eq 1 ] || { cat "$work/$profile.txt"; fail "doctor under the $profile profile: exit $st, not 1"; }
	grep -q "^  system .*($name)\$" "$work/$profile.txt" &&
		grep -q "^  layer *$name: its sendfile drops the count" "$work/$profile.txt" &&
		grep -q 'emulates every one' "$work/$profile.txt" &&
		grep -q 'cannot be trusted here' "$work/$profile.txt" || { cat "$work/$profile.txt"; fail "$name not named"; }
done

"$sfshim" doctor apache2 > "$work/apache.txt" || { cat "$work/apache.txt"; fail "apache2 should be reachable"; }
grep -q 'imported by libapr' "$work/apache.txt" || fail "apache2 reaches sendfile through libapr"

st=0; "$sfshim" doctor /bin/true > "$work/true.txt" || st=$?
[ "$st" -eq 1 ] || fail "/bin/true imports no sendfile: exit $st, not 1"

st=0; "$sfshim" doctor no-such-program-here > /dev/null || st=$?
[ "$st" -eq 1 ] || fail "a missing program: exit $st, not 1"

st=0; "$sfshim" doctor a b > /dev/null 2>&1 || st=$?
[ "$st" -eq 2 ] || fail "two arguments are a usage error: exit $st, not 2"

# A running process with and without the shim.
LD_PRELOAD=$lib sleep 30 & pid=$!
# Until the program runs with the library loaded (the shell forks first).
for _ in $(seq 600); do
	grep -q libsfshim "/proc/$pid/maps" 2>/dev/null && break
	sleep 0.05
done
grep -q libsfshim "/proc/$pid/maps" 2>/dev/null || fail "timed out: $pid never ran with the library loaded (30 s)"
"$sfshim" doctor "$pid" > "$work/pid.txt" || { cat "$work/pid.txt"; fail "the shim is loaded in $pid"; }
grep -q '^  live counters not visible: the process has no stats file' "$work/pid.txt" &&
    grep -q 'sfshim --stats=FILE' "$work/pid.txt" || { cat "$work/pid.txt"; fail "no stats file: live counters not visible, and how to get them"; }
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
sleep 30 & pid=$!
st=0; "$sfshim" doctor "$pid" > /dev/null || st=$?
[ "$st" -eq 1 ] || fail "a process without the shim: exit $st, not 1"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

# ---- sfshim stats: files made here, slot by slot (shim/src/stats_file.h) ----

# mkstats.py FILE SPEC: writes a live stats file. SPEC (JSON): "slots", a
# list of [state, pid, mode, enosys, {counter: n}, [cache gauges]] for slots
# 1..; "shared": [enosys, {counter: n}] for slot 0; "shared_processes".
cat > "$work/mkstats.py" <<'PY'
import json, struct, sys
MAGIC, HEADER, SLOT, SLOTS = 0x31734D4948534653, 4096, 256, 4096
NAMES = ("calls native_calls emulated_calls mmap_calls rw_calls bytes native_bytes mmap_bytes rw_bytes "
         "fallbacks mmap_fallbacks errors retries cache_hits cache_misses cache_bypasses cache_evictions").split()
spec = json.loads(sys.argv[2])
data = bytearray(HEADER + SLOTS * SLOT)
struct.pack_into("<QIIIIQ", data, 0, MAGIC, SLOT, SLOTS, len(spec["slots"]), 0, spec.get("shared_processes", 0))
def put(i, state, pid, mode, enosys, counters, cache=(0, 0, 0, 0)):
    base = HEADER + i * SLOT
    struct.pack_into("<IiQQII", data, base, state, pid, 1, 0, mode, enosys)
    struct.pack_into("<17Q", data, base + 32, *[counters.get(n, 0) for n in NAMES])
    struct.pack_into("<4Q", data, base + 32 + 8 * 17, *cache)
for i, s in enumerate(spec["slots"], 1):
    put(i, *s)
if "shared" in spec:
    put(0, 3, 0, 0, *spec["shared"])
open(sys.argv[1], "wb").write(data)
PY
mkstats() { python3 "$work/mkstats.py" "$@"; }

# A pid no process can have (above pid_max): that slot's process has ended.
gone=$(( $(cat /proc/sys/kernel/pid_max) + 1 ))
# Slot 1 exited; 2 ended without exit; 3 this shell before an exec, 4 after
# it (running); slot 0 shared by 5 processes that found the file full.
mkstats "$work/made.stats" "{\"slots\": [
  [2, 1111, 1, 1, {\"calls\": 3, \"emulated_calls\": 3, \"mmap_calls\": 2, \"rw_calls\": 1, \"bytes\": 3000,
    \"mmap_bytes\": 2000, \"rw_bytes\": 1000, \"fallbacks\": 3, \"errors\": 1, \"cache_hits\": 5, \"cache_misses\": 2},
    [1, 4096, 8192, 268435456]],
  [1, $gone, 3, 0, {\"calls\": 4, \"emulated_calls\": 4, \"rw_calls\": 4, \"bytes\": 4000, \"rw_bytes\": 4000}],
  [1, $$, 0, 0, {\"calls\": 1, \"native_calls\": 1, \"bytes\": 100, \"native_bytes\": 100}],
  [1, $$, 0, 0, {\"calls\": 2, \"native_calls\": 2, \"bytes\": 500, \"native_bytes\": 500}]],
  \"shared\": [0, {\"calls\": 10, \"emulated_calls\": 10, \"mmap_calls\": 10, \"bytes\": 10240, \"mmap_bytes\": 10240}],
  \"shared_processes\": 5}"
"$sfshim" stats "$work/made.stats" > "$work/made.txt" || { cat "$work/made.txt"; fail "stats on a made file: exit $?"; }
grep -q '^sfshim, 9 processes (1 exited, 1 running, 2 ended, 5 in the shared slot): 20 sendfile calls, ' "$work/made.txt" &&
    grep -q 'kernel sendfile answered ENOSYS' "$work/made.txt" &&
    grep -q '^  cache  *5 hits   misses 2, .* 1 entries, 4.0 KiB mapped (peak 8.0 KiB, cap 256.0 MiB)$' "$work/made.txt" &&
    grep -Eq '^ +1111  exited +3 +2.9 KiB +0 +2 +1 +1$' "$work/made.txt" &&
    grep -Eq "^ +$gone  ended +4 +3.9 KiB +0 +0 +4 +0\$" "$work/made.txt" &&
    grep -Eq "^ +$$  ended +1 +100 B +1 +0 +0 +0\$" "$work/made.txt" &&
    grep -Eq "^ +$$  running +2 +500 B +2 +0 +0 +0\$" "$work/made.txt" &&
    grep -Eq '^ +-  shared \(5\) +10 +10.0 KiB +0 +10 +0 +0$' "$work/made.txt" ||
    { cat "$work/made.txt"; fail "stats: the total, the states (exited, ended, running, exec'd, shared) and a line each"; }

"$sfshim" stats --json "$work/made.stats" > "$work/made.json" || fail "stats --json: exit $?"
python3 - "$work/made.json" "$gone" "$$" <<'PY' || { cat "$work/made.json"; fail "stats --json: the objects"; }
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
gone, me = int(sys.argv[2]), int(sys.argv[3])
want = [(1111, "exited", "emulate", 3, 3000, True), (gone, "ended", "rw", 4, 4000, False),
        (me, "ended", "auto", 1, 100, False), (me, "running", "auto", 2, 500, False), (0, "shared", "auto", 10, 10240, False)]
got = [(r["pid"], r["state"], r["mode"], r["calls"], r["bytes"], r["kernel_enosys"]) for r in rows]
assert got == want, got
assert rows[0]["cache_hits"] == 5 and rows[0]["cache_mapped_bytes"] == 4096 and rows[0]["cache_cap_bytes"] == 268435456
assert rows[0]["rw_calls"] == 1 and rows[0]["errors"] == 1 and rows[1]["rw_bytes"] == 4000
assert rows[4]["processes"] == 5 and all("cache_entries" in r for r in rows)
PY

# Many processes: the total, the 20 that sent the most, and how many more.
python3 -c 'import json; print(json.dumps({"slots": [[2, 1000 + i, 1, 0, {"calls": 1, "bytes": 100 * i}] for i in range(1, 501)]}))' > "$work/many.spec"
mkstats "$work/many.stats" "$(cat "$work/many.spec")"
"$sfshim" stats "$work/many.stats" > "$work/many.txt" || fail "stats on 500 processes: exit $?"
grep -q '^sfshim, 500 processes (500 exited): 500 sendfile calls, ' "$work/many.txt" &&
    [ "$(grep -Ec '^ +1[0-9]{3}  exited ' "$work/many.txt")" -eq 20 ] &&
    grep -Eq '^ +1500  exited ' "$work/many.txt" && grep -Eq '^ +1481  exited ' "$work/many.txt" &&
    ! grep -Eq '^ +1480  exited ' "$work/many.txt" &&
    grep -q '^  \.\.\. and 480 more processes: 480 calls, ' "$work/many.txt" ||
    { cat "$work/many.txt"; fail "stats on 500 processes: the 20 with the most bytes, then the rest counted"; }

# Not a live stats file: one line naming it, exit 1. The old format first.
printf '{"pid":1,"calls":1}\n' > "$work/old.json"
head -c 100 /dev/urandom > "$work/random"
mkfifo "$work/fifo"
for f in old.json random fifo no-such-file; do
    st=0; "$sfshim" stats "$work/$f" > "$work/bad.out" 2> "$work/bad.err" || st=$?
    [ "$st" -eq 1 ] && [ "$(wc -l < "$work/bad.err")" -eq 1 ] && grep -q "$work/$f" "$work/bad.err" ||
        { cat "$work/bad.err"; fail "stats on $f: exit $st, not 1 with one line naming the file"; }
done
grep -q "$work/no-such-file: No such file or directory" "$work/bad.err" || fail "a missing file: $(cat "$work/bad.err")"
"$sfshim" stats "$work/old.json" 2>&1 | grep -q 'old format (JSON lines)' || fail "the old format is not named"
# New (empty, or all zeros): nothing counted yet, exit 0.
: > "$work/empty"
head -c 1052672 /dev/zero > "$work/zeros"
for f in empty zeros; do
    "$sfshim" stats "$work/$f" > "$work/new.txt" || fail "stats on a new file ($f): exit $?"
    grep -q "^$work/$f: no process has called sendfile yet\$" "$work/new.txt" || { cat "$work/new.txt"; fail "$f: not said new"; }
done
st=0; "$sfshim" stats > /dev/null 2>&1 || st=$?
[ "$st" -eq 2 ] || fail "stats without a file: exit $st, not 2"

# ---- the library's own file: processes that exit, _exit, are killed, run ----

head -c 65536 /dev/urandom > "$work/input"
# send.py N HOW [READY]: N sendfile calls of the input to /dev/null, its pid
# on stdout, then exit, _exit, SIGKILL itself, or (wait) write READY and sleep.
cat > "$work/send.py" <<'PY'
import os, sys, time
print(os.getpid(), flush=True)
src, out = os.open(sys.argv[1], os.O_RDONLY), os.open("/dev/null", os.O_WRONLY)
for _ in range(int(sys.argv[2])):
    assert os.sendfile(out, src, 0, 65536) == 65536
how = sys.argv[3]
if how == "_exit": os._exit(3)
if how == "kill": os.kill(os.getpid(), 9)
if how == "wait":
    open(sys.argv[4], "w").close()
    while True: time.sleep(60)
PY
live=$work/live.stats
send() { SFSHIM_STATS=$live LD_PRELOAD=$lib python3 "$work/send.py" "$work/input" "$@"; }
p_exit=$(send 1 exit)
p_exit2=$(send 2 _exit || :)
p_kill=$( (send 3 kill) 2>/dev/null || :) # (no "Killed" from the shell)
SFSHIM_STATS=$live LD_PRELOAD=$lib python3 "$work/send.py" "$work/input" 4 wait "$work/ready" > /dev/null & pids=$!
for _ in $(seq 600); do [ -e "$work/ready" ] && break; sleep 0.05; done
[ -e "$work/ready" ] || fail "timed out: the running process never sent its files (30 s)"
p_run=$pids
"$sfshim" stats "$live" > "$work/live.txt" || { cat "$work/live.txt"; fail "stats on the library's file: exit $?"; }
grep -q '^sfshim, 4 processes (1 exited, 1 running, 2 ended): 10 sendfile calls, 640.0 KiB$' "$work/live.txt" ||
    { cat "$work/live.txt"; fail "stats: exit, _exit, SIGKILL and a running process"; }
"$sfshim" stats --json "$live" > "$work/live.json" || fail "stats --json on the library's file: exit $?"
python3 - "$work/live.json" "$p_exit:exited:1" "$p_exit2:ended:2" "$p_kill:ended:3" "$p_run:running:4" <<'PY' ||
import json, sys
rows = {r["pid"]: r for r in map(json.loads, open(sys.argv[1]))}
for want in sys.argv[2:]:
    pid, state, calls = want.split(":")
    r = rows[int(pid)]
    assert (r["state"], r["calls"], r["bytes"]) == (state, int(calls), int(calls) * 65536), (want, r)
assert len(rows) == 4, rows
PY
    { cat "$work/live.json"; fail "stats --json: each process's state, calls and bytes"; }

# sfshim doctor PID: the running process's live counters.
"$sfshim" doctor "$p_run" > "$work/live-pid.txt" || { cat "$work/live-pid.txt"; fail "doctor $p_run: exit $?"; }
grep -q "^  live counters ($live):\$" "$work/live-pid.txt" &&
    grep -q "^    sfshim\[$p_run\]: 4 sendfile calls, 256.0 KiB\$" "$work/live-pid.txt" ||
    { cat "$work/live-pid.txt"; fail "doctor PID: the live counters of a process with a stats file"; }
# A process with the file mapped that has not called sendfile yet.
SFSHIM_STATS=$work/idle.stats LD_PRELOAD=$lib sleep 60 & pid=$!
for _ in $(seq 600); do grep -q "$work/idle.stats" "/proc/$pid/maps" 2>/dev/null && break; sleep 0.05; done
"$sfshim" doctor "$pid" > "$work/idle.txt" || { cat "$work/idle.txt"; fail "doctor $pid: exit $?"; }
grep -q "^  live counters ($work/idle.stats):\$" "$work/idle.txt" && grep -q 'none yet: it has not called sendfile' "$work/idle.txt" ||
    { cat "$work/idle.txt"; fail "doctor PID: a process that has not called sendfile yet"; }
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
# The file removed under the running process: read through
# /proc/PID/map_files where this user may (root), else said so.
rm "$live"
"$sfshim" doctor "$p_run" > "$work/deleted.txt" || { cat "$work/deleted.txt"; fail "doctor $p_run, file removed: exit $?"; }
if [ "$(id -u)" -eq 0 ]; then
    grep -q "^  live counters ($live, deleted; read through /proc/PID/map_files):\$" "$work/deleted.txt" &&
        grep -q "^    sfshim\[$p_run\]: 4 sendfile calls" "$work/deleted.txt"
else
    grep -q "^  live counters not readable: the process counts in $live (deleted)" "$work/deleted.txt"
fi || { cat "$work/deleted.txt"; fail "doctor PID with its stats file removed"; }
kill "$p_run"; wait "$p_run" 2>/dev/null || true; pids=
# As root, the other side too: a user's process and doctor run as that user.
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
if [ "$(id -u)" -eq 0 ] && command -v setpriv > /dev/null && [ -x /usr/bin/python3 ] &&
    as_nobody test -r "$lib" 2>/dev/null; then
    mkdir "$work/nobody"
    chmod 755 "$work"
    chmod 777 "$work/nobody"
    chmod 644 "$work/send.py" "$work/input"
    # (not through the function: $! is then the process itself)
    setpriv --reuid=nobody --regid=nogroup --clear-groups env SFSHIM_STATS="$work/nobody/live.stats" \
        LD_PRELOAD="$lib" /usr/bin/python3 "$work/send.py" "$work/input" 1 wait "$work/nobody/ready" > /dev/null &
    pids=$!
    for _ in $(seq 600); do [ -e "$work/nobody/ready" ] && break; sleep 0.05; done
    [ -e "$work/nobody/ready" ] || fail "timed out: nobody's process never sent its file (30 s)"
    rm "$work/nobody/live.stats"
    as_nobody "$sfshim" doctor "$pids" > "$work/nobody.txt" || { cat "$work/nobody.txt"; fail "doctor $pids as nobody: exit $?"; }
    grep -q "^  live counters not readable: the process counts in $work/nobody/live.stats (deleted)" "$work/nobody.txt" &&
        grep -q "map_files/.*(opening it there takes root)\$" "$work/nobody.txt" ||
        { cat "$work/nobody.txt"; fail "doctor PID as a user, its stats file removed: not readable, and why"; }
    kill "$pids"; wait "$pids" 2>/dev/null || true; pids=
fi
echo "doctor: kernel, programs and processes reported with the right exit status; stats files read"
