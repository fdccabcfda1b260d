#!/usr/bin/env bash
# Unmodified Apache (mpm_event, a private configuration on 127.0.0.1) under
# wrk, serving files of 4 KiB, 64 KiB, 1 MiB and 100 MiB in these configurations:
#
#   kernel       EnableSendfile On, the normal kernel, no shim
#   shim         EnableSendfile On, the shim in a kernel whose sendfile syscall
#                fails with ENOSYS (sfshim --no-kernel-sendfile -- apache2 ...)
#   off          EnableSendfile Off (EnableMMAP left at Apache's default, On:
#                Apache then writes file bodies from its own mmap)
#   off-nommap   EnableSendfile Off and EnableMMAP Off: read/write through
#                Apache's 8 KB buckets
#
# For each: requests/s and MB/s (response bodies, 10^6 bytes) per file size,
# and Apache's memory: the sum over its processes of VmHWM at the end, and
# the largest sum of VmRSS sampled during the run. Before every wrk run each
# file is fetched with curl and compared with the original; wrk must report
# no errors and no non-2xx answers; in `shim` the shim's own counters must
# show emulated calls. Anything else fails loudly.
#
#   tests/bench/apache_wrk.sh [--markdown FILE]
#
# Environment: WRK_THREADS (2), WRK_CONNECTIONS (16), WRK_DURATION (10s),
# CONFIGS ("kernel shim off off-nommap"), SIZES ("4K 64K 1M 100M"),
# SFSHIM_BIN_DIR (directory of sfshim and sfshim-nosendfile; default: the
# first of build/bin, build-bench/bin of this repository), APACHE2 (apache2).
# Needs apache2, wrk, curl (toolchain/setup.sh servers) and python3.
# SPDX-License-Identifier: BSD-2-Clause
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-16}
WRK_DURATION=${WRK_DURATION:-10s}
CONFIGS=${CONFIGS:-kernel shim off off-nommap}
SIZES=${SIZES:-4K 64K 1M 100M}
APACHE2=${APACHE2:-$(command -v apache2 || echo /usr/sbin/apache2)}
MODULES=/usr/lib/apache2/modules
MARKDOWN=''

die() { echo "apache_wrk.sh: FAIL: $*" >&2; exit 1; }
say() { echo "apache_wrk.sh: $*" >&2; }

while [ $# -gt 0 ]; do
	case $1 in
	--markdown) MARKDOWN=${2:?--markdown needs a file}; shift ;;
	-h | --help) sed -n '2,/^# SPDX/p' "$0" | sed 's/^# \{0,1\}//; /^SPDX/d'; exit 0 ;;
	*) echo "apache_wrk.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done

for tool in wrk curl python3 cmp; do
	command -v "$tool" >/dev/null || die "$tool not found (toolchain/setup.sh servers)"
done
[ -x "$APACHE2" ] || die "apache2 not found (toolchain/setup.sh servers)"
if [ -z "${SFSHIM_BIN_DIR:-}" ]; then
	for d in "$ROOT/build/bin" "$ROOT/build-bench/bin"; do
		[ -x "$d/sfshim" ] && [ -x "$d/sfshim-nosendfile" ] && { SFSHIM_BIN_DIR=$d; break; }
	done
fi
case " $CONFIGS " in
*" shim "*)
	[ -n "${SFSHIM_BIN_DIR:-}" ] && [ -x "$SFSHIM_BIN_DIR/sfshim" ] ||
		die "sfshim not found: build the project or set SFSHIM_BIN_DIR" ;;
esac

WORK=$(mktemp -d /tmp/sfshim-apache-wrk.XXXXXX)
chmod 755 "$WORK"
APACHE_PID='' SAMPLER_PID=''
stop_apache() {
	if [ -n "$SAMPLER_PID" ]; then
		kill "$SAMPLER_PID" 2>/dev/null || true
		wait "$SAMPLER_PID" 2>/dev/null || true
		SAMPLER_PID=''
	fi
	[ -n "$APACHE_PID" ] || return 0
	local main
	main=$(cat "$WORK/state/apache2.pid" 2>/dev/null || echo "$APACHE_PID")
	kill -TERM "$main" 2>/dev/null || true
	local i
	for ((i = 0; i < 300; i++)); do
		kill -0 "$APACHE_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$APACHE_PID" "$main" 2>/dev/null || true
	wait "$APACHE_PID" 2>/dev/null || true
	# Children that outlived their parent.
	pkill -KILL -P "$main" 2>/dev/null || true
	APACHE_PID=''
}
trap 'stop_apache; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# ---- the files: pseudo-random, readable by www-data
DOCROOT=$WORK/docroot
mkdir -p "$DOCROOT"
bytes_of() {
	case $1 in
	*K) echo $((${1%K} * 1024)) ;;
	*M) echo $((${1%M} * 1024 * 1024)) ;;
	*G) echo $((${1%G} * 1024 * 1024 * 1024)) ;;
	*) echo "$1" ;;
	esac
}
for s in $SIZES; do
	head -c "$(bytes_of "$s")" /dev/urandom >"$DOCROOT/f$s.bin"
	cat "$DOCROOT/f$s.bin" >/dev/null # page cache warm
done
chmod -R a+rX "$DOCROOT"

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- one private Apache: nothing from /etc/apache2, 127.0.0.1 only
write_conf() { # CONF PORT SENDFILE MMAP
	local user=''
	[ "$(id -u)" -ne 0 ] || user=$'User www-data\nGroup www-data'
	cat >"$1" <<EOF
ServerRoot "$WORK/state"
ServerName 127.0.0.1
Listen 127.0.0.1:$2
PidFile "$WORK/state/apache2.pid"
Mutex file:$WORK/state default
ErrorLog "$WORK/state/error.log"
LogLevel warn
$user

LoadModule mpm_event_module $MODULES/mod_mpm_event.so
LoadModule authz_core_module $MODULES/mod_authz_core.so
LoadModule mime_module $MODULES/mod_mime.so

EnableSendfile $3
EnableMMAP $4

# As examples/apache: one or two processes of 64 threads.
StartServers 1
ServerLimit 2
ThreadsPerChild 64
ThreadLimit 64
MaxRequestWorkers 128
MinSpareThreads 8
MaxSpareThreads 128
KeepAlive On
MaxKeepAliveRequests 0

TypesConfig /etc/mime.types
DocumentRoot "$DOCROOT"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "$DOCROOT">
    Options None
    AllowOverride None
    Require all granted
</Directory>
EOF
}

# Apache's processes: the parent (from its pid file) and its children.
apache_pids() {
	local main
	main=$(cat "$WORK/state/apache2.pid" 2>/dev/null) || return 0
	echo "$main"
	pgrep -P "$main" || true
}

# Sum of a /proc/PID/status field (kB) over Apache's processes.
sum_status() {
	local field=$1 total=0 pid v
	for pid in $(apache_pids); do
		v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

start_apache() { # CONFIG
	local cfg=$1 sendfile=On mmap=On wrap=()
	case $cfg in
	kernel) ;;
	shim)
		wrap=("$SFSHIM_BIN_DIR/sfshim" --quiet --stats="$WORK/stats/sfshim.%p.json" --no-kernel-sendfile --) ;;
	off) sendfile=Off ;;
	off-nommap) sendfile=Off mmap=Off ;;
	*) die "unknown configuration '$cfg' (known: kernel shim off off-nommap)" ;;
	esac
	rm -rf "$WORK/state" "$WORK/stats"
	mkdir -p "$WORK/state" "$WORK/stats"
	chmod 777 "$WORK/stats" # the children write their counters as www-data
	PORT=$(free_port)
	write_conf "$WORK/state/apache2.conf" "$PORT" "$sendfile" "$mmap"
	"${wrap[@]}" "$APACHE2" -f "$WORK/state/apache2.conf" -DFOREGROUND 2>"$WORK/state/stderr" &
	APACHE_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		curl -s -o /dev/null "http://127.0.0.1:$PORT/" && [ -s "$WORK/state/apache2.pid" ] && break
		kill -0 "$APACHE_PID" 2>/dev/null || die "$cfg: apache2 exited: $(cat "$WORK/state/stderr" "$WORK/state/error.log" 2>/dev/null)"
		sleep 0.1
	done
	[ "$i" -lt 100 ] || die "$cfg: apache2 does not answer on port $PORT"
	# The largest total RSS, sampled while the run lasts.
	(
		max=0
		while :; do
			now=$(sum_status VmRSS)
			[ "$now" -le "$max" ] || { max=$now; echo "$max" >"$WORK/rss.max"; }
			sleep 0.2
		done
	) &
	SAMPLER_PID=$!
	echo 0 >"$WORK/rss.max"
}

# wrk's "Requests/sec" and error lines; fails on any error.
run_wrk() { # CONFIG SIZE
	local url="http://127.0.0.1:$PORT/f$2.bin" out
	# Every byte right, once, before the load.
	curl -sf -o "$WORK/fetched" "$url" || die "$1, $2: curl failed"
	cmp -s "$WORK/fetched" "$DOCROOT/f$2.bin" || die "$1, $2: the body differs from the file"
	out=$(wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" --timeout 30s "$url" 2>&1) ||
		die "$1, $2: wrk failed: $out"
	echo "$out" >"$WORK/wrk-$1-$2.txt"
	if grep -q 'Non-2xx or 3xx responses' <<<"$out"; then die "$1, $2: non-2xx answers: $out"; fi
	if grep -q 'Socket errors' <<<"$out"; then die "$1, $2: socket errors: $out"; fi
	awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

declare -A RPS MBPS HWM RSSMAX
for cfg in $CONFIGS; do
	say "$cfg: starting Apache"
	start_apache "$cfg"
	for s in $SIZES; do
		rps=$(run_wrk "$cfg" "$s")
		[ -n "$rps" ] || die "$cfg, $s: no Requests/sec in wrk's output"
		RPS[$cfg,$s]=$rps
		MBPS[$cfg,$s]=$(python3 -c "print(f'{$rps * $(bytes_of "$s") / 1e6:.1f}')")
		say "$cfg, $s: $rps requests/s, ${MBPS[$cfg,$s]} MB/s"
	done
	HWM[$cfg]=$(sum_status VmHWM)
	RSSMAX[$cfg]=$(cat "$WORK/rss.max")
	stop_apache
	if [ "$cfg" = shim ]; then
		# The counters the children wrote at exit: the shim did the work.
		emulated=$(cat "$WORK"/stats/*.json 2>/dev/null |
			python3 -c 'import json, sys
print(sum(json.loads(l).get("emulated_calls", 0) for l in sys.stdin if l.strip()))')
		[ "${emulated:-0}" -gt 0 ] || die "shim: no emulated calls in the shim's counters"
		say "shim: $emulated emulated calls"
	fi
done

# ---- the report
{
	echo "# Apache under wrk"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(uname -srm); $(nproc) cores;" \
		"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo);" \
		"load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
	echo "$("$APACHE2" -v | head -1 | sed 's/^Server version: //'), mpm_event (1-2 processes × 64 threads)," \
		"127.0.0.1; \`wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$WRK_DURATION\` per cell, keep-alive;" \
		"wrk and Apache share the machine's cores."
	echo
	echo "- kernel: EnableSendfile On, the kernel's sendfile, no shim"
	echo "- shim: EnableSendfile On, \`sfshim --no-kernel-sendfile -- apache2\` (sendfile fails with ENOSYS; the shim emulates)"
	echo "- off: EnableSendfile Off (EnableMMAP On, Apache's default: bodies written from Apache's own mmap)"
	echo "- off-nommap: EnableSendfile Off, EnableMMAP Off (read/write through 8 KB buffers)"
	echo
	printf '| file |'
	for cfg in $CONFIGS; do printf ' %s req/s | %s MB/s |' "$cfg" "$cfg"; done
	printf '\n|---|'
	for cfg in $CONFIGS; do printf -- '---:|---:|'; done
	printf '\n'
	for s in $SIZES; do
		label=${s/K/ KiB}; label=${label/M/ MiB}; label=${label/G/ GiB}
		printf '| %s |' "$label"
		for cfg in $CONFIGS; do
			rps=${RPS[$cfg,$s]}
			if [ "${rps%%.*}" -ge 100 ]; then printf ' %.0f |' "$rps"; else printf ' %.1f |' "$rps"; fi
			printf ' %s |' "${MBPS[$cfg,$s]}"
		done
		printf '\n'
	done
	echo
	echo "Apache's memory over the whole run of a configuration (all sizes), summed over its processes"
	echo "(shared pages count once per process):"
	echo
	echo "| configuration | peak RSS sampled (MiB) | sum of VmHWM at the end (MiB) |"
	echo "|---|---:|---:|"
	for cfg in $CONFIGS; do
		awk -v c="$cfg" -v r="${RSSMAX[$cfg]}" -v h="${HWM[$cfg]}" 'BEGIN { printf "| %s | %.1f | %.1f |\n", c, r / 1024, h / 1024 }'
	done
	echo
	echo "Requests/s is wrk's; MB/s is requests/s × the file size. Every file was fetched once with curl and"
	echo "compared with the original before each run; wrk reported no errors and no non-2xx answers."
} >"$WORK/report.md"
cat "$WORK/report.md"
[ -z "$MARKDOWN" ] || cp "$WORK/report.md" "$MARKDOWN"
