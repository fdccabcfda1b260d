#!/bin/sh
# The library goes into C programs such as Apache and nginx: it may add only
# its documented symbols to them, and no dependency but libc.
set -eu
lib=$1
extra=$(nm -D --defined-only "$lib" | awk '{print $NF}' |
        grep -vE '^(sendfile|sendfile64|sfshim_[A-Za-z0-9_]+)(@.*)?$' || true)
[ -z "$extra" ] || { echo "FAIL: unexpected exports: $extra"; exit 1; }
for sym in sendfile sendfile64 sfshim_sendfile sfshim_sendfile_mode sfshim_stats_get sfshim_cache_stats_get; do
    nm -D --defined-only "$lib" | awk '{print $NF}' | grep -qx "$sym" || { echo "FAIL: $sym not exported"; exit 1; }
done
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -vE '^(libc\.so\.6|ld-linux.*|libdl\.so\.2)$' || true)
[ -z "$needed" ] || { echo "FAIL: depends on $needed"; exit 1; }
readelf -d "$lib" | grep -q 'SONAME.*libsfshim.so.0' || { echo "FAIL: no SONAME"; exit 1; }
echo "exports and dependencies as documented"
