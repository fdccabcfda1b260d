#!/bin/sh
# sfshim doctor says what it finds, with the exit status scripts use.
# usage: doctor_test.sh SFSHIM NOSENDFILE LIBRARY
set -eu
sfshim=$1 nosf=$2 lib=$3
work=$(mktemp -d)
pid=
trap 'rm -rf "$work"; [ -z "$pid" ] || kill "$pid" 2>/dev/null || true' EXIT INT TERM
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
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
sleep 30 & pid=$!
st=0; "$sfshim" doctor "$pid" > /dev/null || st=$?
[ "$st" -eq 1 ] || fail "a process without the shim: exit $st, not 1"
echo "doctor: kernel, programs and processes reported with the right exit status"
