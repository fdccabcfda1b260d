#!/usr/bin/env bash
# The Debian bullseye root of the compat tests: made once by
# toolchain/bullseye-root.sh (cached outside the clone, reused by later
# runs), and holding what the other tests run: glibc 2.31, Python 3.9,
# Apache 2.4 with its libapr. SKIP (77) where it cannot be had.
set -uo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
start=$(date +%s%N)
rc=0
root=$("$src/toolchain/bullseye-root.sh") || rc=$?
[ $rc -eq 0 ] || exit $rc
echo "root: $root, ready in $(( ($(date +%s%N) - start) / 1000000 )) ms ($(du -sh --one-file-system "$root" | cut -f1))"
sed 's/^/  /' "$root/.sfshim-root"
fails=0
check() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then echo "  ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
check "glibc 2.31" grep -q '^libc6=2\.31-' "$root/.sfshim-root"
check "python3 is 3.9" test -x "$root/usr/bin/python3.9"
check "apache2 and its modules" test -x "$root/usr/sbin/apache2" -a -f "$root/usr/lib/apache2/modules/mod_mpm_event.so"
check "/etc/mime.types" test -f "$root/etc/mime.types"
check "the root's /usr/local is empty (the tests bind the install tree there)" \
	test -z "$(find "$root/usr/local" -type f -print -quit)"
check "no half-made root lies beside it" test -z "$(compgen -G "$root.tmp.*")"
check "nothing of it is mounted on the host" test -z "$(grep -F " $root/" /proc/self/mounts)"
[ $fails -eq 0 ] && echo PASS || { echo "FAILED: $fails check(s)"; exit 1; }
