#!/usr/bin/env bash
# Makes, once, the Debian bullseye root (glibc 2.31, Python 3.9, Apache 2.4)
# that the compat tests (tests/compat/) run programs of an older userland in,
# and prints its path. Later runs find it and reuse it.
#
#   toolchain/bullseye-root.sh           make it if missing; print the path
#   toolchain/bullseye-root.sh --check   only say whether it is there (no download)
#   toolchain/bullseye-root.sh --remove  delete it (the next run makes it anew)
#
# SFSHIM_BULLSEYE_ROOT: where it lives (default /var/cache/sfshim/bullseye-amd64,
# outside the clone, so that fresh clones on one machine share it).
# SFSHIM_BULLSEYE_MIRROR: the Debian mirror; by default the one this machine's
# apt uses (its sources), with suite bullseye.
#
# The root is made in a temporary directory beside its place and renamed into
# place only when complete, so an interrupted run never leaves half a root;
# its stamp (.sfshim-root) says what it holds, and a root whose stamp does not
# match what this script makes is made again. Concurrent runs wait for one
# another (a lock beside the root).
#
# Exit status: 0 the root is there; 77 it cannot be had here (not root, no
# debootstrap, the mirror unreachable), with a "SKIP: ..." line on stderr; 1 an error.
set -euo pipefail

ROOT=${SFSHIM_BULLSEYE_ROOT:-/var/cache/sfshim/bullseye-amd64}
SUITE=bullseye
ARCH=amd64
INCLUDE=python3-minimal,apache2
# What a root must hold to be reused: change a word here and every cached
# root is made anew.
SPEC="sfshim bullseye root v1: suite=$SUITE arch=$ARCH variant=minbase include=$INCLUDE"
STAMP=.sfshim-root

skip() { echo "SKIP: $*" >&2; exit 77; }
die() { echo "bullseye-root.sh: $*" >&2; exit 1; }

have_root() { [ -f "$ROOT/$STAMP" ] && [ "$(head -n 1 "$ROOT/$STAMP")" = "$SPEC" ]; }

case ${1:-} in
--check)
	if have_root; then echo "$ROOT"; exit 0; fi
	skip "no bullseye root at $ROOT (toolchain/bullseye-root.sh makes it)" ;;
--remove)
	[ "$(id -u)" -eq 0 ] || die "--remove needs root"
	rm -rf --one-file-system "$ROOT"
	exit 0 ;;
'') ;;
-h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) die "unknown option '$1'" ;;
esac

if have_root; then echo "$ROOT"; exit 0; fi

[ "$(id -u)" -eq 0 ] || skip "making the bullseye root needs root (debootstrap, chroot)"
[ "$(uname -m)" = x86_64 ] || skip "the bullseye root is amd64; this machine is $(uname -m)"
command -v debootstrap >/dev/null || skip "debootstrap is not installed (toolchain/setup.sh compat)"
command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"

# The mirror: the first Debian archive in this machine's apt sources (deb822
# .sources files, then the one-line format), not its security archive.
mirror_from_apt() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
			/^[ \t]*$/ { if (uri != "" && ok) { print uri; exit } uri = ""; ok = 0; next }
			/^[Tt]ypes:/ { ok = ($0 ~ /[ \t]deb([ \t]|$)/) }
			/^URIs:/ { if ($2 !~ /security/) uri = $2 }
			END { if (uri != "" && ok) print uri }' "$f" | head -n 1
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { if ($i !~ /security/) print $i; break } }'
}
MIRROR=${SFSHIM_BULLSEYE_MIRROR:-$(mirror_from_apt | grep -m 1 -E '^(https?|file)://' || true)}
[ -n "$MIRROR" ] || skip "no Debian mirror in this machine's apt sources (set SFSHIM_BULLSEYE_MIRROR)"

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$KEYRING" ] || skip "no $KEYRING (toolchain/setup.sh compat installs debian-archive-keyring)"

parent=$(dirname "$ROOT")
mkdir -p "$parent"
exec 9>"$ROOT.lock"
if ! flock -n 9; then
	echo "bullseye-root.sh: another run is making $ROOT; waiting for it" >&2
	flock 9
fi
if have_root; then echo "$ROOT"; exit 0; fi

# The suite must be on the mirror: a quick look before minutes of work.
if [[ $MIRROR == http* ]] && command -v curl >/dev/null; then
	curl --silent --fail --connect-timeout 10 --max-time 30 -o /dev/null "$MIRROR/dists/$SUITE/Release" ||
		skip "the Debian mirror (this machine's apt sources, or SFSHIM_BULLSEYE_MIRROR) does not answer for $SUITE"
fi

# Leftovers of interrupted runs (their owner is gone: we hold the lock).
for old in "$ROOT".tmp.*; do
	[ ! -e "$old" ] || rm -rf --one-file-system "$old"
done
tmp=$(mktemp -d "$ROOT.tmp.XXXXXX")
log=$tmp.log
# Each long step runs in a process group of its own, waited for with `wait`
# (which a signal interrupts): interrupted, the step's whole group is
# stopped, and the half-made root removed.
step_pid=''
step() {
	setsid "$@" &
	step_pid=$!
	local rc=0
	wait "$step_pid" || rc=$?
	step_pid=''
	return $rc
}
cleanup() {
	local i
	if [ -n "$step_pid" ]; then
		# The whole group, and until the last of it is gone (a tar still
		# unpacking would write into what is being removed).
		kill -TERM -- "-$step_pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 -- "-$step_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$step_pid" 2>/dev/null || true
		wait "$step_pid" 2>/dev/null || true
	fi
	rm -rf --one-file-system "$tmp" "$log" || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

start=$SECONDS
echo "bullseye-root.sh: making $ROOT (debootstrap $SUITE, minbase, with $INCLUDE); a few minutes" >&2

# First stage: download and unpack (the only step that needs the network).
if ! step debootstrap --foreign --variant=minbase --arch="$ARCH" --include="$INCLUDE" \
	--keyring="$KEYRING" "$SUITE" "$tmp" "$MIRROR" >"$log" 2>&1; then
	tail -n 15 "$log" >&2
	if grep -qiE 'Failed getting release file|Couldn.t download|Temporary failure|Could not resolve|Connection (refused|timed out)' "$log"; then
		skip "debootstrap could not download $SUITE from the Debian mirror"
	fi
	die "debootstrap (first stage) failed; see above"
fi

# dpkg need not fsync every file of a root made in one go.
mkdir -p "$tmp/etc/dpkg/dpkg.cfg.d"
echo force-unsafe-io >"$tmp/etc/dpkg/dpkg.cfg.d/sfshim-unsafe-io"

# Second stage: configure, in a private mount namespace (what it mounts in
# the root vanishes with it) and without network, so that nothing it runs
# can listen on the host's addresses (debootstrap's own policy-rc.d keeps
# apache2's postinst from starting it meanwhile).
if ! step unshare --mount --propagation private --net \
	chroot "$tmp" /debootstrap/debootstrap --second-stage >>"$log" 2>&1; then
	tail -n 15 "$log" >&2
	die "debootstrap (second stage) failed; see above"
fi

# Smaller: the downloaded packages, the indexes, documentation and
# translations are not needed to run programs.
rm -rf "${tmp:?}"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/* \
	"$tmp"/usr/share/doc/* "$tmp"/usr/share/man/* "$tmp"/usr/share/info/* \
	"$tmp"/usr/share/locale/* "$tmp"/var/log/*.log "$tmp"/var/cache/debconf/*-old
rm -f "$tmp/etc/dpkg/dpkg.cfg.d/sfshim-unsafe-io"
# No service of the root is ever started by a package installed later.
printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
chmod 755 "$tmp/usr/sbin/policy-rc.d"

ver() { chroot "$tmp" dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
{
	echo "$SPEC"
	echo "libc6=$(ver libc6)"
	echo "python3-minimal=$(ver python3-minimal)"
	echo "apache2=$(ver apache2)"
	echo "made=$(date -u +%Y-%m-%dT%H:%M:%SZ) in $((SECONDS - start)) s"
} >"$tmp/.sfshim-stamp.new"
mv "$tmp/.sfshim-stamp.new" "$tmp/$STAMP"
chmod 755 "$tmp"

# Into place: a root from an older spec goes first (renamed aside, then removed).
if [ -e "$ROOT" ]; then
	mv -T "$ROOT" "$tmp.old"
	rm -rf --one-file-system "$tmp.old"
fi
mv -T "$tmp" "$ROOT"
rm -f "$log"
trap - EXIT
echo "bullseye-root.sh: made $ROOT in $((SECONDS - start)) s ($(du -sh "$ROOT" | cut -f1))" >&2
echo "$ROOT"
