#!/usr/bin/env bash
# The tuning sweep behind the engines' defaults (docs/performance.md, "Defaults the
# numbers chose"): sfbench once per SFSHIM_TUNE setting, the kernel's
# sendfile measured in every run so that each figure is a ratio taken under
# the same load. Writes a Markdown table (and the raw CSV beside it).
#
#   tests/bench/sweep.sh SFBENCH [--markdown FILE] [--rounds N]
#
# Parts: the read/write buffer size; the mmap window, the bytes per writev and
# prefaulting (MAP_POPULATE) or advice; the read/write against mmap-writev
# cut-over by size and output; files beyond the mapping cache (512 MiB in
# 4 MiB calls): windows of 1 or 4 MiB, prefaulted or not, against read/write
# through buffers of 128 KiB to 1 MiB, with page faults per MiB. SWEEP_PARTS
# picks parts (default: all four).
set -euo pipefail
sfbench=${1:?usage: sweep.sh SFBENCH [--markdown FILE] [--rounds N]}
shift
markdown=/dev/stdout rounds=3
while [ $# -gt 0 ]; do
  case $1 in
    --markdown) markdown=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "sweep.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
all=$work/all.csv
start=$SECONDS

parts=" ${SWEEP_PARTS:-buffer mmap cutover beyond} "
run() { # part setting tune methods transports sizes [call size]
  local part=$1 setting=$2 tune=$3 methods=$4 transports=$5 sizes=$6 calls=${7:-whole}
  case $parts in *" $part "*) ;; *) return 0 ;; esac
  echo "sweep: $part, $setting" >&2
  SFSHIM_TUNE=$tune "$sfbench" --methods "$methods" --transports "$transports" --sizes "$sizes" \
    --call-size "$calls" --rounds "$rounds" --no-syscall-count --csv "$work/one.csv" >/dev/null
  # sfbench's own header once, with the sweep's two columns in front.
  [ -s "$all" ] || head -n 1 "$work/one.csv" | sed 's|^|part,setting,|' >"$all"
  tail -n +2 "$work/one.csv" | sed "s|^|$part,$setting,|" >>"$all"
}

for b in ${SWEEP_BUFFERS:-16K 32K 64K 128K 256K 1M}; do
  run buffer "rw_buffer=$b" "rw_buffer=$b" kernel,rw tcp,unix,pipe,file 64K,1M,64M
done
for win in 256K 1M 4M 16M; do
  for write in 64K "$win"; do
    for pop in 1 0; do
      run mmap "mmap_window=$win mmap_write=$write mmap_populate=$pop" \
        "mmap_window=$win,mmap_write=$write,mmap_populate=$pop" kernel,mmap tcp,unix,file 1M,64M
    done
  done
done
for advice in sequential willneed; do
  run mmap "mmap_window=1M mmap_write=64K mmap_populate=0 mmap_advice=$advice" \
    "mmap_populate=0,mmap_advice=$advice" kernel,mmap tcp,unix,file 1M,64M
done
run cutover "defaults" "" kernel,rw,mmap tcp,unix,file 64K,256K,1M,4M,64M
# Beyond the cache: what auto does with a file it does not keep, by design.
for setting in "mmap_window=1M,mmap_populate=1" "mmap_window=4M,mmap_populate=1" "mmap_window=1M,mmap_populate=0" \
  "mmap_window=4M,mmap_populate=0" "mmap_min_unix=off,mmap_min_socket=off,rw_buffer=128K" \
  "mmap_min_unix=off,mmap_min_socket=off,rw_buffer=256K" "mmap_min_unix=off,mmap_min_socket=off,rw_buffer=1M"; do
  run beyond "${setting//,/ }" "$setting" kernel,emulate tcp,unix 512M 4M
done

python3 - "$all" "$rounds" "$((SECONDS - start))" >"$markdown" <<'PY'
import csv, sys, collections
path, rounds, secs = sys.argv[1], sys.argv[2], sys.argv[3]
rows = list(csv.DictReader(open(path)))  # sfbench's columns, by name, after part and setting
def size_name(b):
    b = int(b)
    return f"{b >> 20} MiB" if b >= 1 << 20 else f"{b >> 10} KiB"
print("# Tuning sweep\n")
print(f"{rounds} interleaved rounds per cell, {secs} s in all. Each figure: the method's median throughput "
      "as a multiple of the kernel's sendfile in the same run, then the sender's CPU seconds per GB "
      "as a multiple of the kernel's.\n")
for part in ("buffer", "mmap", "cutover", "beyond"):
    sel = [r for r in rows if r["part"] == part and r["method"] != "kernel"]
    if not sel:
        continue
    cols = sorted({(r["transport"], int(r["size_bytes"])) for r in sel}, key=lambda c: (c[0], c[1]))
    print(f"## {part}\n")
    print("| setting | method | " + " | ".join(f"{t} {size_name(s)}" for t, s in cols) + " |")
    print("|---|---|" + "---:|" * len(cols))
    table = collections.OrderedDict()
    for r in sel:
        table.setdefault((r["setting"], r["method"]), {})[(r["transport"], int(r["size_bytes"]))] = r
    for (setting, method), cells in table.items():
        out = []
        for c in cols:
            r = cells.get(c)
            out.append("–" if r is None else
                       f"{float(r['mbps_ratio_to_kernel']):.2f}× / {float(r['cpu_ratio_to_kernel']):.2f}×" +
                       (f", {float(r['faults_per_mib_median']):.3g} faults/MiB" if part == "beyond" else ""))
        print(f"| {setting} | {method} | " + " | ".join(out) + " |")
    print()
PY
echo "sweep: done in $((SECONDS - start)) s" >&2
