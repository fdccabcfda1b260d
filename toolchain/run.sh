#!/usr/bin/env bash
# The demo: an unmodified Apache with EnableSendfile On, on a "kernel" whose
# sendfile syscall fails with ENOSYS (as NetBSD's Linux emulation does),
# first through sfshim, then without it for contrast.
#
#   toolchain/run.sh [BUILD_DIR]      (default: build-run, configured once)
#
# Installs what is missing (toolchain/setup.sh servers), builds the library
# and launchers, makes files of 0 B to 200 MiB, and checks every body by
# SHA-256: whole files, byte ranges, HEAD, 32 downloads at once.  Apache
# listens on 127.0.0.1 on a free port and is stopped on every way out.
# Exit status 0 only if everything verified through the shim AND Apache
# without the shim indeed failed.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-run}

"$root/toolchain/setup.sh" servers || exit 1
if [ ! -f "$build/CMakeCache.txt" ]; then
	echo "run.sh: configuring $build"
	mkdir -p "$build"
	cmake -S "$root" -B "$build" -DSFSHIM_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		>"$build/configure.log" 2>&1 ||
		{ cat "$build/configure.log" >&2; echo "run.sh: configure failed" >&2; exit 1; }
fi
cmake --build "$build" -j"$(nproc)" --target sfshim sfshim-nosendfile sfshim-doctor >"$build/build.log" 2>&1 ||
	{ tail -n 30 "$build/build.log" >&2; echo "run.sh: build failed" >&2; exit 1; }

export SFSHIM=$build/bin/sfshim SFSHIM_NOSENDFILE=$build/bin/sfshim-nosendfile
if [ ! -x "$SFSHIM" ] || [ ! -x "$SFSHIM_NOSENDFILE" ]; then
	echo "run.sh: no launchers in $build/bin" >&2
	exit 1
fi

# shellcheck source=../tests/servers/lib.sh
. "$root/tests/servers/lib.sh"
t_init run
start=$(date +%s%N)
ms() { echo $((($(date +%s%N) - start) / 1000000)); }

big=$((200 * 1048576))
echo
echo "== Files (random content) in $T_WORK/docroot"
t_make_files "$big"
for f in "${T_FILES[@]}"; do printf '  %-20s %10s  sha256 %s\n' "$f" "$(t_human "${T_SIZE[$f]}")" "${T_SUM[$f]:0:16}"; done

echo
echo "== 1. Apache 2.4, EnableSendfile On, sendfile syscall -> ENOSYS, through sfshim"
t_start apache
echo "  $(apache2 -v 2>/dev/null | head -1 | sed 's/Server version: //'), at $T_URL"
echo "  started as: sfshim --no-kernel-sendfile -- apache2 -f $T_DIR/apache2.conf -DFOREGROUND"
shim_ok=1
t_check_all || shim_ok=''
t_stop
echo
echo "  The shim's counters, summed over Apache's processes ($T_DIR/stats):"
t_stats "$T_DIR"
t_expect "calls were emulated (emulated_calls $st_emulated_calls > 0)" [ "$st_emulated_calls" -gt 0 ] || shim_ok=''
t_expect "the kernel's ENOSYS was seen (kernel_enosys)" [ "$st_enosys" -gt 0 ] || shim_ok=''
t_expect "the bodies went through sendfile ($st_bytes bytes)" [ "$st_bytes" -ge "$big" ] || shim_ok=''
t_expect "Apache's error log mentions no sendfile error" t_log_clean || shim_ok=''
[ $T_FAILS -eq 0 ] || shim_ok=''

echo
echo "== 2. The same Apache, same kernel, WITHOUT the shim (for contrast)"
t_start apache --no-shim
echo "  at $T_URL, started as: sfshim-nosendfile -- apache2 -f ... -DFOREGROUND"
printf '  %-20s %12s %12s\n' file expected received
broken=0 contrast_ok=1
for f in "${T_FILES[@]}"; do
	verdict=ok
	t_get "$f" >/dev/null || { verdict="truncated"; broken=$((broken + 1)); }
	# Apache sends bodies below 256 B without sendfile: those may arrive;
	# from a page up, none may.
	[ "${T_SIZE[$f]}" -lt 4096 ] || [ "$verdict" != ok ] || contrast_ok=''
	[ "$verdict" = ok ] || [ "$T_GOT" != 0 ] || verdict="empty body"
	printf '  %-20s %12s %12s  HTTP %s, %s\n' "$f" "${T_SIZE[$f]}" "$T_GOT" "$T_CODE" "$verdict"
done
t_stop

echo
echo "== Result ($(ms) ms)"
if [ -n "$shim_ok" ]; then
	echo "  through sfshim: every file, range, HEAD and parallel download verified by SHA-256"
else
	echo "  through sfshim: FAILED ($T_FAILS check(s)); logs: $T_DIR/logs (T_KEEP=1 keeps them)"
fi
if [ -n "$contrast_ok" ]; then
	echo "  without sfshim: $broken of ${#T_FILES[@]} files arrived truncated or empty, as expected"
else
	echo "  without sfshim: a file of 4 KiB or more arrived whole: the contrast did not show (is sendfile really refused?)"
fi
[ -n "$shim_ok" ] && [ -n "$contrast_ok" ]
