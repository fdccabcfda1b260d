#!/usr/bin/env bash
# Bullseye's Python (3.9, glibc 2.31) calls os.sendfile in a layer's kernel
# (compat: sendfile ENOSYS, no /proc; freebsd: FreeBSD's linuxulator, whose
# sendfile refuses count 0 and outputs other than sockets with EINVAL):
# file -> Unix socket and file -> file, with and without an offset, 0 B to
# 5 MiB (tests/compat/sendfile_check.py).
#   python_test.sh shim [LAYER]    through the library (LD_PRELOAD, as the
#                                  loader of the root sees its path): every
#                                  byte arrives, and the shim's stats show
#                                  the calls emulated
#   python_test.sh noshim [LAYER]  the negative control: OSError ENOSYS
#                                  (compat) or EINVAL (freebsd), seen to fail
# LAYER: compat (the default), freebsd or illumos-lx (lib.sh's c_layer).
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
c_layer "${2:-compat}"
c_enter "$@"

case=${1:?usage: python_test.sh shim|noshim [compat|freebsd|illumos-lx]}
work=$C_WORK/py
mkdir -p "$work/stats"
cp "$C_DIR/sendfile_check.py" "$work/"
out=$work/out.txt

case $case in
shim)
	echo "bullseye's python3 through the shim (LD_PRELOAD=/usr/local/lib/libsfshim.so.0):"
	rc=0
	c_run LD_PRELOAD=/usr/local/lib/libsfshim.so.0 SFSHIM_STATS="$work/stats/py.%p.stats" \
		python3 "$work/sendfile_check.py" "$work" >"$out" 2>&1 || rc=$?
	cat "$out"
	if c_loader_check "$out"; then
		c_expect "every case byte-exact (exit status $rc)" [ $rc -eq 0 ]
		# The stats: the python process's slot in its live file (the files of
		# processes that loaded the shim and sent nothing hold no slot).
		stats=$(PYTHONPATH="$(dirname "$0")/../support" python3 -c 'import glob, json, sys, live_stats
slots = [s for f in sorted(glob.glob(sys.argv[1] + "/*.stats")) for s in live_stats.read(f)[1]]
print(json.dumps(slots[0]) if len(slots) == 1 else "%d processes counted" % len(slots))' "$work/stats" 2>&1)
		echo "  shim stats: ${stats:-none}"
		vals=$(python3 -c 'import json, sys
d = json.loads(sys.stdin.readline())
print(d["calls"], d["emulated_calls"], d["native_calls"], int(bool(d["kernel_enosys"])), d["mmap_calls"])' <<<"$stats" 2>/dev/null) || vals="0 0 0 0 0"
		read -r calls emulated native enosys mmap <<<"$vals"
		want=$(sed -n 's/^  \([0-9]*\) sendfile calls.*/\1/p' "$out")
		c_expect "the shim saw each of the program's ${want:-?} calls (calls $calls)" [ "$calls" = "${want:-x}" ]
		c_expect "and emulated them ($emulated emulated)" [ "$emulated" -gt 0 ]
		c_expect "none reached the kernel's sendfile ($native native)" [ "$native" -eq 0 ]
		if [ "$C_LAYER" != compat ]; then
			# The layer's sendfile exists: learned from uname, or count 0.
			c_expect "the layer's sendfile was not taken for a missing one (kernel_enosys false)" [ "$enosys" = 0 ]
		else
			c_expect "the kernel refused sendfile (kernel_enosys)" [ "$enosys" = 1 ]
		fi
		c_expect "mmap-writev served the large transfers ($mmap calls)" [ "$mmap" -gt 0 ]
	fi
	;;
noshim)
	echo "bullseye's python3 without the shim (negative control):"
	rc=0
	c_run python3 "$work/sendfile_check.py" "$work" >"$out" 2>&1 || rc=$?
	cat "$out"
	c_expect "the run fails (exit status $rc, 3: os.sendfile raised OSError)" [ $rc -eq 3 ]
	if [ "$C_LAYER" = freebsd ]; then
		# Its first call asks for 0 bytes: "Linux cannot have 0 count".
		c_expect "with EINVAL" grep -q 'OSError: \[Errno 22\].*(EINVAL)' "$out"
	else
		c_expect "with ENOSYS" grep -q 'OSError: \[Errno 38\].*(ENOSYS)' "$out"
	fi
	c_expect "no shim, no stats" [ -z "$(ls "$work/stats")" ]
	;;
*) c_die "unknown case '$case' (shim or noshim)" ;;
esac
c_finish
