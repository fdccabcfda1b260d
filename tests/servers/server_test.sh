#!/usr/bin/env bash
# One unmodified server, one situation:
#   server_test.sh SERVER CASE [BIGSIZE]
#     SERVER  apache, nginx, lighttpd or python (examples/SERVER/serve.sh)
#     CASE    shim     the sendfile syscall fails with ENOSYS; the server runs
#                      through sfshim: every byte arrives, the calls were emulated
#             noshim   the same kernel without the shim: the negative control
#             kernel   the normal kernel through sfshim --mode auto: the calls
#                      pass through to the kernel, every byte arrives
#             compat   NetBSD compat_linux's profile without /proc
#                      (sfshim-nosendfile --profile compat --no-proc) through
#                      sfshim: every byte arrives, the calls were emulated
#             freebsd  FreeBSD's linuxulator profile (sfshim-nosendfile
#                      --profile freebsd: its sendfile fails with EAGAIN or
#                      EINTR after moving bytes) through sfshim: every byte
#                      arrives, no call reached the layer's sendfile
#             freebsd-noshim  the same profile without the shim: the negative
#                      control, a large body arrives with bytes sent twice
#             illumos-lx, illumos-lx-noshim  the same in illumos LX's profile
#     BIGSIZE the largest file, bytes (default 50 MiB)
# Environment: SFSHIM, SFSHIM_NOSENDFILE, SFSHIM_LIBRARY (set by CTest).
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

server=${1:?usage: server_test.sh SERVER CASE [BIGSIZE]}
case=${2:?usage: server_test.sh SERVER CASE [BIGSIZE]}
big=${3:-52428800}
[ -x "$T_EXAMPLES/$server/serve.sh" ] || t_die "unknown server '$server'"
# Not installed: skip (CTest's SKIP_RETURN_CODE), do not fail.
need=$server
case $server in apache) need=apache2 ;; python) need=python3 ;; esac
[ "$server/$case" = lighttpd/noshim ] && need="$need strace"
for n in $need; do
	command -v "$n" >/dev/null || [ -x "/usr/sbin/$n" ] ||
		{ echo "SKIP: $n is not installed (toolchain/setup.sh servers)"; exit 77; }
done

t_init "test-$server-$case"
t_make_files "$big"
t0=$(date +%s%N)

case $case in
shim)
	echo "$server, sendfile syscall -> ENOSYS, through sfshim:"
	t_start "$server"
	t_check_all
	t_stop
	t_stats "$T_DIR"
	t_expect_emulated "$big"
	;;
noshim)
	echo "$server, sendfile syscall -> ENOSYS, without the shim (negative control):"
	if [ "$server" = lighttpd ]; then
		# lighttpd falls back to read/write by itself on ENOSYS: it serves,
		# but every sendfile it tries is refused.
		t_start "$server" --no-shim --strace "$T_WORK/strace.out"
		t_check_all
		t_stop
		refused=$(grep -c 'sendfile(.*= -1 ENOSYS' "$T_WORK/strace.out")
		worked=$(grep -Ec 'sendfile\(.*= [0-9]+$' "$T_WORK/strace.out")
		echo "  strace: $refused sendfile calls refused with ENOSYS, $worked succeeded; e.g.:"
		grep -m 2 'ENOSYS' "$T_WORK/strace.out" | sed 's/^/    /'
		t_expect "lighttpd's sendfile calls were refused (strace: $refused x ENOSYS)" \
			[ "$refused" -gt 0 ]
		t_expect "none of them succeeded" [ "$worked" -eq 0 ]
	else
		t_start "$server" --no-shim
		t_expect_broken_without_shim "$big"
		if [ "$server" != apache ]; then
			# nginx: "sendfile() failed (38: ...)"; python: OSError Errno 38.
			t_expect "the error log shows the refused sendfile" t_log_shows_sendfile_error
		fi
	fi
	t_expect "no shim, no shim stats" t_no_stats
	;;
compat)
	echo "$server, NetBSD compat_linux profile without /proc, through sfshim:"
	# The launcher the server runs under: the profile around sfshim (serve.sh
	# with --kernel adds no filter of its own). The supervisor stays outside.
	real_sfshim=$SFSHIM
	printf '#!/bin/sh\nexec "%s" --profile compat --no-proc -- "%s" "$@"\n' \
		"$SFSHIM_NOSENDFILE" "$real_sfshim" >"$T_WORK/sfshim-compat"
	chmod 755 "$T_WORK/sfshim-compat"
	t_expect "the profile has no /proc, refuses F_GETPIPE_SZ (EOPNOTSUPP) and the calls NetBSD lacks (ENOSYS)" \
		"$SFSHIM_NOSENDFILE" --profile compat --no-proc -- python3 -c '
import ctypes, errno, fcntl, os, platform, sys
r, w = os.pipe()
for cmd in (1031, 1032):
    try:
        fcntl.fcntl(w, cmd, 4096)
        sys.exit("F_SETPIPE_SZ/F_GETPIPE_SZ works")
    except OSError as e:
        if e.errno != errno.EOPNOTSUPP:
            sys.exit("F_GETPIPE_SZ: %s" % e)
libc = ctypes.CDLL(None, use_errno=True)
if platform.machine() == "x86_64":
    for name, nr in (("sendfile", 40), ("splice", 275), ("tee", 276), ("vmsplice", 278),
                     ("process_vm_readv", 310), ("process_vm_writev", 311), ("copy_file_range", 326)):
        if libc.syscall(nr, -1, 0, -1, 0, 0, 0) != -1 or ctypes.get_errno() != errno.ENOSYS:
            sys.exit(name + " is not refused with ENOSYS")
sys.exit("/proc is there" if os.listdir("/proc") else 0)'
	export SFSHIM=$T_WORK/sfshim-compat
	t_start "$server" --kernel
	SFSHIM=$real_sfshim
	t_check_all
	pid=$(cat "$T_DIR/server.pid" 2>/dev/null)
	t_expect "the server runs in the profile's mount namespace (its /proc empty)" \
		[ -n "$pid" ] && [ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]
	t_stop
	t_stats "$T_DIR"
	t_expect_emulated "$big"
	;;
freebsd | illumos-lx)
	layer_name="FreeBSD linuxulator"
	[ "$case" = freebsd ] || layer_name="illumos LX"
	echo "$server, $layer_name profile, through sfshim:"
	real_sfshim=$SFSHIM
	printf '#!/bin/sh\nexec "%s" --profile %s -- "%s" "$@"\n' \
		"$SFSHIM_NOSENDFILE" "$case" "$real_sfshim" >"$T_WORK/sfshim-$case"
	chmod 755 "$T_WORK/sfshim-$case"
	t_expect "the profile is $layer_name's: uname names it, count 0 refused, process_vm_readv ENOSYS" \
		t_layer_profile_answers "$case"
	export SFSHIM=$T_WORK/sfshim-$case
	t_start "$server" --kernel
	SFSHIM=$real_sfshim
	t_check_all
	t_big_once || t_fail "the largest file through a raw connection"
	t_expect "the server runs under the profile's seccomp filter" t_server_filtered
	t_stop
	t_stats "$T_DIR"
	t_expect_layer_emulated "$big"
	;;
freebsd-noshim | illumos-lx-noshim)
	profile=${case%-noshim}
	echo "$server, $profile profile, without the shim (negative control):"
	# serve.sh --no-shim runs the server under $SFSHIM_NOSENDFILE --: here
	# the profile's.
	real_nosendfile=$SFSHIM_NOSENDFILE
	printf '#!/bin/sh\nexec "%s" --profile %s "$@"\n' "$real_nosendfile" "$profile" >"$T_WORK/nosendfile-$profile"
	chmod 755 "$T_WORK/nosendfile-$profile"
	export SFSHIM_NOSENDFILE=$T_WORK/nosendfile-$profile
	t_start "$server" --no-shim
	SFSHIM_NOSENDFILE=$real_nosendfile
	t_expect "file-$big.bin arrives longer than the file, bytes of it sent twice" t_big_duplicated
	t_expect "the server runs under the profile's seccomp filter" t_server_filtered
	t_stop
	t_expect "no shim, no shim stats" t_no_stats
	;;
kernel)
	echo "$server, normal kernel, through sfshim --mode auto:"
	t_start "$server" --kernel --mode auto
	t_check_all
	t_stop
	t_stats "$T_DIR"
	t_expect "the calls went to the kernel (native_calls $st_native_calls > 0)" \
		[ "$st_native_calls" -gt 0 ]
	t_expect "none was emulated (emulated_calls $st_emulated_calls == 0)" \
		[ "$st_emulated_calls" -eq 0 ]
	t_expect "the kernel never refused (kernel_enosys false everywhere)" [ "$st_enosys" -eq 0 ]
	t_expect "no sendfile error in the server's error log" t_log_clean
	;;
*) t_die "unknown case '$case' (shim, noshim, kernel, compat, freebsd, freebsd-noshim, illumos-lx or illumos-lx-noshim)" ;;
esac

echo "  ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
t_finish
