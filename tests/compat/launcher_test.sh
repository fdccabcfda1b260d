#!/usr/bin/env bash
# The install tree under the root's /usr/local, used there as an
# administrator would: the sfshim launcher (a POSIX sh script, run by the
# root's dash) and sfshim doctor (built against the glibc floor), with
# bullseye's programs, in the compat-layer kernel and on the normal one.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
c_enter "$@"

work=$C_WORK/launcher
mkdir -p "$work/stats"
cp "$C_DIR/sendfile_check.py" "$work/"

# run NAME WANT-STATUS RUNNER COMMAND...: output in $work/NAME.txt, shown.
run() {
	local name=$1 want=$2 rc=0
	shift 2
	"$@" >"$work/$name.txt" 2>&1 || rc=$?
	sed 's/^/    /' "$work/$name.txt"
	c_loader_check "$work/$name.txt" || return 1
	[ "$rc" -eq "$want" ] || { echo "    (exit status $rc, want $want)"; return 1; }
}
has() { grep -Eq "$2" "$work/$1.txt"; }
count() { grep -Ec "$2" "$work/$1.txt"; }

echo "sfshim --version, in the root:"
run version 0 c_run_kernel sfshim --version &&
	c_expect "the launcher runs under the root's /bin/sh" has version '^sfshim [0-9]'

# stats_show PATTERN FILE: the root's `sfshim stats --json FILE` has PATTERN.
stats_show() { c_run_kernel sfshim stats --json "$2" 2>/dev/null | grep -q "$1"; }

echo "sfshim --stats=FILE -- python3 sendfile_check.py, compat-layer kernel:"
if run launch 0 c_run sfshim --stats="$work/stats/py.sf" -- python3 "$work/sendfile_check.py" "$work"; then
	c_ok "bullseye's python3 through the launcher: every case byte-exact"
	c_expect "the launcher's --stats wrote the program's counters" \
		stats_show '"emulated_calls":[1-9]' "$work/stats/py.sf"
else
	c_fail "python3 through the launcher"
fi

echo "sfshim doctor, compat-layer kernel:"
if run doctor-nosf 1 c_run sfshim doctor; then
	c_expect "doctor finds sendfile refused (exit 1, ENOSYS on all four outputs)" \
		[ "$(count doctor-nosf 'FAILS: ENOSYS')" -eq 4 ]
else
	c_fail "sfshim doctor in the compat-layer kernel: exit 1 with ENOSYS expected"
fi

echo "sfshim doctor, normal kernel:"
if run doctor-ok 0 c_run_kernel sfshim doctor; then
	c_expect "doctor finds sendfile working (exit 0, four outputs work)" [ "$(count doctor-ok ' works$')" -eq 4 ]
else
	c_fail "sfshim doctor on the normal kernel: exit 0 expected"
fi

echo "sfshim doctor /usr/sbin/apache2:"
if run doctor-apache 0 c_run sfshim doctor /usr/sbin/apache2; then
	c_expect "bullseye's Apache is reachable, through libapr" has doctor-apache 'imported by libapr'
else
	c_fail "sfshim doctor /usr/sbin/apache2: exit 0 expected"
fi

echo "sfshim doctor python3:"
if run doctor-python 0 c_run sfshim doctor python3; then
	c_ok "bullseye's python3 is reachable"
else
	c_fail "sfshim doctor python3: exit 0 expected"
fi

echo "sfshim doctor /bin/true:"
if run doctor-true 1 c_run sfshim doctor /bin/true; then
	c_ok "a program without sendfile: exit 1"
else
	c_fail "sfshim doctor /bin/true: exit 1 expected"
fi

# The installed sfshim-nosendfile, from inside the root (normal kernel:
# the layer's own kernel would refuse nothing more).
echo "sfshim --no-kernel-sendfile -- python3 sendfile_check.py, normal kernel:"
if run nokernel 0 c_run_kernel sfshim --stats="$work/stats/nk.sf" --no-kernel-sendfile -- \
	python3 "$work/sendfile_check.py" "$work"; then
	c_expect "the installed sfshim-nosendfile refused sendfile and the shim emulated it" \
		stats_show '"kernel_enosys":true' "$work/stats/nk.sf"
else
	c_fail "sfshim --no-kernel-sendfile inside the root"
fi
c_finish
