#!/usr/bin/env bash
# Install the Debian packages that sfshim's build and tests need.
# Idempotent: installs only what is missing, and runs apt-get update only then.
#
#   toolchain/setup.sh            build and test packages
#   toolchain/setup.sh servers    also the web servers and tools of the integration tests
#   toolchain/setup.sh i386       also what a -m32 build and its tests need (toolchain/i386.sh,
#                                 gcc and clang); adds the i386 architecture to dpkg if needed
#   toolchain/setup.sh musl       also what the musl build needs (toolchain/musl.sh)
#   toolchain/setup.sh compat     also what makes the Debian bullseye root of the compat
#                                 tests (toolchain/bullseye-root.sh)
#
# Extend a group by adding a name to its list; add a group by adding a list
# and a case below.
set -euo pipefail

BASE_PACKAGES=(catch2 libseccomp-dev strace pkg-config clang python3)
SERVERS_PACKAGES=(apache2 nginx-light lighttpd wrk curl vsftpd busybox uwsgi-core uwsgi-plugin-python3)
BENCH_PACKAGES=(python3-matplotlib)
# The multilib compilers (libc6-dev-i386, 32-bit libstdc++) and libseccomp for
# i386 (the test harness and sfshim-nosendfile link it). libseccomp-dev is
# Multi-Arch: same, so :i386 installs beside the amd64 one.
I386_PACKAGES=(g++-multilib libseccomp-dev:i386)
# musl-gcc, musl's headers and libc; the kernel's headers (<linux/magic.h>)
# come from linux-libc-dev.
MUSL_PACKAGES=(musl-tools musl-dev linux-libc-dev)
# debootstrap makes the bullseye root; the keyring checks its Release file.
COMPAT_PACKAGES=(debootstrap debian-archive-keyring)

die() { echo "setup.sh: $*" >&2; exit 1; }

wanted=("${BASE_PACKAGES[@]}")
for group in "$@"; do
  case "$group" in
    servers) wanted+=("${SERVERS_PACKAGES[@]}") ;;
    bench) wanted+=("${SERVERS_PACKAGES[@]}" "${BENCH_PACKAGES[@]}") ;;
    i386) wanted+=("${I386_PACKAGES[@]}"); want_i386=1 ;;
    musl) wanted+=("${MUSL_PACKAGES[@]}") ;;
    compat) wanted+=("${COMPAT_PACKAGES[@]}") ;;
    -h|--help) echo "usage: $0 [servers] [bench] [i386] [musl] [compat]"; exit 0 ;;
    *) die "unknown group '$group' (known: servers, bench, i386, musl, compat)" ;;
  esac
done

# :i386 packages need the architecture in dpkg (and then a fresh apt-get
# update, which the install step below runs whenever something is missing).
if [ "${want_i386:-0}" = 1 ] && [ "$(dpkg --print-architecture)" != i386 ] &&
   ! dpkg --print-foreign-architectures | grep -qx i386; then
  echo "setup.sh: adding the i386 architecture to dpkg"
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "not root and no sudo: run dpkg --add-architecture i386 by hand"
    sudo dpkg --add-architecture i386
  else
    dpkg --add-architecture i386
  fi
fi

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  die "needs a Debian system (dpkg-query and apt-get)"
fi

# By package status, not by command: a python3 elsewhere on PATH is not Debian's.
# One line per installed architecture (libseccomp-dev once i386 is added too).
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed ||
    missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup.sh: all ${#wanted[@]} packages present"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: install ${missing[*]} by hand"
  sudo=(sudo)
fi

echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Keep apt quiet, but show its output when it fails. A mirror that is out of
# step for one index (it happens mid-sync) need not stop the install: what
# cannot be installed then fails below, with apt's own words.
"${sudo[@]}" apt-get update -q >"$log" 2>&1 ||
  { tail -n 5 "$log" >&2; echo "setup.sh: apt-get update reported errors; installing from the lists it has" >&2; }
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1 ||
  { tail -n 20 "$log" >&2; die "apt-get install ${missing[*]} failed"; }
