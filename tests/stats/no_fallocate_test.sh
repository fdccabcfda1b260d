#!/usr/bin/env bash
# The stats file where fallocate is missing, refused or a no-op (a compat
# layer, a file system): made sparse by ftruncate, and every process counted.
# The control: with the real fallocate the file's blocks are allocated.
# usage: no_fallocate_test.sh PROBE LIBRARY SUPPORT_DIR NO_FALLOCATE_LIB
set -uo pipefail
probe=$1 lib=$2 support=$3 nofa=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
fails=0
ok() { echo "  ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
head -c 300000 /dev/urandom > "$work/input"

# run NAME PRELOAD [VAR=VALUE]: two probes into a new file $work/NAME.stats.
run() {
    local name=$1 preload=$2
    shift 2
    mkdir -p "$work/$name"
    for i in 1 2; do
        env "$@" SFSHIM_STATS="$work/$name.stats" SFSHIM_MODE=emulate LD_PRELOAD="$preload" \
            "$probe" _exit "$work/input" "$work/$name" || bad "$name: probe $i failed"
    done
}
# counted NAME: the file's two slots hold what the outputs got.
counted() {
    PYTHONPATH=$support python3 - "$work/$1.stats" "$work/$1" <<'PY'
import glob, os, sys, live_stats
h, slots = live_stats.read(sys.argv[1])
got = sum(os.path.getsize(f) for f in glob.glob(sys.argv[2] + "/*.out"))
ok = len(slots) == 2 and sum(s["bytes"] for s in slots) == got == 2 * 3 * 65537
print(f"{len(slots)} slots, {sum(s['bytes'] for s in slots)} bytes counted, {got} received")
sys.exit(0 if ok else 1)
PY
}
blocks() { echo $(( $(stat -c '%b * %B' "$1") )); }

run allocated "$lib"
if msg=$(counted allocated) && [ "$(blocks "$work/allocated.stats")" -ge 1052672 ]; then
    ok "with fallocate: allocated ($(blocks "$work/allocated.stats") bytes of blocks), $msg"
else
    bad "with fallocate: $msg, $(blocks "$work/allocated.stats") bytes of blocks"
fi
for mode in enosys eopnotsupp noop; do
    run "$mode" "$nofa:$lib" NO_FALLOCATE=$mode
    if msg=$(counted "$mode") && [ "$(blocks "$work/$mode.stats")" -lt 1052672 ]; then
        ok "fallocate $mode: sparse ($(blocks "$work/$mode.stats") bytes of blocks), $msg"
    else
        bad "fallocate $mode: $msg, $(blocks "$work/$mode.stats") bytes of blocks"
    fi
done
[ $fails -eq 0 ] && echo PASS || { echo "FAILED: $fails check(s)"; exit 1; }
