#!/bin/sh
# The binary tarball, as an administrator of a BSD's Linux compat layer uses
# it: made with cpack -G TGZ, unpacked under a prefix like FreeBSD's
# /compat/linux/usr/local, then moved (it is relocatable), and used there: a
# program run through PREFIX/bin/sfshim in a kernel without sendfile gets the
# kernel's results, from the library in the prefix.
# usage: tarball_test.sh BUILD_DIR PROBE
set -eu
build=$1 probe=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }

cpack -G TGZ --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log"; fail "cpack -G TGZ"; }
set -- "$work"/pkg/sfshim-*-linux-*.tar.gz
[ $# -eq 1 ] && [ -f "$1" ] || fail "no single sfshim-VERSION-linux-ARCH.tar.gz in: $(ls "$work/pkg")"
tgz=$1
case $(basename "$tgz") in
*-x86_64.tar.gz) libdir=lib class=2 ;;
*-i386.tar.gz) libdir=lib32 class=1 ;;
*) libdir=lib class= ;;
esac

# Paths start at the prefix: no top directory, nothing absolute, no /usr.
tar -tzf "$tgz" | sed 's|^\./||' | grep -v '^$' | sort > "$work/list"
bad=$(grep -Ev '^(bin|include|share|lib|lib32)(/|$)' "$work/list" || true)
[ -z "$bad" ] || fail "paths outside bin, include, share, lib, lib32: $bad"
for f in bin/sfshim bin/sfshim-doctor bin/sfshim-nosendfile include/sfshim/sfshim.h \
         share/man/man1/sfshim.1 share/man/man7/sfshim.7 \
         "$libdir/libsfshim.so.0" "$libdir/pkgconfig/sfshim.pc"; do
    grep -qx "$f" "$work/list" || fail "$f not in the tarball"
done

prefix=$work/compat/linux/usr/local
mkdir -p "$prefix"
tar -xzf "$tgz" -C "$prefix"
lib=$prefix/$libdir/libsfshim.so.0
[ -f "$lib" ] || fail "$libdir/libsfshim.so.0 not unpacked"
if [ -n "$class" ]; then
    [ "$(od -An -tu1 -j4 -N1 "$lib" | tr -d ' ')" = "$class" ] || fail "$libdir/libsfshim.so.0 has the wrong ELF class"
fi
# The commands are static: they run in any Linux userland, whatever its glibc.
for c in sfshim-doctor sfshim-nosendfile; do
    readelf -lW "$prefix/bin/$c" | grep -q 'INTERP' && fail "bin/$c is dynamically linked"
done

# Relocatable: moved after unpacking, it still finds its own files.
mv "$work/compat" "$work/moved"
prefix=$work/moved/linux/usr/local

"$probe" > "$work/kernel.txt"
grep -q 'ret=-1 errno=ENOSYS' "$work/kernel.txt" && fail "the kernel itself has no sendfile here"
env -u SFSHIM_LIBRARY -u LD_PRELOAD "$prefix/bin/sfshim" --no-kernel-sendfile --stats="$work/stats.sf" -- \
    "$probe" > "$work/shim.txt" 2> "$work/shim.err" || { cat "$work/shim.err"; fail "sfshim -- probe: exit $?"; }
[ -s "$work/shim.err" ] && { cat "$work/shim.err"; fail "the launcher or the loader wrote to stderr"; }
diff -u "$work/kernel.txt" "$work/shim.txt" || fail "the probe through the unpacked shim differs from the kernel"
"$prefix/bin/sfshim" stats --json "$work/stats.sf" | grep -q '"emulated_calls":[1-9]' || fail "no emulated call in the stats"
# The launcher preloads the library of the command's ELF class: this
# system's /bin/sh is 64-bit, so an i386 prefix alone warns that lib/ is
# missing (and preloads its own, which the loader refuses for sh).
quiet=--quiet
[ "$libdir" = lib ] || quiet=
got=$(env -u SFSHIM_LIBRARY -u LD_PRELOAD "$prefix/bin/sfshim" $quiet -- /bin/sh -c 'echo "$LD_PRELOAD"' 2>"$work/sh.err")
[ "$(readlink -f "$got")" = "$(readlink -f "$prefix/$libdir/libsfshim.so.0")" ] || fail "LD_PRELOAD is $got"
if [ "$libdir" = lib ]; then
    [ -s "$work/sh.err" ] && { cat "$work/sh.err"; fail "stderr from a 64-bit command in a 64-bit prefix"; }
else
    grep -q 'needs lib/libsfshim.so.0, which is not installed' "$work/sh.err" ||
        { cat "$work/sh.err"; fail "no warning for a 64-bit command in a 32-bit prefix"; }
fi
"$prefix/bin/sfshim" doctor > "$work/doctor.txt" || { cat "$work/doctor.txt"; fail "doctor from the prefix"; }
echo "tarball: $(basename "$tgz") unpacked, moved and used ($(wc -l < "$work/list") entries)"
