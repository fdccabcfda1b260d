#!/usr/bin/env bash
# Every process that called sendfile is counted in SFSHIM_STATS's live file,
# however it ends: exit, _exit, exit_group, a fatal signal (SIGKILL, SIGSEGV,
# abort, SIGTERM), exec, fork children, threads; and (as root) after a
# chroot and a drop of privileges. The counts are checked against what the
# processes' outputs received, byte for byte, process by process; the file
# is read by tests/support/live_stats.py, apart from the shim.
# usage: ways_test.sh PROBE LIBRARY SUPPORT_DIR [WAY...]
set -uo pipefail
probe=$1 lib=$2 support=$3
shift 3
ways=("$@")
[ ${#ways[@]} -gt 0 ] || ways=(exit _exit exit_group kill segv abort term exec fork threads shared)
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
fails=0
ok() { echo "  ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

head -c 300000 /dev/urandom > "$work/input"
chmod 644 "$work/input"
ulimit -c 0  # segv and abort: no core files

# check DIR WAY: the file's slots against the outputs in DIR/out.
check() {
    PYTHONPATH=$support python3 - "$1" "$2" <<'PY'
import collections, glob, os, sys
import live_stats
d, way = sys.argv[1], sys.argv[2]
header, slots = live_stats.read(os.path.join(d, "stats"))
got = collections.defaultdict(lambda: [0, 0])  # pid -> [outputs, bytes]
for f in glob.glob(os.path.join(d, "out", "*.out")):
    pid = int(os.path.basename(f).split(".")[0])
    got[pid][0] += 1
    got[pid][1] += os.path.getsize(f)
problems = []
if way == "shared":
    # Every slot taken beforehand: the processes count together in slot 0.
    shared = [s for s in slots if s["slot"] == 0]
    want_calls = 3 * sum(n for n, _ in got.values())
    want_bytes = sum(b for _, b in got.values())
    if not shared or shared[0]["state"] != "shared":
        problems.append("slot 0 is not shared")
    elif (shared[0]["calls"], shared[0]["bytes"]) != (want_calls, want_bytes):
        problems.append(f"slot 0 counted {shared[0]['calls']} calls, {shared[0]['bytes']} bytes; "
                        f"the outputs got {want_calls} calls' worth, {want_bytes} bytes")
    if header["shared_processes"] != len(got):
        problems.append(f"{header['shared_processes']} processes in slot 0, {len(got)} sent")
    if [s for s in slots if s["slot"] != 0]:
        problems.append("a process took a slot of its own in a full file")
else:
    by_pid = {}
    for s in slots:
        if s["pid"] in by_pid:
            problems.append(f"pid {s['pid']} has two slots")
        by_pid[s["pid"]] = s
    if set(by_pid) != set(got):
        problems.append(f"slots for pids {sorted(by_pid)}, outputs from pids {sorted(got)}")
    for pid, (outputs, size) in got.items():
        s = by_pid.get(pid)
        if s is None:
            continue
        if (s["calls"], s["bytes"], s["emulated_calls"], s["errors"]) != (3 * outputs, size, 3 * outputs, 0):
            problems.append(f"pid {pid}: counted {s['calls']} calls ({s['emulated_calls']} emulated, "
                            f"{s['errors']} errors), {s['bytes']} bytes; its outputs got {3 * outputs} "
                            f"calls' worth, {size} bytes")
        if size != 3 * 65537 * outputs:
            problems.append(f"pid {pid}: its outputs hold {size} bytes")
        # Only a process that returned through exit() stamps its slot.
        main_exits = way in ("exit", "fork") and s["slot"] == min(by_pid[p]["slot"] for p in by_pid)
        want = "exited" if main_exits else "live"
        if s["state"] != want:
            problems.append(f"pid {pid}: slot state {s['state']}, expected {want}")
        if want == "exited" and (s["ended_ns"] < s["started_ns"] or s["cache_cap_bytes"] == 0):
            problems.append(f"pid {pid}: the exit stamp is incomplete")
print("; ".join(problems) if problems else
      f"{len(got)} process(es), {sum(b for _, b in got.values())} bytes received and counted")
sys.exit(1 if problems else 0)
PY
}

for way in "${ways[@]}"; do
    d=$work/$way
    mkdir -p "$d/out" "$d/root"
    chmod 777 "$d/out"
    run_way=$way
    if [ "$way" = shared ]; then
        # A file whose every slot is taken (made by a first process that
        # loads the library and sends nothing: the probe without arguments,
        # of the library's word size; then marked full): the next processes
        # share slot 0.
        env SFSHIM_STATS="$d/stats" LD_PRELOAD="$lib" "$probe" 2> /dev/null
        python3 - "$d/stats" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(16)
    f.write(struct.pack("<I", 4095))
PY
        run_way=exit
    fi
    env_=(SFSHIM_STATS="$d/stats" SFSHIM_MODE=emulate LD_PRELOAD="$lib")
    case $way in
    term)
        mkfifo "$d/ready"
        env "${env_[@]}" "$probe" term "$work/input" "$d/out" > "$d/ready" &
        p=$!
        pids+=("$p")
        # Waits for the probe's line (a condition, not a time): the fifo's
        # read returns when the probe writes or dies.
        IFS= read -r line < "$d/ready"
        [ "$line" = ready ] || bad "term: the probe did not get ready"
        kill -TERM "$p"
        wait "$p"
        rc=$?
        [ $rc = 143 ] || bad "term: the probe's status was $rc, not death by SIGTERM (143)"
        ;;
    shared)
        for i in 1 2; do env "${env_[@]}" "$probe" exit "$work/input" "$d/out" || bad "shared: probe $i failed"; done
        ;;
    chroot)
        env "${env_[@]}" "$probe" chroot "$work/input" "$d/out" "$d/root"
        rc=$?
        [ $rc = 0 ] || bad "chroot: the probe exited $rc"
        ;;
    *)
        env "${env_[@]}" "$probe" "$run_way" "$work/input" "$d/out"
        rc=$?
        case $way in
        kill) want=137 ;; segv) want=139 ;; abort) want=134 ;; *) want=0 ;;
        esac
        [ $rc = $want ] || bad "$way: the probe's status was $rc, expected $want"
        ;;
    esac
    if [ ! -s "$d/stats" ]; then
        bad "$way: no live stats file"
        continue
    fi
    if msg=$(check "$d" "$way"); then ok "$way: $msg"; else bad "$way: $msg"; fi
done

[ $fails -eq 0 ] && echo PASS || { echo "FAILED: $fails check(s)"; exit 1; }
