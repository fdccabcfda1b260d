# shellcheck shell=bash
# Shared by the server tests (tests/servers/*.sh) and toolchain/run.sh.
# Sourced (bash).  Starting a server is examples/<server>/serve.sh's job;
# this file makes the files, fetches and checks them, reads the shim's stats,
# and makes sure every server it started is stopped, whatever happens.
#
# Environment: SFSHIM, SFSHIM_NOSENDFILE, SFSHIM_LIBRARY (passed on to
# serve.sh and the sfshim launcher); T_KEEP=1 keeps the work directory.

T_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T_ROOT=$(cd "$T_LIB_DIR/../.." && pwd)
T_EXAMPLES=$T_ROOT/examples

T_WORK='' T_SERVERS=() T_FAILS=0
# Processes a test started itself (not through serve.sh): killed at exit,
# with their children, if still there.
T_PIDS=()
T_CURL=(curl --silent --show-error --http1.1 --globoff --max-time 120)
# What the clients received since the last t_start: body bytes (T_RECEIVED)
# and requests that asked for a body (T_REQUESTS); for FTP, sessions
# (T_SESSIONS) and those whose RETRs had bytes to send (T_SESSIONS_SENDING).
T_RECEIVED=0 T_REQUESTS=0 T_SESSIONS=0 T_SESSIONS_SENDING=0

t_log() { echo "$*"; }
t_fail() { echo "FAIL: $*"; T_FAILS=$((T_FAILS + 1)); }
t_die() { echo "ERROR: $*" >&2; exit 1; }

# The pids of the descendants of process $1.
t_descendants() {
	local kid
	for kid in $(pgrep -P "$1"); do
		echo "$kid"
		t_descendants "$kid"
	done
}

# Stop every server we started and remove the work directory: on any exit,
# Ctrl-C included.
t_cleanup() {
	local rc=$? d
	trap - EXIT INT TERM HUP
	for d in "${T_SERVERS[@]}"; do
		"$T_EXAMPLES/${d%%:*}/serve.sh" --quiet --stop "${d#*:}" || true
	done
	T_SERVERS=()
	for d in "${T_PIDS[@]}"; do
		kill -0 "$d" 2>/dev/null || continue
		# shellcheck disable=SC2046
		kill -KILL "$d" $(t_descendants "$d") 2>/dev/null
		wait "$d" 2>/dev/null
	done
	T_PIDS=()
	if [ -n "$T_WORK" ] && [ -d "$T_WORK" ]; then
		if [ "${T_KEEP:-}" = 1 ]; then
			echo "(kept $T_WORK)"
		else
			rm -rf "$T_WORK"
		fi
	fi
	return $rc
}

# t_init NAME: a work directory under /tmp, readable by the servers' user.
t_init() {
	local t
	for t in curl python3 sha256sum; do
		command -v "$t" >/dev/null || t_die "$t is needed (toolchain/setup.sh servers)"
	done
	T_WORK=$(mktemp -d "/tmp/sfshim-$1.XXXXXX")
	chmod 755 "$T_WORK"
	trap t_cleanup EXIT
	trap 'echo "interrupted"; exit 130' INT
	trap 'exit 143' TERM HUP
}

# t_make_files BIGSIZE: the document root $T_WORK/docroot with random files
# of 0 B, 1 B, 4095 B, 4096 B, 64 KiB + 1, 10 MiB and BIGSIZE bytes, named
# file-SIZE.bin, and their SHA-256 in T_SUM[name].
declare -A T_SUM T_SIZE
T_FILES=()
t_make_files() {
	local big=$1 size name
	T_DOCROOT=$T_WORK/docroot
	mkdir -p "$T_DOCROOT"
	chmod 755 "$T_DOCROOT"
	T_FILES=()
	for size in 0 1 4095 4096 65537 10485760 "$big"; do
		name=file-$size.bin
		head -c "$size" /dev/urandom >"$T_DOCROOT/$name"
		chmod 644 "$T_DOCROOT/$name"
		T_FILES+=("$name")
		T_SIZE[$name]=$size
		T_SUM[$name]=$(sha256sum <"$T_DOCROOT/$name" | cut -d' ' -f1)
	done
}

# The sfshim launcher: $SFSHIM, or a build of this repository, or PATH.
t_sfshim() {
	local d
	[ -z "${SFSHIM:-}" ] || { echo "$SFSHIM"; return; }
	for d in "$T_ROOT/build/bin" "$T_ROOT/build-run/bin"; do
		[ -x "$d/sfshim" ] && { echo "$d/sfshim"; return; }
	done
	command -v sfshim || t_die "sfshim not found: build the project or set SFSHIM"
}

# t_start SERVER [serve.sh options]: start it in the background; sets T_URL
# and T_DIR (its state directory: logs/, stats/), and zeroes T_RECEIVED,
# T_REQUESTS, T_SESSIONS and T_SESSIONS_SENDING.
t_start() {
	local server=$1
	shift
	T_RECEIVED=0 T_REQUESTS=0 T_SESSIONS=0 T_SESSIONS_SENDING=0
	T_DIR=$(mktemp -d "$T_WORK/$server.XXXXXX")
	T_SERVERS+=("$server:$T_DIR")
	T_URL=$("$T_EXAMPLES/$server/serve.sh" --quiet --background --lifetime 300 \
		--dir "$T_DIR" "$@" "$T_DOCROOT") || t_die "could not start $server $*"
	T_SERVER=$server
}

# t_stop: stop the last server started, gracefully, and wait for it (and,
# for busybox and vsftpd, for the children it forked).
t_stop() {
	"$T_EXAMPLES/$T_SERVER/serve.sh" --quiet --stop "$T_DIR"
	local keep=() d
	for d in "${T_SERVERS[@]}"; do [ "$d" = "$T_SERVER:$T_DIR" ] || keep+=("$d"); done
	T_SERVERS=("${keep[@]}")
}

t_human() {
	local n=$1
	if [ "$n" -ge 1048576 ] && [ $((n % 1048576)) -eq 0 ]; then echo "$((n / 1048576)) MiB"
	elif [ "$n" -ge 1024 ] && [ $((n % 1024)) -eq 0 ]; then echo "$((n / 1024)) KiB"
	else echo "$n B"; fi
}

# t_get NAME [OUT]: GET the whole file; one line of report; status 0 if the
# body is the file, byte for byte.  Sets T_GOT (bytes received), T_CODE.
t_get() {
	local name=$1 out=${2:-$T_WORK/body} want=${T_SIZE[$1]} res rc sum verdict
	rm -f "$out"
	res=$("${T_CURL[@]}" -o "$out" -w '%{http_code} %{size_download}' "$T_URL$name" 2>"$out.err")
	rc=$?
	T_CODE=${res%% *} T_GOT=${res##* }
	T_RECEIVED=$((T_RECEIVED + ${T_GOT:-0})) T_REQUESTS=$((T_REQUESTS + 1))
	[ -f "$out" ] || : >"$out"
	sum=$(sha256sum <"$out" | cut -d' ' -f1)
	if [ $rc -eq 0 ] && [ "$T_CODE" = 200 ] && [ "$sum" = "${T_SUM[$name]}" ]; then
		verdict=ok
	else
		verdict="BAD (curl status $rc$( [ -s "$out.err" ] && printf ': %s' "$(head -c 100 "$out.err")"))"
	fi
	printf '  GET   %-20s %10s   %s  %10s received  sha256 %s  %s\n' "$name" \
		"$(t_human "$want")" "$T_CODE" "$T_GOT" "${sum:0:12}" "$verdict"
	[ "$verdict" = ok ]
}

# t_range NAME SPEC (a-b, a- or -n): a 206 whose body is that slice (or,
# with T_RANGE_WHOLE_200 set, a 200 with the file when the range is all of it).
t_range() {
	local name=$1 spec=$2 size=${T_SIZE[$1]} a b res rc want sum verdict
	case $spec in
	-*) a=$((size - ${spec#-})); [ $a -ge 0 ] || a=0; b=$((size - 1)) ;;
	*-) a=${spec%-}; b=$((size - 1)) ;;
	*) a=${spec%-*}; b=${spec#*-}; [ "$b" -lt "$size" ] || b=$((size - 1)) ;;
	esac
	want=$(python3 -c 'import hashlib, sys
with open(sys.argv[1], "rb") as f:
    f.seek(int(sys.argv[2])); print(hashlib.sha256(f.read(int(sys.argv[3]))).hexdigest())' \
		"$T_DOCROOT/$name" "$a" $((b - a + 1)))
	rm -f "$T_WORK/range"
	res=$("${T_CURL[@]}" -o "$T_WORK/range" -r "$spec" -w '%{http_code} %{size_download}' "$T_URL$name" 2>/dev/null)
	rc=$?
	T_RECEIVED=$((T_RECEIVED + ${res##* })) T_REQUESTS=$((T_REQUESTS + 1))
	[ -f "$T_WORK/range" ] || : >"$T_WORK/range"
	sum=$(sha256sum <"$T_WORK/range" | cut -d' ' -f1)
	if [ $rc -eq 0 ] && [ "${res%% *}" = 206 ] && [ "$sum" = "$want" ]; then
		verdict=ok
	elif [ -n "${T_RANGE_WHOLE_200:-}" ] && [ $rc -eq 0 ] && [ "${res%% *}" = 200 ] &&
		[ "$a" -eq 0 ] && [ "$b" -eq $((size - 1)) ] && [ "$sum" = "$want" ]; then
		verdict="ok (200: the range is the whole file)"
	else
		verdict="BAD (curl status $rc)"
	fi
	printf '  RANGE %-20s %-23s %s %10s received (want %s)  %s\n' "$name" "bytes=$spec" \
		"${res%% *}" "${res##* }" $((b - a + 1)) "$verdict"
	[ "${verdict%% *}" = ok ]
}

# t_head NAME: HEAD over a raw socket, so a body sent by mistake is seen:
# 200, Content-Length the file's size, and nothing after the header. The
# server closes the connection after it (Connection: close); one that has
# not within 60 s is "timed out", whatever it sent.
t_head() {
	local name=$1 res
	res=$(python3 - "$T_URL" "$name" <<'EOF'
import socket, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
s = socket.create_connection((u.hostname, u.port), timeout=60)
s.sendall(b"HEAD /%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (sys.argv[2].encode(), u.netloc.encode()))
data = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    print("timed-out none -1")
    sys.exit(0)
head, sep, rest = data.partition(b"\r\n\r\n")
lines = head.decode("latin-1").split("\r\n")
status = lines[0].split()[1] if lines and len(lines[0].split()) > 1 else "?"
length = "none"
for line in lines[1:]:
    k, _, v = line.partition(":")
    if k.strip().lower() == "content-length":
        length = v.strip()
print(status, length, len(rest) if sep else -1)
EOF
	)
	local code=${res%% *} rest=${res#* } len body
	len=${rest%% *} body=${rest##* }
	[ "$body" -le 0 ] 2>/dev/null || T_RECEIVED=$((T_RECEIVED + body))
	local verdict=ok
	[ "$code" = 200 ] && [ "$len" = "${T_SIZE[$name]}" ] && [ "$body" = 0 ] || verdict=BAD
	[ "$code" = timed-out ] && verdict="timed out (no close within 60 s)"
	printf '  HEAD  %-20s %10s   %s  Content-Length %s, %s body bytes  %s\n' "$name" \
		"$(t_human "${T_SIZE[$name]}")" "$code" "$len" "$body" "$verdict"
	[ "$verdict" = ok ]
}

# t_parallel N: N downloads at once, cycling through the files (all but the
# largest); each body checked.
t_parallel() {
	local n=$1 i name pids=() bad=0 small=$((${#T_FILES[@]} - 1)) start end rc
	mkdir -p "$T_WORK/par"
	start=$(date +%s%N)
	for ((i = 0; i < n; i++)); do
		name=${T_FILES[i % small]}
		"${T_CURL[@]}" -o "$T_WORK/par/$i" -w '%{size_download}' "$T_URL$name" >"$T_WORK/par/$i.got" 2>/dev/null &
		pids+=($!)
	done
	for ((i = 0; i < n; i++)); do
		wait "${pids[i]}"
		rc=$?
		T_RECEIVED=$((T_RECEIVED + $(cat "$T_WORK/par/$i.got" 2>/dev/null || echo 0)))
		T_REQUESTS=$((T_REQUESTS + 1))
		[ $rc -eq 0 ] || { bad=$((bad + 1)); continue; }
		name=${T_FILES[i % small]}
		[ "$(sha256sum <"$T_WORK/par/$i" | cut -d' ' -f1)" = "${T_SUM[$name]}" ] || bad=$((bad + 1))
	done
	end=$(date +%s%N)
	rm -rf "$T_WORK/par"
	printf '  GET x%d at once (%s): %d bad, %d ms  %s\n' "$n" \
		"$(for f in "${T_FILES[@]:0:small}"; do printf '%s ' "$(t_human "${T_SIZE[$f]}")"; done | sed 's/ $//')" \
		"$bad" $(((end - start) / 1000000)) "$([ $bad -eq 0 ] && echo ok || echo BAD)"
	[ $bad -eq 0 ]
}

# The ranges asked for: the edges of pages and of the files.
T_RANGES=("file-1.bin 0-0" "file-4095.bin 4000-4094" "file-4096.bin 4095-"
	"file-65537.bin 1-65536" "file-65537.bin -1" "file-10485760.bin 4096-1052671"
	"file-10485760.bin 5000000-5000000")

# t_check_all: every file, the ranges (and one in the largest), HEADs, and
# 32 downloads at once.  Counts failures in T_FAILS; status 0 if none.
# T_NO_HEAD and T_NO_SUFFIX_RANGES, when set, say why a server is not asked
# for HEADs or for suffix ranges (bytes=-N): those are left out.
t_check_all() {
	local before=$T_FAILS name r big=${T_FILES[${#T_FILES[@]} - 1]}
	for name in "${T_FILES[@]}"; do t_get "$name" || t_fail "GET $name"; done
	for r in "${T_RANGES[@]}" "$big 1000001-" "$big -4097"; do
		case $r in *" -"*) [ -z "${T_NO_SUFFIX_RANGES:-}" ] || continue ;; esac
		# shellcheck disable=SC2086
		t_range $r || t_fail "Range $r"
	done
	[ -z "${T_NO_SUFFIX_RANGES:-}" ] || echo "  (no suffix ranges: $T_NO_SUFFIX_RANGES)"
	if [ -n "${T_NO_HEAD:-}" ]; then
		echo "  (no HEAD: $T_NO_HEAD)"
	else
		t_head file-10485760.bin || t_fail "HEAD file-10485760.bin"
		t_head file-4095.bin || t_fail "HEAD file-4095.bin"
	fi
	t_parallel 32 || t_fail "32 downloads at once"
	[ $T_FAILS -eq $before ]
}

# ---- FTP (vsftpd): T_URL is ftp://127.0.0.1:PORT/, anonymous login ----

# t_ftp_get NAME [FROM]: RETR the file (from byte FROM on, after REST) in a
# session of its own; one line of report; status 0 if what arrived is the
# file's bytes from FROM on, byte for byte. Sets T_GOT.
t_ftp_get() {
	local name=$1 from=${2:-0} size=${T_SIZE[$1]} res rc code sum want verdict range=() rest=''
	[ "$from" -eq 0 ] || { range=(-r "$from-"); rest="REST $from"; }
	rm -f "$T_WORK/ftp.out"
	res=$("${T_CURL[@]}" "${range[@]}" -o "$T_WORK/ftp.out" -w '%{response_code} %{size_download}' \
		"$T_URL$name" 2>"$T_WORK/ftp.err")
	rc=$?
	code=${res%% *} T_GOT=${res##* }
	T_RECEIVED=$((T_RECEIVED + ${T_GOT:-0})) T_SESSIONS=$((T_SESSIONS + 1))
	[ $((size - from)) -le 0 ] || T_SESSIONS_SENDING=$((T_SESSIONS_SENDING + 1))
	[ -f "$T_WORK/ftp.out" ] || : >"$T_WORK/ftp.out"
	sum=$(sha256sum <"$T_WORK/ftp.out" | cut -d' ' -f1)
	if [ "$from" -eq 0 ]; then
		want=${T_SUM[$name]}
	else
		want=$(tail -c +$((from + 1)) "$T_DOCROOT/$name" | sha256sum | cut -d' ' -f1)
	fi
	if [ $rc -eq 0 ] && [ "$code" = 226 ] && [ "$sum" = "$want" ]; then
		verdict=ok
	else
		verdict="BAD (curl status $rc$( [ -s "$T_WORK/ftp.err" ] && printf ': %s' "$(head -c 100 "$T_WORK/ftp.err")"))"
	fi
	printf '  RETR  %-20s %-13s %10s   %s  %10s received  sha256 %s  %s\n' "$name" "$rest" \
		"$(t_human "$size")" "$code" "$T_GOT" "${sum:0:12}" "$verdict"
	[ "$verdict" = ok ]
}

# t_ftp_session NAME...: one session (one connection, one login) that
# RETRs each NAME in turn; every file checked.
t_ftp_session() {
	local args=() name i=0 bad=0 got=0 n sending=''
	mkdir -p "$T_WORK/sess"
	for name in "$@"; do
		args+=(-o "$T_WORK/sess/$i" "$T_URL$name")
		[ "${T_SIZE[$name]}" -eq 0 ] || sending=1
		i=$((i + 1))
	done
	"${T_CURL[@]}" -w '%{size_download}\n' "${args[@]}" >"$T_WORK/sess/got" 2>/dev/null || bad=1
	while read -r n; do got=$((got + n)); done <"$T_WORK/sess/got"
	T_RECEIVED=$((T_RECEIVED + got)) T_SESSIONS=$((T_SESSIONS + 1))
	[ -z "$sending" ] || T_SESSIONS_SENDING=$((T_SESSIONS_SENDING + 1))
	i=0
	for name in "$@"; do
		[ "$(sha256sum <"$T_WORK/sess/$i" 2>/dev/null | cut -d' ' -f1)" = "${T_SUM[$name]}" ] || bad=1
		i=$((i + 1))
	done
	rm -rf "$T_WORK/sess"
	printf '  RETR  %s in one session: %d bytes received  %s\n' "$*" "$got" \
		"$([ $bad -eq 0 ] && echo ok || echo BAD)"
	[ $bad -eq 0 ]
}

# t_ftp_list: the directory listing (LIST: vsftpd writes it itself, not
# through sendfile) names every file. Not counted in T_RECEIVED.
t_ftp_list() {
	local out name missing=()
	out=$("${T_CURL[@]}" "$T_URL" 2>/dev/null)
	T_SESSIONS=$((T_SESSIONS + 1))
	for name in "${T_FILES[@]}"; do
		grep -q " $name\$" <<<"$out" || missing+=("$name")
	done
	printf '  LIST  /: %d lines, %d bytes (not through sendfile), missing: %s  %s\n' \
		"$(wc -l <<<"$out")" "${#out}" "${missing[*]:-none}" "$([ ${#missing[@]} -eq 0 ] && echo ok || echo BAD)"
	[ ${#missing[@]} -eq 0 ]
}

# t_ftp_parallel N: N sessions at once, each RETRing one file (cycling
# through all but the largest); each checked.
t_ftp_parallel() {
	local n=$1 i name pids=() bad=0 small=$((${#T_FILES[@]} - 1)) rc
	mkdir -p "$T_WORK/par"
	for ((i = 0; i < n; i++)); do
		name=${T_FILES[i % small]}
		"${T_CURL[@]}" -o "$T_WORK/par/$i" -w '%{size_download}' "$T_URL$name" >"$T_WORK/par/$i.got" 2>/dev/null &
		pids+=($!)
	done
	for ((i = 0; i < n; i++)); do
		wait "${pids[i]}"
		rc=$?
		name=${T_FILES[i % small]}
		T_RECEIVED=$((T_RECEIVED + $(cat "$T_WORK/par/$i.got" 2>/dev/null || echo 0)))
		T_SESSIONS=$((T_SESSIONS + 1))
		[ "${T_SIZE[$name]}" -eq 0 ] || T_SESSIONS_SENDING=$((T_SESSIONS_SENDING + 1))
		[ $rc -eq 0 ] || { bad=$((bad + 1)); continue; }
		[ "$(sha256sum <"$T_WORK/par/$i" | cut -d' ' -f1)" = "${T_SUM[$name]}" ] || bad=$((bad + 1))
	done
	rm -rf "$T_WORK/par"
	printf '  RETR x%d sessions at once: %d bad  %s\n' "$n" "$bad" "$([ $bad -eq 0 ] && echo ok || echo BAD)"
	[ $bad -eq 0 ]
}

# The REST offsets asked for: the edges of pages and of the files.
T_RESTS=("file-4095.bin 4094" "file-4096.bin 4095" "file-65537.bin 1"
	"file-65537.bin 65536" "file-10485760.bin 4096")

# t_ftp_check_all: every file by RETR, RETR after REST at page edges (and
# one in the largest), three files in one session, the listing, and 16
# sessions at once.  Counts failures in T_FAILS; status 0 if none.
t_ftp_check_all() {
	local before=$T_FAILS name r big=${T_FILES[${#T_FILES[@]} - 1]}
	for name in "${T_FILES[@]}"; do t_ftp_get "$name" || t_fail "RETR $name"; done
	for r in "${T_RESTS[@]}" "$big 1000001"; do
		# shellcheck disable=SC2086
		t_ftp_get $r || t_fail "REST and RETR $r"
	done
	t_ftp_session file-4095.bin file-65537.bin file-0.bin || t_fail "three files in one session"
	t_ftp_list || t_fail "LIST"
	t_ftp_parallel 16 || t_fail "16 sessions at once"
	[ $T_FAILS -eq $before ]
}

# t_stats_json DIR: the shim's live stats files DIR/stats/*.stats as
# `sfshim stats --json` reads them: one JSON line per process (a slot), and
# one for the shared slot if used. Nothing if there is no file.
t_stats_json() {
	local files=("$1"/stats/*.stats) err rc
	[ -e "${files[0]}" ] || return 0
	err=$("$(t_sfshim)" stats --json "${files[@]}" 2>&1 >"$T_WORK/stats.json")
	rc=$?
	# The file of a process that never called sendfile says so on stderr.
	err=$(grep -v ': no process has called sendfile yet$' <<<"$err")
	if [ $rc -ne 0 ] || [ -n "$err" ]; then t_die "sfshim stats cannot read $1/stats: $err"; fi
	cat "$T_WORK/stats.json"
}

# t_stats DIR: the sums of the shim's counts in DIR/stats (its live stats
# files, read with `sfshim stats --json`) into st_* variables
# (st_processes: processes with a slot, those in the shared slot included;
# st_enosys: those with kernel_enosys true; st_exited, st_ended, st_running,
# st_shared: by state; st_pids_exited, st_pids_ended, st_pids_running:
# their pids), and two lines of report.
t_stats() {
	local out json
	json=$(t_stats_json "$1") || exit 1
	out=$(python3 -c '
import json, sys
keys = ["calls", "bytes", "native_calls", "native_bytes", "emulated_calls", "mmap_calls",
        "mmap_bytes", "rw_calls", "rw_bytes", "fallbacks", "mmap_fallbacks", "errors", "retries"]
states = ["exited", "ended", "running", "shared"]
tot = dict.fromkeys(keys, 0)
by_state = dict.fromkeys(states, 0)
pids = {s: [] for s in states}
procs = enosys = 0
for line in sys.stdin:
    if not line.strip():
        continue
    d = json.loads(line)
    n = int(d.get("processes", 1))
    procs += n
    enosys += n if d.get("kernel_enosys") else 0
    by_state[d["state"]] += n
    if d.get("pid"):
        pids[d["state"]].append(str(d["pid"]))
    for k in keys:
        tot[k] += int(d.get(k, 0))
for k in keys:
    print("st_%s=%d" % (k, tot[k]))
for s in states:
    print("st_%s=%d" % (s, by_state[s]))
    print("st_pids_%s=\"%s\"" % (s, " ".join(pids[s])))
print("st_processes=%d" % procs)
print("st_enosys=%d" % enosys)' <<<"$json") || t_die "cannot sum the stats in $1/stats"
	st_calls=0 st_bytes=0 st_native_calls=0 st_native_bytes=0 st_emulated_calls=0
	st_mmap_calls=0 st_mmap_bytes=0 st_rw_calls=0 st_rw_bytes=0 st_fallbacks=0
	# shellcheck disable=SC2034 # st_retries: for the tests that source this file
	st_mmap_fallbacks=0 st_errors=0 st_retries=0 st_processes=0 st_enosys=0
	st_exited=0 st_ended=0 st_running=0 st_shared=0
	# shellcheck disable=SC2034
	st_pids_exited='' st_pids_ended='' st_pids_running='' st_pids_shared=''
	eval "$out"
	printf '  shim stats (%d processes): %d calls, %d bytes | kernel %d calls, %d bytes | emulated %d calls: mmap-writev %d calls %d bytes, read/write %d calls %d bytes | fallbacks %d, mmap->rw %d, errors %d | kernel ENOSYS seen by %d\n' \
		"$st_processes" "$st_calls" "$st_bytes" "$st_native_calls" "$st_native_bytes" \
		"$st_emulated_calls" "$st_mmap_calls" "$st_mmap_bytes" "$st_rw_calls" "$st_rw_bytes" \
		"$st_fallbacks" "$st_mmap_fallbacks" "$st_errors" "$st_enosys"
	printf '  their states: %d exited, %d ended (without exit), %d running, %d in the shared slot\n' \
		"$st_exited" "$st_ended" "$st_running" "$st_shared"
}

# t_stats_settled DIR: wait up to 30 s until no process that counted in
# DIR/stats is running (the last of a server's processes may end just after
# it). Prints "timed out" and the ones left, and returns 1, otherwise.
t_stats_settled() {
	local i
	for ((i = 0; i < 300; i++)); do
		t_stats_json "$1" | grep -q '"state":"running"' || return 0
		sleep 0.1
	done
	echo "  timed out: processes that counted in $1/stats still running after 30 s:"
	t_stats_json "$1" | grep '"state":"running"' | sed 's/^/    /'
	return 1
}

# t_expect_received_counted: after t_stats, the differential: the bytes the
# shim counted are the bytes the clients received (bodies), exactly.
t_expect_received_counted() {
	t_expect "the shim counted exactly the bytes the clients received (bytes $st_bytes == received $T_RECEIVED)" \
		[ "$st_bytes" -eq "$T_RECEIVED" ]
}

# t_expect DESCRIPTION TEST...: an assertion, reported either way.
t_expect() {
	local what=$1
	shift
	if "$@"; then echo "  ok: $what"; else t_fail "$what"; fi
}

# t_expect_emulated BIG: after t_stats, with the shim in a kernel that refuses
# sendfile: every call was emulated, none reached the kernel, the bodies of the
# files up to BIG bytes went through sendfile, and the error log is clean.
t_expect_emulated() {
	local big=$1
	t_expect "the shim emulated the calls (emulated_calls $st_emulated_calls > 0)" \
		[ "$st_emulated_calls" -gt 0 ]
	t_expect "it saw the kernel refuse sendfile (kernel_enosys true in $st_enosys of $st_processes)" \
		[ "$st_enosys" -gt 0 ]
	t_expect "no call got through to the kernel (native_calls $st_native_calls == 0)" \
		[ "$st_native_calls" -eq 0 ]
	t_expect "the bodies went through sendfile (bytes $st_bytes >= $((big + 10485760)))" \
		[ "$st_bytes" -ge $((big + 10485760)) ]
	t_expect "no sendfile error in the server's error log" t_log_clean
}

# t_expect_broken_without_shim BIG: the server was started without the shim
# in a kernel that refuses sendfile: fetch every file, stop it, and expect
# the files above 64 KiB (up to BIG bytes) not to arrive whole.
t_expect_broken_without_shim() {
	local big=$1 name bad=()
	for name in "${T_FILES[@]}"; do
		t_get "$name" || bad+=("$name")
	done
	t_stop
	echo "  failed or truncated: ${bad[*]:-none}"
	for name in file-65537.bin file-10485760.bin "file-$big.bin"; do
		t_expect "$name does not arrive whole without the shim" t_in "$name" "${bad[@]}"
	done
}

# t_expect_layer_emulated BIG: after t_stats, with the shim in FreeBSD's
# linuxulator or illumos LX's profile, whose sendfile works but drops the
# count of what it moved before EAGAIN or EINTR: every call was emulated (the
# shim learned the layer from uname, or count 0: not from ENOSYS), none
# reached the layer's sendfile, the bodies went through sendfile, the error
# log is clean.
t_expect_layer_emulated() {
	local big=$1
	t_expect "the shim emulated the calls (emulated_calls $st_emulated_calls > 0)" \
		[ "$st_emulated_calls" -gt 0 ]
	t_expect "no call got through to the layer's sendfile (native_calls $st_native_calls == 0)" \
		[ "$st_native_calls" -eq 0 ]
	t_expect "the layer's sendfile was not taken for a missing one (kernel_enosys false everywhere)" \
		[ "$st_enosys" -eq 0 ]
	t_expect "the bodies went through sendfile (bytes $st_bytes >= $((big + 10485760)))" \
		[ "$st_bytes" -ge $((big + 10485760)) ]
	t_expect "no sendfile error in the server's error log" t_log_clean
}

# t_layer_profile_answers PROFILE: a process under sfshim-nosendfile
# --profile PROFILE sees that layer, with /proc there (linprocfs, lx_proc),
# uname's version naming it, and process_vm_readv refused with ENOSYS. Its
# sendfile of count 0 from a regular file fails with EINVAL where Linux
# returns 0: FreeBSD's into a socket ("Linux cannot have 0 count"), and
# splice with EINVAL too; illumos LX's into a pipe (its sendfilev takes
# sockets and regular files only).
t_layer_profile_answers() {
	"$SFSHIM_NOSENDFILE" --profile "$1" -- python3 - "$1" <<'EOF_PY'
import ctypes, errno, os, platform, socket, sys, tempfile
freebsd = sys.argv[1] == "freebsd"
want = "FreeBSD" if freebsd else "BrandZ"
if want not in os.uname().version:
    sys.exit("uname does not say " + want)
if not os.listdir("/proc/self/fd"):
    sys.exit("no /proc")
if platform.machine() != "x86_64":
    sys.exit(0)
libc = ctypes.CDLL(None, use_errno=True)
with tempfile.TemporaryFile() as f:
    f.write(b"x" * 100)
    f.flush()
    a, b = socket.socketpair() if freebsd else os.pipe()
    out = a.fileno() if freebsd else b
    if libc.syscall(40, out, f.fileno(), None, 0) != -1 or ctypes.get_errno() != errno.EINVAL:
        sys.exit("sendfile with count 0 is not refused with EINVAL")
refused = (("splice", 275, errno.EINVAL),) if freebsd else ()
for name, nr, err in refused + (("process_vm_readv", 310, errno.ENOSYS),):
    if libc.syscall(nr, -1, 0, -1, 0, 0, 0) != -1 or ctypes.get_errno() != err:
        sys.exit(name + " is not refused with " + errno.errorcode[err])
EOF_PY
}

# t_raw_get NAME [RCVBUF]: GET over a raw connection (Connection: close), what the
# server sends read until it closes, the body compared with the file. A
# body that has grown 64 KiB past the file's size is not read further: a
# server whose calls each resend from the same offset may not stop at all.
# Prints "STATUS CONTENT-LENGTH BODY-BYTES VERDICT", the verdict one of
# same, longer-repeats-I-J (longer than the file, and from body offset I on
# the file's bytes from offset J < I again: sent twice), longer, shorter,
# differs, timed-out (neither within 120 s). RCVBUF: the client's receive
# buffer (SO_RCVBUF, set before it connects), for a narrow TCP window.
t_raw_get() {
	python3 - "$T_URL" "$T_DOCROOT/$1" "$1" "${2:-0}" <<'EOF'
import socket, sys, time, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
with open(sys.argv[2], "rb") as f:
    want = f.read()
rcvbuf = int(sys.argv[4])
s = socket.socket()
if rcvbuf:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
s.settimeout(60)
s.connect((u.hostname, u.port))
s.sendall(b"GET /%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (sys.argv[3].encode(), u.netloc.encode()))
data, deadline = bytearray(), time.monotonic() + 120
try:
    while True:
        if time.monotonic() > deadline:
            raise socket.timeout()
        c = s.recv(rcvbuf or 1 << 20)
        if not c:
            break
        data += c
        at = data.find(b"\r\n\r\n")
        if at >= 0 and len(data) - at - 4 > len(want) + 65536:
            break
except socket.timeout:
    print("timed-out none -1 timed-out")
    sys.exit(0)
s.close()
head, sep, body = bytes(data).partition(b"\r\n\r\n")
lines = head.decode("latin-1").split("\r\n")
status = lines[0].split()[1] if lines and len(lines[0].split()) > 1 else "?"
length = "none"
for line in lines[1:]:
    k, _, v = line.partition(":")
    if k.strip().lower() == "content-length":
        length = v.strip()
if body == want:
    verdict = "same"
elif len(body) > len(want):
    i = 0
    while i < len(want) and body[i:i + 65536] == want[i:i + 65536]:
        i += 65536
    while i < len(want) and body[i] == want[i]:
        i += 1
    j = want.find(body[i:i + 4096]) if i < len(body) else -1
    verdict = "longer-repeats-%d-%d" % (i, j) if 0 <= j < i else "longer"
else:
    verdict = "shorter" if want.startswith(body) else "differs"
print(status, length, len(body), verdict)
EOF
}

# t_big_once: the largest file over a raw connection arrives once, whole:
# as many bytes as the file has, and nothing after them.
t_big_once() {
	local name=${T_FILES[${#T_FILES[@]} - 1]} res
	res=$(t_raw_get "$name")
	echo "  RAW   $name: status, Content-Length, body bytes, verdict: $res"
	[ "$res" = "200 ${T_SIZE[$name]} ${T_SIZE[$name]} same" ]
}

# t_big_duplicated: the negative control in a layer that drops partial
# counts: the largest file arrives longer than it is, some of its bytes sent
# again after they had gone out (the server retried from an offset the
# failed call left unmoved). The server asks for more than its socket can
# hold (nginx: the whole file, Apache: up to 16 MiB a call) on a
# non-blocking socket, so a call meets a full socket unless the client keeps
# up with it; a client with an 8 KiB window cannot.
t_big_duplicated() {
	local name=${T_FILES[${#T_FILES[@]} - 1]} res
	res=$(t_raw_get "$name" 8192)
	echo "  RAW   $name: status, Content-Length, body bytes, verdict: $res"
	case $res in "200 ${T_SIZE[$name]} "*" longer-repeats-"*) return 0 ;; esac
	return 1
}

# t_server_filtered: the server's main process runs under a seccomp filter
# (Seccomp: 2 in its status).
t_server_filtered() {
	local pid
	pid=$(cat "$T_DIR/server.pid" 2>/dev/null) && [ -n "$pid" ] &&
		grep -q '^Seccomp:[[:space:]]*2$' "/proc/$pid/status"
}

# t_log_clean: the server's error log (and console) mention no sendfile error.
t_log_clean() {
	! grep -Eis 'sendfile|Function not implemented|\(38\)|Errno 38|Traceback' \
		"$T_DIR/logs/error.log" "$T_DIR/console.log"
}

# t_in NAME LIST...: NAME is one of LIST.
t_in() {
	local x=$1 e
	shift
	for e in "$@"; do [ "$e" = "$x" ] && return 0; done
	return 1
}

# t_log_shows_sendfile_error: the opposite of t_log_clean, quietly.
t_log_shows_sendfile_error() { ! t_log_clean >/dev/null; }

# t_no_stats: no shim ran, so no stats file was made.
t_no_stats() { ! compgen -G "$T_DIR/stats/*.stats" >/dev/null; }

t_finish() {
	if [ $T_FAILS -eq 0 ]; then
		echo "PASS"
		exit 0
	fi
	echo "FAILED: $T_FAILS check(s)"
	if [ -n "${T_DIR:-}" ]; then
		local f
		for f in "$T_DIR"/logs/error.log "$T_DIR/console.log"; do
			[ -s "$f" ] && { echo "--- $f (last 20 lines)"; tail -n 20 "$f"; }
		done
	fi
	exit 1
}
