#!/usr/bin/env bash
# One unmodified server, one situation:
#   server_test.sh SERVER CASE [BIGSIZE]
#     SERVER  apache, nginx, lighttpd, python, busybox, vsftpd or uwsgi
#             (examples/SERVER/serve.sh)
#     CASE    shim     the sendfile syscall fails with ENOSYS; the server runs
#                      through sfshim: every byte arrives, the calls were
#                      emulated; for busybox, vsftpd and uwsgi also: the
#                      bytes counted are the bytes the clients received, and
#                      each process is there with the state it ended in
#             noshim   the same kernel without the shim: the negative control
#                      (lighttpd, busybox and vsftpd fall back to read/write
#                      by themselves: strace shows the refused calls)
#             kernel   the normal kernel through sfshim --mode auto: the calls
#                      pass through to the kernel, every byte arrives (busybox,
#                      vsftpd, uwsgi: under strace, which sees the same calls
#                      and bytes as the shim counted)
#             report   (busybox) sfshim --stats, no file: busybox httpd in the
#                      foreground under the launcher's supervisor; SIGTERM to
#                      the launcher; its report on stderr says the calls and
#                      bytes of every child
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
# The servers that fall back to read/write by themselves: their negative
# control is strace's record of the refused calls.
own_fallback=''
case $server in lighttpd | busybox | vsftpd) own_fallback=1 ;; esac
[ -n "$own_fallback" ] && [ "$case" = noshim ] && need="$need strace"
case $server/$case in busybox/kernel | vsftpd/kernel | uwsgi/kernel) need="$need strace" ;; esac
for n in $need; do
	command -v "$n" >/dev/null || [ -x "/usr/sbin/$n" ] ||
		{ echo "SKIP: $n is not installed (toolchain/setup.sh servers)"; exit 77; }
done
if [ "$server" = uwsgi ] && ! uwsgi --plugin python3 --help >/dev/null 2>&1; then
	echo "SKIP: uWSGI's python3 plugin is not installed (uwsgi-plugin-python3; toolchain/setup.sh servers)"
	exit 77
fi

t_init "test-$server-$case"
t_make_files "$big"
t0=$(date +%s%N)

# busybox httpd 1.35 answers a HEAD with the body too, and a suffix range
# (bytes=-N) with the whole file and 200: not asked for.
if [ "$server" = busybox ]; then
	T_NO_HEAD="busybox httpd 1.35 sends the body on HEAD"
	T_NO_SUFFIX_RANGES="busybox httpd 1.35 answers bytes=-N with 200 and the whole file"
fi
# uWSGI answers a range that is the whole file (bytes=0-0 of 1 byte) with 200.
[ "$server" != uwsgi ] || T_RANGE_WHOLE_200=1

# t_exercise: what the clients ask of this server: every file, ranges (FTP:
# REST), HEADs, downloads at once; for uwsgi also every file through the
# WSGI app (/app/NAME: wsgi.file_wrapper) and a HEAD there.
t_exercise() {
	case $server in
	vsftpd) t_ftp_check_all ;;
	uwsgi)
		t_check_all
		local url=$T_URL name
		T_URL=${url}app/
		echo "  through the WSGI app's wsgi.file_wrapper ($T_URL):"
		for name in "${T_FILES[@]}"; do t_get "$name" || t_fail "GET app/$name"; done
		t_head file-4095.bin || t_fail "HEAD app/file-4095.bin"
		T_URL=$url
		;;
	*) t_check_all ;;
	esac
}

# t_strace_sendfile FILE: "CALLS BYTES PROBES WORKED REFUSED" of the
# sendfile syscalls in strace's record FILE (a call strace split into
# "<unfinished ...>" and "<... sendfile resumed>" counts once): the calls of
# count 0 are PROBES (the shim's, in --mode auto: once in each process,
# before its first call goes to the kernel, count 0 into a socket pair, to
# learn whether the kernel keeps partial counts; busybox, vsftpd and uWSGI
# never ask for 0 bytes); the others are CALLS, BYTES what they returned (a
# failed call: none), WORKED those that did not fail, REFUSED those that
# failed with ENOSYS.
t_strace_sendfile() {
	python3 - "$1" <<'EOF_PY'
import re, sys
calls = total = probes = worked = refused = 0
pending = {}
for line in open(sys.argv[1]):
    pid = line.split(None, 1)[0]
    m = re.search(r"sendfile\((.*)", line)
    if m and "<unfinished ...>" in line:
        pending[pid] = m.group(1)
        continue
    if "<... sendfile resumed>" in line:
        args = pending.pop(pid, "") + line.split("resumed>", 1)[1]
    elif m:
        args = m.group(1)
    else:
        continue
    r = re.search(r"^(.*)\) += (-?\d+)(.*)", args)
    if not r:
        continue
    if r.group(1).rsplit(",", 1)[-1].strip() == "0":
        probes += 1
        continue
    calls += 1
    total += max(0, int(r.group(2)))
    worked += int(r.group(2)) >= 0
    refused += int(r.group(2)) < 0 and " ENOSYS " in r.group(3) + " "
print(calls, total, probes, worked, refused)
EOF_PY
}

# The processes that counted: each in the state its kind of process ends in.
t_expect_states() {
	case $server in
	busybox)
		t_expect "each request was a child of its own that called sendfile ($st_processes processes == $T_REQUESTS requests)" \
			[ "$st_processes" -eq "$T_REQUESTS" ]
		t_expect "every child ended without exit, as busybox's do (_exit): $st_ended of $st_processes ended" \
			[ "$st_ended" -eq "$st_processes" ]
		;;
	vsftpd)
		t_expect "each session with bytes to send counted in a process of its own ($st_processes processes == $T_SESSIONS_SENDING sessions)" \
			[ "$st_processes" -eq "$T_SESSIONS_SENDING" ]
		t_expect "every session ended without exit, as vsftpd's do (_exit): $st_ended of $st_processes ended" \
			[ "$st_ended" -eq "$st_processes" ]
		;;
	uwsgi)
		t_expect "every worker that counted exited (uWSGI's SIGINT handler calls exit()): $st_exited of $st_processes" \
			[ "$st_processes" -ge 1 ] && [ "$st_exited" -eq "$st_processes" ]
		;;
	esac
	t_expect "none is in the shared slot ($st_shared)" [ "$st_shared" -eq 0 ]
}

# t_expect_all_counted WHO: after the server stopped, in the no-sendfile
# kernel through the shim: nothing still counting, the bytes counted are the
# bytes received, every call emulated, and each process (WHO: "process",
# "worker") met the kernel's ENOSYS once, at its first call.
t_expect_all_counted() {
	t_expect "no process that counted is still running" t_stats_settled "$T_DIR"
	t_stats "$T_DIR"
	t_expect_emulated "$big"
	t_expect_received_counted
	t_expect "every call was emulated, none failed (calls $st_calls == emulated $st_emulated_calls, errors $st_errors)" \
		[ "$st_calls" -eq "$st_emulated_calls" ] && [ "$st_errors" -eq 0 ]
	t_expect "each $1 met the kernel's ENOSYS once, at its first call (fallbacks $st_fallbacks == processes $st_processes == ENOSYS seen $st_enosys)" \
		[ "$st_fallbacks" -eq "$st_processes" ] && [ "$st_enosys" -eq "$st_processes" ]
}

case $case in
shim)
	echo "$server, sendfile syscall -> ENOSYS, through sfshim:"
	t_start "$server"
	case $server in
	busybox | vsftpd)
		t_exercise
		t_stop
		t_expect_all_counted process
		t_expect_states
		;;
	uwsgi)
		t_exercise
		# The workers that have counted so far: SIGKILL (no exit, no handler
		# of any kind); the master forks new ones in their place.
		master=$(cat "$T_DIR/server.pid")
		killed=$(t_stats_json "$T_DIR" | sed -n 's/.*"pid":\([0-9]*\).*"state":"running".*/\1/p' | tr '\n' ' ')
		workers=" $(pgrep -P "$master" | tr '\n' ' ') "
		echo "  the workers that counted so far: $killed(the master's children:$workers)"
		t_expect "they are the master's workers, and the master counted nothing" \
			[ -n "$killed" ] && [ -z "$(for p in $killed; do [[ $workers == *" $p "* ]] || echo "$p"; done)" ]
		# shellcheck disable=SC2086
		kill -KILL $killed
		gone=''
		for ((i = 0; i < 300; i++)); do
			gone=1
			for p in $killed; do kill -0 "$p" 2>/dev/null && gone=''; done
			[ -z "$gone" ] || break
			sleep 0.1
		done
		t_expect "the killed workers are gone (otherwise: timed out after 30 s)" [ -n "$gone" ]
		echo "  after SIGKILL to them, the master's new workers serve:"
		for name in "${T_FILES[@]}"; do t_get "$name" || t_fail "GET $name after the kill"; done
		t_get file-10485760.bin || t_fail "GET file-10485760.bin after the kill"
		T_URL=${T_URL}app/ t_get "file-$big.bin" || t_fail "GET app/file-$big.bin after the kill"
		t_parallel 8 || t_fail "8 downloads at once after the kill"
		t_stop
		t_expect_all_counted worker
		echo "  ended: $st_pids_ended; exited: $st_pids_exited"
		t_expect "the workers killed with SIGKILL are there, ended without exit (ended: $st_pids_ended)" \
			[ "$(tr ' ' '\n' <<<"$killed" | grep . | sort)" = "$(tr ' ' '\n' <<<"$st_pids_ended" | grep . | sort)" ]
		t_expect "the workers stopped by SIGTERM to the master are there, exited (through exit(): uWSGI's SIGINT handler; $st_exited)" \
			[ "$st_exited" -ge 1 ] && [ "$st_processes" -eq $((st_exited + st_ended)) ]
		t_expect "none is in the shared slot ($st_shared)" [ "$st_shared" -eq 0 ]
		;;
	*)
		t_check_all
		t_stop
		t_stats "$T_DIR"
		t_expect_emulated "$big"
		;;
	esac
	;;
noshim)
	echo "$server, sendfile syscall -> ENOSYS, without the shim (negative control):"
	if [ -n "$own_fallback" ]; then
		# lighttpd, busybox httpd and vsftpd fall back to read/write by
		# themselves on ENOSYS: they serve, but every sendfile they try is
		# refused. (lighttpd tries again for every chunk; a busybox child,
		# and a vsftpd session, once.)
		t_start "$server" --no-shim --strace "$T_WORK/strace.out"
		t_exercise
		t_stop
		read -r _ _ _ worked refused < <(t_strace_sendfile "$T_WORK/strace.out")
		echo "  strace: $refused sendfile calls refused with ENOSYS, $worked succeeded; e.g.:"
		grep -m 2 'ENOSYS' "$T_WORK/strace.out" | sed 's/^/    /'
		t_expect "$server's sendfile calls were refused (strace: $refused x ENOSYS)" \
			[ "$refused" -gt 0 ]
		t_expect "none of them succeeded" [ "$worked" -eq 0 ]
		case $server in
		busybox)
			t_expect "each child tried sendfile once and fell back to read/write ($refused refused == $T_REQUESTS requests)" \
				[ "$refused" -eq "$T_REQUESTS" ] ;;
		vsftpd)
			t_expect "each session with bytes to send tried sendfile once and fell back ($refused refused == $T_SESSIONS_SENDING sessions)" \
				[ "$refused" -eq "$T_SESSIONS_SENDING" ] ;;
		esac
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
	case $server in
	busybox | vsftpd | uwsgi)
		# Under strace: it sees each call the shim passes to the kernel.
		t_start "$server" --kernel --mode auto --strace "$T_WORK/strace.out"
		t_exercise
		t_stop
		t_expect "no process that counted is still running" t_stats_settled "$T_DIR"
		t_stats "$T_DIR"
		read -r s_calls s_bytes s_probes _ < <(t_strace_sendfile "$T_WORK/strace.out")
		echo "  strace: $s_calls sendfile calls, $s_bytes bytes; and $s_probes of count 0 (the shim's probe)"
		t_expect "the shim probed the kernel once in each process that counted ($s_probes == $st_processes)" \
			[ "$s_probes" -eq "$st_processes" ]
		t_expect "the shim counted every call strace saw (calls $st_calls == native $st_native_calls == strace $s_calls)" \
			[ "$st_calls" -eq "$s_calls" ] && [ "$st_native_calls" -eq "$s_calls" ]
		t_expect "and the bytes (bytes $st_bytes == native $st_native_bytes == strace $s_bytes)" \
			[ "$st_bytes" -eq "$s_bytes" ] && [ "$st_native_bytes" -eq "$s_bytes" ]
		t_expect_received_counted
		t_expect_states
		;;
	*)
		t_start "$server" --kernel --mode auto
		t_check_all
		t_stop
		t_stats "$T_DIR"
		;;
	esac
	t_expect "the calls went to the kernel (native_calls $st_native_calls > 0)" \
		[ "$st_native_calls" -gt 0 ]
	t_expect "none was emulated (emulated_calls $st_emulated_calls == 0)" \
		[ "$st_emulated_calls" -eq 0 ]
	t_expect "the kernel never refused (kernel_enosys false everywhere)" [ "$st_enosys" -eq 0 ]
	t_expect "no sendfile error in the server's error log" t_log_clean
	;;
report)
	[ "$server" = busybox ] || t_die "the report case is busybox's"
	echo "busybox httpd -f under sfshim --no-kernel-sendfile --stats (no file), SIGTERM to the launcher:"
	sfshim=$(t_sfshim)
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	: >"$T_WORK/httpd.conf"
	drop=()
	[ "$(id -u)" -ne 0 ] || ! id www-data >/dev/null 2>&1 || drop=(-u www-data:www-data)
	# The launcher makes its stats file in TMPDIR, and its supervisor
	# (sfshim-doctor, which the launcher execs: the same pid) removes it.
	mkdir -p "$T_WORK/tmp"
	TMPDIR=$T_WORK/tmp "$sfshim" --quiet --no-kernel-sendfile --stats -- \
		busybox httpd -f -p "127.0.0.1:$port" -h "$T_DOCROOT" -c "$T_WORK/httpd.conf" "${drop[@]}" \
		</dev/null >"$T_WORK/report.out" 2>"$T_WORK/report.err" &
	launcher=$!
	T_PIDS+=("$launcher")
	up=''
	for ((i = 0; i < 150; i++)); do
		kill -0 "$launcher" 2>/dev/null || break
		python3 -c 'import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$port" && { up=1; break; }
		sleep 0.1
	done
	[ -n "$up" ] || { cat "$T_WORK/report.err"; t_die "busybox httpd did not answer on port $port (timed out after 15 s)"; }
	T_URL=http://127.0.0.1:$port/
	for name in "${T_FILES[@]}"; do t_get "$name" || t_fail "GET $name"; done
	t_range file-4096.bin 4095- || t_fail "Range file-4096.bin 4095-"
	t_range file-10485760.bin 4096-1052671 || t_fail "Range file-10485760.bin 4096-1052671"
	t_parallel 8 || t_fail "8 downloads at once"
	# Every child busybox forked for a request has ended (busybox reaps
	# them) before the launcher is told to stop.
	httpd=$(pgrep -P "$launcher")
	idle=''
	for ((i = 0; i < 300; i++)); do
		[ -n "$(pgrep -P "$httpd")" ] || { idle=1; break; }
		sleep 0.1
	done
	t_expect "busybox's children for the requests have ended (otherwise: timed out after 30 s)" [ -n "$idle" ]
	kill -TERM "$launcher"
	ended=''
	for ((i = 0; i < 300; i++)); do
		kill -0 "$launcher" 2>/dev/null || { ended=1; break; }
		sleep 0.1
	done
	[ -n "$ended" ] || t_die "the launcher did not end on SIGTERM (timed out after 30 s)"
	wait "$launcher"
	rc=$?
	echo "  the launcher's status: $rc; its stderr:"
	sed 's/^/    /' "$T_WORK/report.err"
	t_expect "the launcher ended as busybox did, by SIGTERM (status $rc == 143)" [ "$rc" -eq 143 ]
	# The report's figures: the processes and the calls as integers, the
	# bytes as the report writes them (B, or KiB, MiB, ... with one decimal).
	want_bytes=$(python3 -c 'import sys
v, u = float(sys.argv[1]), 0
while v >= 1024 and u < 5:
    v /= 1024; u += 1
print("%d B" % int(sys.argv[1]) if u == 0 else "%.1f %s" % (v, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"][u]))' "$T_RECEIVED")
	head=$(grep -m 1 '^sfshim, ' "$T_WORK/report.err")
	calls=$(sed -n 's/^sfshim, .*: \([0-9]*\) sendfile calls, .*/\1/p' <<<"$head")
	emulated=$(sed -n 's/^  emulated *\([0-9]*\) calls .*/\1/p' "$T_WORK/report.err")
	t_expect "it reports every request's child, all ended ($T_REQUESTS requests: \"$head\")" \
		[ "${head%%:*}" = "sfshim, $T_REQUESTS processes ($T_REQUESTS ended)" ]
	t_expect "it reports the bytes the clients received ($T_RECEIVED bytes: $want_bytes)" \
		[ "${head##*sendfile calls, }" = "$want_bytes" ]
	t_expect "it reports the calls, all emulated (calls ${calls:-?} >= $T_REQUESTS, emulated ${emulated:-?})" \
		[ "${calls:-0}" -ge "$T_REQUESTS" ] && [ "${emulated:--1}" = "$calls" ]
	rows=$(grep -Ec '^ +[0-9]+  ended ' "$T_WORK/report.err")
	t_expect "a row for each child ($T_REQUESTS requests; it shows up to 20), each ended ($rows rows)" \
		[ "$rows" -eq "$T_REQUESTS" ]
	t_expect "the kernel's ENOSYS is reported" grep -q 'kernel sendfile answered ENOSYS' "$T_WORK/report.err"
	t_expect "the supervisor removed its stats file (TMPDIR is empty)" \
		[ -z "$(ls -A "$T_WORK/tmp")" ]
	;;
*) t_die "unknown case '$case' (shim, noshim, kernel, compat, freebsd, freebsd-noshim, illumos-lx, illumos-lx-noshim or report)" ;;
esac

echo "  ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
t_finish
