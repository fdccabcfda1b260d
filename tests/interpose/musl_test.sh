#!/bin/sh
# The musl build (toolchain/musl.sh): a program linked with musl's libc, with
# the musl-built library preloaded in a kernel without sendfile, gets what
# the kernel gives it; in emulate mode no sendfile syscall is made.
# usage: musl_test.sh PROBE LIBRARY NOSENDFILE
#   PROBE       tests/interpose/probe.c built with musl-gcc
#   LIBRARY     the musl-built libsfshim.so.0
#   NOSENDFILE  sfshim-nosendfile of a host (glibc) build
# LD_PRELOAD goes to the probe alone (through env): the glibc launcher
# cannot load a musl library.
set -eu
probe=$1 lib=$2 nosf=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }

readelf -l "$probe" | grep -q 'interpreter: /lib/ld-musl-' || fail "$probe is not a dynamic musl program"
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ "$needed" = libc.so ] || fail "the library needs '$needed', not musl's libc.so alone"
extra=$(nm -D --defined-only "$lib" | awk '{print $NF}' | grep -vE '^(sendfile|sendfile64|sfshim_[A-Za-z0-9_]+)$' || true)
[ -z "$extra" ] || fail "unexpected exports: $extra"
for sym in sendfile sendfile64 sfshim_sendfile; do
    nm -D --defined-only "$lib" | awk '{print $NF}' | grep -qx "$sym" || fail "$sym not exported"
done

"$probe" > "$work/kernel.txt"
grep -q 'ret=-1 errno=ENOSYS' "$work/kernel.txt" && fail "the kernel itself has no sendfile here"
"$nosf" -- "$probe" > "$work/bare.txt"
grep -q 'ret=-1 errno=ENOSYS' "$work/bare.txt" || fail "the no-sendfile launcher did not take sendfile away"

for mode in auto emulate mmap rw; do
    "$nosf" -- env SFSHIM_MODE=$mode LD_PRELOAD="$lib" "$probe" > "$work/$mode.txt"
    diff -u "$work/kernel.txt" "$work/$mode.txt" || fail "mode $mode differs from the kernel"
done

# The live stats of a musl process.
"$nosf" -- env SFSHIM_STATS="$work/musl.stats" LD_PRELOAD="$lib" "$probe" > "$work/stats-run.txt"
diff -u "$work/kernel.txt" "$work/stats-run.txt" || fail "the run with stats differs from the kernel"
PYTHONPATH="$(dirname "$0")/../support" python3 -c 'import sys, live_stats
slots = live_stats.read(sys.argv[1])[1]
assert len(slots) == 1, "%d slots" % len(slots)
assert slots[0]["kernel_enosys"], "no kernel ENOSYS"
assert slots[0]["emulated_calls"] > 0, "no emulated call"
assert slots[0]["state"] == "exited", slots[0]["state"]' "$work/musl.stats" || fail "the stats file does not show the musl process's emulated calls"

command -v strace >/dev/null 2>&1 || fail "strace is missing (toolchain/setup.sh installs it)"
strace -f -qq -e 'trace=/^sendfile' -o "$work/strace.txt" \
    env SFSHIM_MODE=emulate LD_PRELOAD="$lib" "$probe" > "$work/strace-run.txt"
diff -u "$work/kernel.txt" "$work/strace-run.txt" || fail "emulate mode under strace differs"
if grep -q 'sendfile' "$work/strace.txt"; then
    cat "$work/strace.txt"
    fail "emulate mode made a sendfile syscall"
fi
strace -f -qq -e 'trace=/^sendfile' -o "$work/strace-native.txt" \
    env SFSHIM_MODE=native LD_PRELOAD="$lib" "$probe" > /dev/null
grep -q 'sendfile' "$work/strace-native.txt" || fail "strace saw no sendfile in native mode either"
echo "musl: $(wc -l < "$work/kernel.txt") cases x 6 runs identical to the kernel"
