#!/usr/bin/env bash
# Bullseye's Apache (its apache2 and libapr, glibc 2.31) with EnableSendfile
# On, in a layer's kernel (compat: sendfile ENOSYS, no /proc; freebsd:
# FreeBSD's linuxulator, whose sendfile fails with EAGAIN after moving
# bytes), started by examples/apache/serve.sh inside the root; curl on the
# host downloads from 127.0.0.1 files of 0 B to 50 MiB, ranges, HEADs and 32
# at once (tests/servers/lib.sh), every body compared by SHA-256.
#   apache_test.sh shim [LAYER]    through the root's sfshim
#                                  (/usr/local/bin/sfshim): byte-exact, the
#                                  shim's stats show emulated calls
#   apache_test.sh noshim [LAYER]  the negative control: empty or short
#                                  bodies (compat), a 50 MiB body longer than
#                                  the file, bytes sent twice (freebsd)
# LAYER: compat (the default), freebsd or illumos-lx (lib.sh's c_layer).
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
c_layer "${2:-compat}"
c_enter "$@"
# shellcheck source=../servers/lib.sh
. "$C_SRC/tests/servers/lib.sh"

case=${1:?usage: apache_test.sh shim|noshim [compat|freebsd|illumos-lx]}
big=52428800
c_use_root_launchers
export APACHE2=$C_ROOT/usr/sbin/apache2
echo "$(c_run_kernel /usr/sbin/apache2 -v | head -n 1), EnableSendfile On"
if [ "$case" = shim ]; then
	# Does the root's loader take the library at all? (Else Apache never
	# starts, and serve.sh can only say so.)
	c_run_kernel LD_PRELOAD=/usr/local/lib/libsfshim.so.0 /usr/sbin/apache2 -v >"$C_WORK/loader.txt" 2>&1
	c_loader_check "$C_WORK/loader.txt" || c_finish
fi
t_init "compat-apache-$case"
t_make_files "$big"
t0=$(date +%s%N)

case $case in
shim)
	echo "bullseye's apache2, through the root's sfshim:"
	if ! t_start apache; then exit 1; fi
	t_check_all
	if [ "$C_LAYER" != compat ]; then
		t_big_once || t_fail "the largest file through a raw connection"
		t_expect "the server runs under the profile's seccomp filter" t_server_filtered
	fi
	t_stop
	t_stats "$T_DIR"
	if [ "$C_LAYER" != compat ]; then t_expect_layer_emulated "$big"; else t_expect_emulated "$big"; fi
	;;
noshim)
	echo "bullseye's apache2 without the shim (negative control):"
	t_start apache --no-shim
	if [ "$C_LAYER" != compat ]; then
		t_expect "file-$big.bin arrives longer than the file, bytes of it sent twice" t_big_duplicated
		t_expect "the server runs under the profile's seccomp filter" t_server_filtered
		t_stop
	else
		t_expect_broken_without_shim "$big"
	fi
	t_expect "no shim, no shim stats" t_no_stats
	;;
*) t_die "unknown case '$case' (shim or noshim)" ;;
esac
echo "  ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
t_finish
