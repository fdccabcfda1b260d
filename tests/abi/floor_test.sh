#!/bin/sh
# The glibc floor (shim/src/glibc_floor.h): every file given may need, from
# the C library, no symbol version above the floor, as a loader of that
# glibc would refuse it (Python's auditwheel applies the same rule to
# manylinux wheels). Also refused: GLIBC_PRIVATE, and symbols that libc.so.6
# did not have at the floor because they lived in libpthread.so.0 or
# libdl.so.2 until glibc 2.34 (bound to libc.so.6, they do not load on 2.31).
# A static file needs no versions and passes.
# usage: floor_test.sh GLIBC_FLOOR GLIBCXX_FLOOR CXXABI_FLOOR FILE...
set -eu
glibc=$1 glibcxx=$2 cxxabi=$3
shift 3
bad=0
fail() { echo "FAIL: $*"; bad=1; }

# True if dotted version $1 is above $2 (numerically, field by field).
above() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        n = split(a, x, "."); m = split(b, y, ".");
        for (i = 1; i <= (n > m ? n : m); i++) {
            if (x[i] + 0 > y[i] + 0) exit 0;
            if (x[i] + 0 < y[i] + 0) exit 1;
        }
        exit 1 }'
}

# pthread_* that glibc 2.17's libc.so.6 itself exports (forwarders); any
# other pthread_*, and dl*, were in libpthread.so.0 and libdl.so.2.
libc_pthread='pthread_(attr_[a-z]+|cond_[a-z]+|condattr_[a-z]+|equal|exit|getschedparam|setschedparam|mutex_(destroy|init|lock|unlock)|self|setcancelstate|setcanceltype)'
moved='(pthread_[a-z_]+|dl(open|close|sym|vsym|error|addr|addr1|info|mopen|iterate_phdr_no)|sem_[a-z_]+)'

for f in "$@"; do
    [ -f "$f" ] || { fail "$f: no such file"; continue; }
    name=${f##*/}
    if ! objdump -p "$f" | grep -q '^Dynamic Section:'; then
        echo "$name: static, no symbol versions"
        continue
    fi
    # The versions the loader checks (Version References), per library.
    refs=$(objdump -p "$f" | awk '
        /^Version References:/ { r = 1; next }
        r && /^ *required from/ { lib = $3; sub(/:$/, "", lib); next }
        r && NF >= 4 { print lib, $NF; next }
        r && NF == 0 { r = 0 }')
    syms=$(objdump -T "$f" | sed -nE 's/.*\*UND\*.*[[:space:]]\(?([A-Z]+_[A-Za-z0-9._]+)\)?[[:space:]]+([^[:space:]]+)$/\1 \2/p')
    worst=
    for v in $(echo "$refs" | awk '{print $2}' | sort -u); do
        prefix=${v%%_*} num=${v#*_}
        case $prefix in
        GLIBC) floor=$glibc ;;
        GLIBCXX) floor=$glibcxx ;;
        CXXABI) floor=$cxxabi ;;
        *) continue ;;
        esac
        if [ "$num" = PRIVATE ] || above "$num" "$floor"; then
            users=$(echo "$syms" | awk -v v="$v" '$1 == v { printf " %s", $2 }')
            fail "$name needs $v (above ${prefix}_$floor):${users:- (no symbol named)}"
        fi
        [ "$prefix" = GLIBC ] && [ "$num" != PRIVATE ] && { [ -z "$worst" ] || above "$num" "$worst"; } && worst=$num
    done
    # Bound to libc.so.6, but not there at the floor.
    if ! readelf -dW "$f" | grep -Eq 'NEEDED.*\[(libpthread|libdl)\.so'; then
        for s in $(echo "$syms" | awk '$1 ~ /^GLIBC_/ { print $2 }' | grep -Ex "$moved" | grep -Evx "$libc_pthread" || true); do
            fail "$name imports $s from libc.so.6, which had it only from glibc 2.34 (libpthread/libdl before)"
        done
    fi
    echo "$name: needs at most GLIBC_${worst:-none} (floor $glibc)"
done
[ "$bad" -eq 0 ] || exit 1
echo "every file at or below glibc $glibc"
