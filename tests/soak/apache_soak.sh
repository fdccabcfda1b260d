#!/bin/bash
# A bounded soak: Apache in a kernel without sendfile, through the shim, under
# wrk for SOAK_SECONDS (default 60) with files of 1 KiB to 10 MiB, while a
# background loop truncates and restores a separate set of files. Afterwards
# the stable files must still be served byte-exact (curl + sha256), Apache
# must be alive with no crash in its error log, and the requests for stable
# files must have had no error at all. Short bodies of the truncated files
# are expected (Apache sends Content-Length from stat, then fewer bytes) and
# are counted apart. Prints a one-paragraph summary.
#
#   tests/soak/apache_soak.sh BUILD_DIR      (needs build/bin/sfshim, libsfshim)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
seconds=${SOAK_SECONDS:-60}
export SFSHIM=$build/bin/sfshim SFSHIM_NOSENDFILE=$build/bin/sfshim-nosendfile
for t in "$SFSHIM" "$SFSHIM_NOSENDFILE" apache2ctl wrk curl sha256sum; do
    command -v "$t" >/dev/null || [ -x "$t" ] || { echo "apache_soak: $t is missing" >&2; exit 2; }
done

work=$(mktemp -d /tmp/sfshim-soak.XXXXXX)
doc=$work/doc state=$work/state
mkdir -p "$doc/stable" "$doc/volatile" "$work/masters" "$state"
chmod 755 "$work" "$doc" "$doc/stable" "$doc/volatile"
truncator=; sampler=; checker=; started=
cleanup() {
    for p in $truncator $sampler $checker; do kill "$p" 2>/dev/null || true; done
    [ -n "$started" ] && "$root/examples/apache/serve.sh" --stop "$state" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# Files: stable ones are checked; volatile ones are truncated and restored.
sizes="1024 4096 65536 262144 1048576 4194304 10485760"
stable_paths= volatile_paths=
for s in $sizes; do
    head -c "$s" /dev/urandom >"$doc/stable/f$s"
    # Small files more often: weight by repetition.
    reps=1; [ "$s" -le 65536 ] && reps=4; [ "$s" -le 1048576 ] && [ "$s" -gt 65536 ] && reps=2
    for _ in $(seq $reps); do stable_paths="$stable_paths /stable/f$s"; done
done
for s in 1048576 4194304 10485760; do
    head -c "$s" /dev/urandom >"$work/masters/v$s"
    cp "$work/masters/v$s" "$doc/volatile/v$s"
    volatile_paths="$volatile_paths /volatile/v$s"
done
chmod 644 "$doc"/stable/* "$doc"/volatile/*
(cd "$doc/stable" && sha256sum f*) >"$work/stable.sha256"

url=$("$root/examples/apache/serve.sh" --background --quiet --lifetime $((seconds + 120)) --dir "$state" "$doc")
started=1
url=${url%/}
mainpid=$(cat "$state"/run/*.pid 2>/dev/null | head -1 || true)
apache_pids() { echo "$mainpid"; ps -o pid= --ppid "$mainpid" 2>/dev/null | tr -d ' '; }
rss_total() { local t=0 p r; for p in $(apache_pids); do r=$(awk '/^VmRSS/{print $2}' /proc/"$p"/status 2>/dev/null || echo 0); t=$((t + ${r:-0})); done; echo $t; }
rss_max_proc() { local m=0 p r; for p in $(apache_pids); do r=$(awk '/^VmHWM/{print $2}' /proc/"$p"/status 2>/dev/null || echo 0); [ "${r:-0}" -gt $m ] && m=$r; done; echo $m; }

rss_start=$(rss_total)
# The background loop: truncate (to 0, to half, to a page boundary), then restore.
(
    i=0
    while :; do
        for s in 1048576 4194304 10485760; do
            f=$doc/volatile/v$s
            case $((i % 3)) in
                0) truncate -s 0 "$f" ;;
                1) truncate -s $((s / 2 + 123)) "$f" ;;
                2) truncate -s $((s / 4096 / 3 * 4096)) "$f" ;;
            esac
            sleep 0.0$((RANDOM % 9 + 1))
            cp "$work/masters/v$s" "$f"
        done
        i=$((i + 1))
    done
) &
truncator=$!
# RSS samples every 2 s.
( while :; do echo "$(rss_total) $(rss_max_proc)" >>"$work/rss"; sleep 2; done ) &
sampler=$!
# curl checks of the stable files during the run.
(
    while :; do
        for s in $sizes; do
            got=$(curl -sS --max-time 20 "$url/stable/f$s" | sha256sum | cut -d' ' -f1)
            want=$(grep " f$s\$" "$work/stable.sha256" | cut -d' ' -f1)
            [ "$got" = "$want" ] && echo ok >>"$work/curl" || echo "bad f$s" >>"$work/curl"
        done
        sleep 1
    done
) &
checker=$!

SOAK_PATHS="$stable_paths" wrk -t1 -c12 -d"${seconds}s" --timeout 20s -s "$here/mixed.lua" "$url/" >"$work/wrk.stable" 2>&1 &
w1=$!
SOAK_PATHS="$volatile_paths" wrk -t1 -c4 -d"${seconds}s" --timeout 20s -s "$here/mixed.lua" "$url/" >"$work/wrk.volatile" 2>&1 &
w2=$!
wait $w1 $w2 || true
kill "$truncator" "$checker" "$sampler" 2>/dev/null || true
wait "$truncator" "$checker" "$sampler" 2>/dev/null || true
truncator= checker= sampler=
for s in 1048576 4194304 10485760; do cp "$work/masters/v$s" "$doc/volatile/v$s"; done

# After: every stable file byte-exact, three times.
final_bad=0
for _ in 1 2 3; do
    for s in $sizes; do
        got=$(curl -sS --max-time 30 "$url/stable/f$s" | sha256sum | cut -d' ' -f1)
        grep -q "^$got  f$s\$" "$work/stable.sha256" || final_bad=$((final_bad + 1))
    done
done
rss_end=$(rss_total)
alive=no; kill -0 "$mainpid" 2>/dev/null && alive=yes
crashes=$( (grep -ciE "segfault|segmentation|exit signal|bus error|AH00052" "$state"/logs/error*log 2>/dev/null || true) | awk -F: '{s+=$NF} END {print s+0}')
"$root/examples/apache/serve.sh" --stop "$state" >/dev/null 2>&1 || true
started=

field() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" "$1" | head -1; }
sr=$(field "$work/wrk.stable" requests); sb=$(field "$work/wrk.stable" bytes)
se=$(( $(field "$work/wrk.stable" connect) + $(field "$work/wrk.stable" read) + $(field "$work/wrk.stable" write) + $(field "$work/wrk.stable" status) + $(field "$work/wrk.stable" timeout) ))
vr=$(field "$work/wrk.volatile" requests); vb=$(field "$work/wrk.volatile" bytes)
ve=$(( $(field "$work/wrk.volatile" read) + $(field "$work/wrk.volatile" status) + $(field "$work/wrk.volatile" timeout) + $(field "$work/wrk.volatile" connect) + $(field "$work/wrk.volatile" write) ))
curl_ok=$(grep -c '^ok' "$work/curl" 2>/dev/null || true); curl_bad=$(grep -c '^bad' "$work/curl" 2>/dev/null || true)
peak_total=$(awk '{if ($1 > m) m = $1} END {print m + 0}' "$work/rss")
peak_proc=$(awk '{if ($2 > m) m = $2} END {print m + 0}' "$work/rss")
emulated=$("$SFSHIM" stats --json "$state"/stats/*.stats 2>/dev/null | sed -n 's/.*"emulated_calls":\([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}')
shim_errors=$("$SFSHIM" stats --json "$state"/stats/*.stats 2>/dev/null | sed -n 's/.*"errors":\([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}')

echo
echo "Soak summary: Apache (mpm_event, EnableSendfile On) ran ${seconds} s in a kernel whose sendfile fails with ENOSYS, through the shim in AUTO mode; wrk made ${sr:-0} requests for stable files of 1 KiB to 10 MiB ($((${sb:-0} / 1048576)) MiB received, ${se} errors) and ${vr:-0} requests for files that a background loop kept truncating and restoring ($((${vb:-0} / 1048576)) MiB, ${ve} short or failed responses, expected there); ${curl_ok} curl+sha256 checks of the stable files during the run and $((3 * $(echo $sizes | wc -w))) after it found ${curl_bad} and ${final_bad} mismatches; the shim emulated ${emulated} calls (${shim_errors} returned errors, e.g. EPIPE/ECONNRESET from clients gone); Apache was alive at the end (${alive}) with ${crashes} crash lines in its error log; resident memory of all Apache processes went from ${rss_start} kB to ${rss_end} kB (peak ${peak_total} kB in total; the largest VmHWM of one process ${peak_proc} kB)."

fail=0
[ "${sr:-0}" -gt 0 ] || { echo "FAIL: no requests for stable files"; fail=1; }
[ "$se" -eq 0 ] || { echo "FAIL: $se errors on stable files"; fail=1; }
[ "${curl_bad:-0}" -eq 0 ] && [ "$final_bad" -eq 0 ] || { echo "FAIL: stable files not byte-exact"; fail=1; }
[ "$alive" = yes ] || { echo "FAIL: Apache died"; fail=1; }
[ "$crashes" -eq 0 ] || { echo "FAIL: crash lines in the error log"; fail=1; }
[ "$emulated" -gt 0 ] || { echo "FAIL: the shim emulated nothing (not preloaded?)"; fail=1; }
exit $fail
