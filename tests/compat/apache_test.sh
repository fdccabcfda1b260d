#!/usr/bin/env bash
# Bullseye's Apache (its apache2 and libapr, glibc 2.31) with EnableSendfile
# On, in the compat-layer kernel (sendfile ENOSYS, no /proc), started by
# examples/apache/serve.sh inside the root; curl on the host downloads from
# 127.0.0.1 files of 0 B to 50 MiB, ranges, HEADs and 32 at once
# (tests/servers/lib.sh), every body compared by SHA-256.
#   apache_test.sh shim     through the root's sfshim (/usr/local/bin/sfshim):
#                           byte-exact, the shim's stats show emulated calls
#   apache_test.sh noshim   the negative control: empty or short bodies
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
c_enter "$@"
# shellcheck source=../servers/lib.sh
. "$C_SRC/tests/servers/lib.sh"

case=${1:?usage: apache_test.sh shim|noshim}
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
	t_stop
	t_stats "$T_DIR"
	t_expect_emulated "$big"
	;;
noshim)
	echo "bullseye's apache2 without the shim (negative control):"
	t_start apache --no-shim
	t_expect_broken_without_shim "$big"
	t_expect "no shim, no shim stats" t_no_stats
	;;
*) t_die "unknown case '$case' (shim or noshim)" ;;
esac
echo "  ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
t_finish
