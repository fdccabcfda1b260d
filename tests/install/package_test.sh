#!/bin/sh
# The Debian package, as a user gets it: built with cpack, installed with
# dpkg into a scratch root, used (a transfer through the installed launcher
# and library, in a kernel without sendfile), then removed with nothing left.
# usage: package_test.sh BUILD_DIR
set -eu
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }

(cd "$build" && cpack -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/pkg/sfshim_*.deb)
root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
: > "$root/var/lib/dpkg/status"
# Its dependencies (libc6, libseccomp2) live in the real root, not the scratch one.
dpkg --root="$root" --force-not-root --force-depends --force-script-chrootless -i "$deb" >"$work/dpkg.log" 2>&1 ||
    { cat "$work/dpkg.log"; fail "dpkg -i"; }
dpkg --root="$root" -s sfshim | grep -q '^Status: install ok installed' || fail "not installed"
for f in usr/bin/sfshim usr/bin/sfshim-nosendfile usr/bin/sfshim-doctor usr/include/sfshim/sfshim.h \
         usr/share/man/man1/sfshim.1 usr/share/man/man7/sfshim.7; do
    [ -e "$root/$f" ] || fail "$f missing"
done
lib=$(find "$root/usr/lib" -name 'libsfshim.so.0' | head -n 1)
[ -n "$lib" ] || fail "libsfshim.so.0 missing"
readelf -d "$lib" | grep -q 'SONAME.*\[libsfshim.so.0\]' || fail "SONAME"
pc=$(find "$root/usr/lib" -name sfshim.pc | head -n 1)
[ "$(PKG_CONFIG_PATH=${pc%/*} pkg-config --modversion sfshim)" = "$("$root/usr/bin/sfshim" --version | cut -d' ' -f2)" ] ||
    fail "pkg-config and the launcher disagree on the version"
inc=$(PKG_CONFIG_PATH=${pc%/*} pkg-config --cflags-only-I sfshim | sed 's/^ *-I//; s/ *$//')
[ "$(cd "$inc" && pwd -P)" = "$(cd "$root/usr/include" && pwd -P)" ] || fail "pkg-config --cflags points at $inc"

# A transfer through the installed files only: launcher -> its own library.
head -c 300000 /dev/urandom > "$work/in"
env -u SFSHIM_LIBRARY "$root/usr/bin/sfshim" --no-kernel-sendfile --mode emulate --stats="$work/stats.sf" -- \
    /usr/bin/python3 -c '
import os, sys
src = os.open(sys.argv[1], os.O_RDONLY); dst = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT, 0o600)
off, n = 0, os.fstat(src).st_size
while off < n:
    off += os.sendfile(dst, src, off, n - off)
' "$work/in" "$work/out"
cmp -s "$work/in" "$work/out" || fail "the copy through the installed shim differs"
"$root/usr/bin/sfshim" stats --json "$work/stats.sf" > "$work/stats.json" || fail "sfshim stats cannot read the stats file"
grep -q '"emulated_calls":[1-9]' "$work/stats.json" || fail "no emulated call in the stats"
grep -q "$root" "$work/stats.json" && fail "stats mention the scratch root?"
"$root/usr/bin/sfshim" doctor >/dev/null || fail "doctor says the kernel's sendfile fails here"

dpkg --root="$root" --force-not-root --force-script-chrootless -r sfshim >"$work/dpkg-r.log" 2>&1 ||
    { cat "$work/dpkg-r.log"; fail "dpkg -r"; }
left=$(find "$root/usr" -type f 2>/dev/null | head -n 5)
[ -z "$left" ] || fail "files left after removal: $left"
echo "package: installed, used and removed cleanly ($(basename "$deb"))"
