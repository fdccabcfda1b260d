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
# Rounds: each round starts every configuration once, one after the other (the
# order rotates from round to round), and each such run serves every size in
# turn under wrk. Reported per configuration: requests/s and MB/s (response
# bodies, 10^6 bytes) per file size as the median over the rounds, with
# min-max and the ratios of the shim to the kernel and to EnableSendfile Off;
# Apache's memory, summed over its processes: RssAnon (anonymous memory) after
# each size and at the end of each run, VmHWM at the end of each run, and the
# largest VmRSS sampled during it; for the shim, from the report each of its
# processes writes at exit (SFSHIM_STATS), the emulated calls and the mapping
# cache: hits, misses, evictions, the bytes mapped at exit, the peak, and the
# cap (n/a when the library reports no cache). Before every wrk run the file
# is fetched with curl and compared with the original; wrk must report no
# errors and no non-2xx answers; in `shim` the shim's own counters must show
# emulated calls. Anything else fails loudly. Apache listens on 127.0.0.1 on a
# free port and is stopped whatever happens.
#
#   tests/bench/apache_wrk.sh [--rounds N] [--duration D] [--markdown FILE] [--tsv FILE]
#
# --rounds N (ROUNDS, default 5), --duration D (DURATION, default 5s: wrk's
# -d per cell): the defaults take about 8 minutes on 2 cores. --markdown FILE
# writes the report there too (it is always printed); --tsv FILE the raw
# figures of every run (default: beside FILE.md as FILE.tsv).
#
# Environment: ROUNDS, DURATION (WRK_DURATION is taken when DURATION is not
# set), WRK_THREADS (2), WRK_CONNECTIONS (16), CONFIGS ("kernel shim off
# off-nommap"), SIZES ("4K 64K 1M 100M"), SFSHIM_BIN_DIR (directory of sfshim
# and sfshim-nosendfile; default: the first of build/bin, build-bench/bin of
# this repository), SFSHIM_TUNE (passed to the shim), APACHE2 (apache2).
# Needs apache2, wrk, curl (toolchain/setup.sh servers) and python3.
# SPDX-License-Identifier: BSD-2-Clause
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-${WRK_DURATION:-5s}}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-16}
CONFIGS=${CONFIGS:-kernel shim off off-nommap}
SIZES=${SIZES:-4K 64K 1M 100M}
APACHE2=${APACHE2:-$(command -v apache2 || echo /usr/sbin/apache2)}
MODULES=/usr/lib/apache2/modules
MARKDOWN='' TSV=''

die() { echo "apache_wrk.sh: FAIL: $*" >&2; exit 1; }
say() { echo "apache_wrk.sh: $*" >&2; }
usage_error() { echo "apache_wrk.sh: $* (try --help)" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--markdown) MARKDOWN=${2:?--markdown needs a file}; shift ;;
	--tsv) TSV=${2:?--tsv needs a file}; shift ;;
	--rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
	--duration) DURATION=${2:?--duration needs a duration}; shift ;;
	-h | --help) sed -n '2,/^# SPDX/p' "$0" | sed 's/^# \{0,1\}//; /^SPDX/d'; exit 0 ;;
	*) usage_error "unknown option '$1'" ;;
	esac
	shift
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || usage_error "bad round count '$ROUNDS'"
[[ $DURATION =~ ^[1-9][0-9]*[smh]?$ ]] || usage_error "bad duration '$DURATION' (wrk's: 5s, 2m)"
[ -n "$TSV" ] || [ -z "$MARKDOWN" ] || TSV=${MARKDOWN%.md}.tsv
read -r -a CFGS <<<"$CONFIGS"
[ "${#CFGS[@]}" -gt 0 ] || usage_error "no configuration in CONFIGS"
for cfg in "${CFGS[@]}"; do
	case $cfg in kernel | shim | off | off-nommap) ;; *) usage_error "unknown configuration '$cfg' (known: kernel shim off off-nommap)" ;; esac
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
DATA=$WORK/data.tsv # kind, configuration, round, size (or -), value
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
seconds_of() {
	case $1 in
	*h) echo $((${1%h} * 3600)) ;;
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
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
		wrap=("$SFSHIM_BIN_DIR/sfshim" --quiet --stats="$WORK/stats/sfshim.stats" --no-kernel-sendfile --) ;;
	off) sendfile=Off ;;
	off-nommap) sendfile=Off mmap=Off ;;
	esac
	rm -rf "$WORK/state" "$WORK/stats"
	mkdir -p "$WORK/state" "$WORK/stats"
	# (The parent makes the stats file as root; the children, www-data,
	# count in it through the mapping they inherit.)
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
	echo 0 >"$WORK/rss.max"
	(
		max=0
		while :; do
			now=$(sum_status VmRSS)
			[ "$now" -le "$max" ] || { max=$now; echo "$max" >"$WORK/rss.max"; }
			sleep 0.2
		done
	) &
	SAMPLER_PID=$!
}

# wrk's "Requests/sec" and error lines; fails on any error.
run_wrk() { # CONFIG SIZE ROUND
	local url="http://127.0.0.1:$PORT/f$2.bin" out
	# Every byte right, once, before the load.
	curl -sf -o "$WORK/fetched" "$url" || die "$1, $2: curl failed"
	cmp -s "$WORK/fetched" "$DOCROOT/f$2.bin" || die "$1, $2: the body differs from the file"
	rm -f "$WORK/fetched"
	out=$(wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$DURATION" --timeout 30s "$url" 2>&1) ||
		die "$1, $2: wrk failed: $out"
	echo "$out" >"$WORK/wrk-$1-$2-$3.txt"
	if grep -q 'Non-2xx or 3xx responses' <<<"$out"; then die "$1, $2: non-2xx answers: $out"; fi
	if grep -q 'Socket errors' <<<"$out"; then die "$1, $2: socket errors: $out"; fi
	awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

# The shim's counters of one run (its live stats file, one JSON line per
# process that sent a file, from `sfshim stats --json`), summed into one
# JSON object; the cache's figures are null when the lines have no such keys
# (the mapping figures are those of the processes that exited).
shim_summary() {
	"$SFSHIM_BIN_DIR/sfshim" stats --json "$WORK"/stats/*.stats 2>/dev/null | python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.strip()]
keys = ("cache_hits", "cache_misses", "cache_evictions", "cache_mapped_bytes",
        "cache_peak_mapped_bytes", "cache_cap_bytes")
out = {"processes": len(lines), "emulated_calls": sum(l.get("emulated_calls", 0) for l in lines)}
have = bool(lines) and all(all(k in l for k in keys) for l in lines)
for k in ("cache_hits", "cache_misses", "cache_evictions", "cache_mapped_bytes"):
    out[k] = sum(l[k] for l in lines) if have else None
out["cache_peak_mapped_bytes"] = max(l["cache_peak_mapped_bytes"] for l in lines) if have else None
out["cache_peak_mapped_bytes_sum"] = sum(l["cache_peak_mapped_bytes"] for l in lines) if have else None
out["cache_cap_bytes"] = max(l["cache_cap_bytes"] for l in lines) if have else None
out["cache_within_cap"] = all(l["cache_peak_mapped_bytes"] <= l["cache_cap_bytes"] for l in lines) if have else None
print(json.dumps(out, separators=(",", ":")))'
}

# ---- the runs
read -r -a SIZE_LIST <<<"$SIZES"
per_run=$((${#SIZE_LIST[@]} * $(seconds_of "$DURATION") + ${#SIZE_LIST[@]} / 2 + 2)) # curl, cmp, start, stop
say "$ROUNDS rounds × ${#CFGS[@]} configurations × ${#SIZE_LIST[@]} sizes, wrk -d$DURATION:" \
	"about $(((ROUNDS * ${#CFGS[@]} * per_run + 59) / 60)) min"
: >"$DATA"
start=$SECONDS
for ((round = 1; round <= ROUNDS; round++)); do
	for ((k = 0; k < ${#CFGS[@]}; k++)); do
		cfg=${CFGS[$(((k + round - 1) % ${#CFGS[@]}))]} # the order rotates
		start_apache "$cfg"
		for s in "${SIZE_LIST[@]}"; do
			rps=$(run_wrk "$cfg" "$s" "$round")
			[ -n "$rps" ] || die "$cfg, $s: no Requests/sec in wrk's output"
			anon=$(sum_status RssAnon)
			printf 'rps\t%s\t%s\t%s\t%s\n' "$cfg" "$round" "$s" "$rps" >>"$DATA"
			printf 'anon_kb\t%s\t%s\t%s\t%s\n' "$cfg" "$round" "$s" "$anon" >>"$DATA"
			say "round $round, $cfg, $s: $rps requests/s, RssAnon $anon kB"
		done
		# The end of the run: Apache still up, every size served.
		printf 'end_anon_kb\t%s\t%s\t-\t%s\n' "$cfg" "$round" "$(sum_status RssAnon)" >>"$DATA"
		printf 'hwm_kb\t%s\t%s\t-\t%s\n' "$cfg" "$round" "$(sum_status VmHWM)" >>"$DATA"
		printf 'rss_max_kb\t%s\t%s\t-\t%s\n' "$cfg" "$round" "$(cat "$WORK/rss.max")" >>"$DATA"
		stop_apache
		if [ "$cfg" = shim ]; then
			# The counters the children wrote at exit: the shim did the work.
			summary=$(shim_summary)
			emulated=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["emulated_calls"])' "$summary")
			[ "${emulated:-0}" -gt 0 ] || die "shim: no emulated calls in the shim's counters"
			printf 'shim\t%s\t%s\t-\t%s\n' "$cfg" "$round" "$summary" >>"$DATA"
			say "round $round, shim: $summary"
		fi
	done
done
elapsed=$((SECONDS - start))

# ---- the report
python3 - "$DATA" "$WORK/report.md" "$CONFIGS" "$SIZES" "$ROUNDS" "$elapsed" \
	"$(date -u '+%Y-%m-%d %H:%M UTC'); $(uname -srm); $(nproc) cores; $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo); load average $(cut -d' ' -f1-3 /proc/loadavg) at the end." \
	"$("$APACHE2" -v | head -1 | sed 's/^Server version: //'), mpm_event (1-2 processes × 64 threads), 127.0.0.1; \`wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$DURATION\` per cell, keep-alive; wrk and Apache share the machine's cores." \
	"${SFSHIM_TUNE:-}" <<'PY'
import json, statistics, sys

data, out, configs, sizes, rounds, elapsed, machine, server, tune = sys.argv[1:]
configs, sizes = configs.split(), sizes.split()
rows = [l.rstrip("\n").split("\t") for l in open(data) if l.strip()]

def values(kind, cfg, size="-"):
    return [r[4] for r in rows if r[0] == kind and r[1] == cfg and r[3] == size]

def nums(kind, cfg, size="-"):
    return [float(v) for v in values(kind, cfg, size)]

def med(v):
    return statistics.median(v) if v else None

def bytes_of(s):
    mul = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(s[:-1]) * mul[s[-1]] if s[-1] in mul else int(s)

def label(s):
    return s.replace("K", " KiB").replace("M", " MiB").replace("G", " GiB")

def rate(v):
    return "–" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.1f}")

def ratio(a, b):
    return "–" if a is None or not b else f"{a / b:.2f}×"

def mib(kb):
    return "–" if kb is None else f"{kb / 1024:.1f}"

def human(b):
    if b is None:
        return "n/a"
    v, units = float(b), ["B", "KiB", "MiB", "GiB", "TiB"]
    u = 0
    while v >= 1024 and u < 4:
        v, u = v / 1024, u + 1
    return f"{int(b)} B" if u == 0 else f"{v:.1f} {units[u]}"

L = []
p = L.append
p("# Apache under wrk\n")
p(machine)
p(server)
p(f"{rounds} rounds in {elapsed} s; in each round every configuration runs once (a fresh Apache serving every size"
  " in turn), the order rotating from round to round. Figures are medians over the rounds, with min–max.")
if tune:
    p(f"SFSHIM_TUNE={tune} for the shim.")
p("")
p("- kernel: EnableSendfile On, the kernel's sendfile, no shim")
p("- shim: EnableSendfile On, `sfshim --no-kernel-sendfile -- apache2` (sendfile fails with ENOSYS; the shim emulates)")
p("- off: EnableSendfile Off (EnableMMAP On, Apache's default: bodies written from Apache's own mmap)")
p("- off-nommap: EnableSendfile Off, EnableMMAP Off (read/write through 8 KB buffers)")
p("")
p("## Requests/s\n")
ratios = [(a, b) for a, b in (("shim", "kernel"), ("shim", "off")) if a in configs and b in configs]
head = "| file |" + "".join(f" {c} req/s (min–max) |" for c in configs) + "".join(f" {a} ÷ {b} |" for a, b in ratios)
p(head)
p("|---|" + "---:|" * (len(configs) + len(ratios)))
for s in sizes:
    line = f"| {label(s)} |"
    for c in configs:
        v = nums("rps", c, s)
        line += f" {rate(med(v))} ({rate(min(v))}–{rate(max(v))}) |" if v else " – |"
    for a, b in ratios:
        line += f" {ratio(med(nums('rps', a, s)), med(nums('rps', b, s)))} |"
    p(line)
p("")
p("MB/s (response bodies, 10^6 bytes; the median requests/s × the file size):\n")
p("| file |" + "".join(f" {c} |" for c in configs))
p("|---|" + "---:|" * len(configs))
for s in sizes:
    line = f"| {label(s)} |"
    for c in configs:
        m = med(nums("rps", c, s))
        line += " – |" if m is None else f" {m * bytes_of(s) / 1e6:.1f} |"
    p(line)
p("")
p("## Apache's memory\n")
p("Summed over Apache's processes (the parent and its children; shared pages count once per process), MiB:"
  " RssAnon (anonymous memory: heap, thread stacks, buffers; not the file pages of a mapping) at the end of each"
  " run, VmHWM (each process's peak resident set) at the end of each run, and the largest VmRSS sum sampled"
  " every 0.2 s during a run.\n")
p("| configuration | RssAnon at the end (min–max) | ÷ kernel | VmHWM at the end (min–max) | ÷ kernel | peak VmRSS sampled (largest run) |")
p("|---|---:|---:|---:|---:|---:|")
kanon, khwm = med(nums("end_anon_kb", "kernel")), med(nums("hwm_kb", "kernel"))
for c in configs:
    a, h, r = nums("end_anon_kb", c), nums("hwm_kb", c), nums("rss_max_kb", c)
    p(f"| {c} | {mib(med(a))} ({mib(min(a))}–{mib(max(a))}) | {ratio(med(a), kanon)} |"
      f" {mib(med(h))} ({mib(min(h))}–{mib(max(h))}) | {ratio(med(h), khwm)} | {mib(max(r))} |")
p("")
p("RssAnon after each size's wrk run (the same Apache serves the sizes in this order), median MiB:\n")
p("| configuration |" + "".join(f" after {label(s)} |" for s in sizes))
p("|---|" + "---:|" * len(sizes))
for c in configs:
    p(f"| {c} |" + "".join(f" {mib(med(nums('anon_kb', c, s)))} |" for s in sizes))
p("")
if "shim" in configs:
    p("## The shim's counters\n")
    p("From the shim's live stats file (`SFSHIM_STATS`, read with `sfshim stats --json`), summed over a run's processes;"
      " the peak is the largest of one process (the cap holds per process), `within cap` whether every process's"
      " peak stayed within its cap; `n/a`: the reports have no mapping-cache figures.\n")
    p("| round | processes | emulated calls | cache hits | misses | evictions | mapped at exit | peak mapped | cap | within cap |")
    p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    sums = [(int(r[2]), json.loads(r[4])) for r in rows if r[0] == "shim"]
    def n(v):
        return "n/a" if v is None else f"{v:,}"
    for rnd, s in sorted(sums):
        within = {None: "n/a", True: "yes", False: "**no**"}[s["cache_within_cap"]]
        p(f"| {rnd} | {s['processes']} | {s['emulated_calls']:,} | {n(s['cache_hits'])} | {n(s['cache_misses'])} |"
          f" {n(s['cache_evictions'])} | {human(s['cache_mapped_bytes'])} | {human(s['cache_peak_mapped_bytes'])} |"
          f" {human(s['cache_cap_bytes'])} | {within} |")
    p("")
p("Requests/s is wrk's. Every file was fetched once with curl and compared with the original before each wrk run;"
  " wrk reported no errors and no non-2xx answers.")
open(out, "w").write("\n".join(L) + "\n")
PY
cat "$WORK/report.md"
[ -z "$MARKDOWN" ] || cp "$WORK/report.md" "$MARKDOWN"
if [ -n "$TSV" ]; then
	{
		printf 'kind\tconfiguration\tround\tsize\tvalue\n'
		cat "$DATA"
	} >"$TSV"
	say "raw figures in $TSV"
fi
