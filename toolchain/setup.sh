#!/usr/bin/env bash
# Install the Debian packages that sfshim's build and tests need.
# Idempotent: installs only what is missing, and runs apt-get update only then.
#
#   toolchain/setup.sh            build and test packages
#   toolchain/setup.sh servers    also the web servers and tools of the integration tests
#
# Extend a group by adding a name to its list; add a group by adding a list
# and a case below.
set -euo pipefail

BASE_PACKAGES=(catch2 libseccomp-dev strace pkg-config clang python3)
SERVERS_PACKAGES=(apache2 nginx-light lighttpd wrk curl)
BENCH_PACKAGES=(python3-matplotlib)

die() { echo "setup.sh: $*" >&2; exit 1; }

wanted=("${BASE_PACKAGES[@]}")
for group in "$@"; do
  case "$group" in
    servers) wanted+=("${SERVERS_PACKAGES[@]}") ;;
    bench) wanted+=("${SERVERS_PACKAGES[@]}" "${BENCH_PACKAGES[@]}") ;;
    -h|--help) echo "usage: $0 [servers] [bench]"; exit 0 ;;
    *) die "unknown group '$group' (known: servers, bench)" ;;
  esac
done

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  die "needs a Debian system (dpkg-query and apt-get)"
fi

# By package status, not by command: a python3 elsewhere on PATH is not Debian's.
missing=()
for p in "${wanted[@]}"; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] ||
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
# Keep apt quiet, but show its output when it fails.
"${sudo[@]}" apt-get update -q >"$log" 2>&1 ||
  { cat "$log" >&2; die "apt-get update failed"; }
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1 ||
  { tail -n 20 "$log" >&2; die "apt-get install ${missing[*]} failed"; }
