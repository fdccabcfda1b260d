#!/bin/sh
# The promise itself: a program loaded with the shim, in a kernel without
# sendfile, gets exactly what the kernel would have given it, through both
# sendfile and sendfile64; in emulate mode no sendfile syscall is made at all.
# usage: interpose_test.sh PROBE LIBRARY NOSENDFILE LAUNCHER
set -eu
probe=$1 lib=$2 nosf=$3 launcher=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }

"$probe" > "$work/kernel.txt"
grep -q 'ret=-1 errno=ENOSYS' "$work/kernel.txt" && fail "the kernel itself has no sendfile here"

# Negative control: without the shim the no-sendfile kernel breaks the program.
"$nosf" -- "$probe" > "$work/bare.txt"
grep -q 'ret=-1 errno=ENOSYS' "$work/bare.txt" || fail "the no-sendfile launcher did not take sendfile away"

for mode in auto emulate mmap rw; do
    SFSHIM_MODE=$mode LD_PRELOAD=$lib "$nosf" -- "$probe" > "$work/$mode.txt"
    diff -u "$work/kernel.txt" "$work/$mode.txt" || fail "mode $mode differs from the kernel"
done

# The sfshim command, as a user would run it.
"$launcher" --no-kernel-sendfile --stats="$work/stats.sf" -- "$probe" > "$work/launcher.txt"
diff -u "$work/kernel.txt" "$work/launcher.txt" || fail "the sfshim launcher differs from the kernel"
"$launcher" stats --json "$work/stats.sf" > "$work/stats.json" || fail "sfshim stats cannot read the stats file"
grep -q '"kernel_enosys":true' "$work/stats.json" || fail "stats do not show the kernel's ENOSYS"
grep -q '"emulated_calls":[1-9]' "$work/stats.json" || fail "stats show no emulated call"

# No sendfile syscall at all in emulate mode (strace -f sees every thread and
# child). A 32-bit program has two: sendfile (32-bit offset) and sendfile64;
# the pattern takes every syscall whose name starts with sendfile.
if command -v strace >/dev/null 2>&1; then
    SFSHIM_MODE=emulate LD_PRELOAD=$lib strace -f -qq -e 'trace=/^sendfile' -o "$work/strace.txt" \
        "$probe" > "$work/strace-run.txt"
    diff -u "$work/kernel.txt" "$work/strace-run.txt" || fail "emulate mode under strace differs"
    if grep -q 'sendfile' "$work/strace.txt"; then
        cat "$work/strace.txt"
        fail "emulate mode made a sendfile syscall"
    fi
    # and the control: native mode does make it
    SFSHIM_MODE=native LD_PRELOAD=$lib strace -f -qq -e 'trace=/^sendfile' -o "$work/strace-native.txt" \
        "$probe" > /dev/null
    grep -q 'sendfile' "$work/strace-native.txt" || fail "strace saw no sendfile in native mode either"
    # Both of a 32-bit program's calls pass through in native mode.
    if [ "${SFSHIM_PROBE_BITS:-}" = 32 ]; then
        grep -q 'sendfile(' "$work/strace-native.txt" || fail "native mode made no 32-bit sendfile syscall"
        grep -q 'sendfile64(' "$work/strace-native.txt" || fail "native mode made no sendfile64 syscall"
    fi
else
    fail "strace is missing (toolchain/setup.sh installs it)"
fi
echo "interposition: $(wc -l < "$work/kernel.txt") cases x 6 runs identical to the kernel"
