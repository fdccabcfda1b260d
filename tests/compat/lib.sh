# shellcheck shell=bash
# Shared by the compat tests (tests/compat/*_test.sh): programs of an older
# userland, a Debian bullseye root (glibc 2.31), run in a BSD's Linux-layer
# profile through the library built in this tree. Sourced (bash).
#
# c_layer compat|freebsd|illumos-lx (before c_enter): the layer's kernel, as
# sfshim-nosendfile makes it (C_PROFILE):
#   compat   NetBSD's compat_linux, no /proc (--profile compat --no-proc)
#   freebsd  FreeBSD's linuxulator (--profile freebsd), its linprocfs
#            played by a /proc mounted in the root
#   illumos-lx  illumos' LX brand (--profile illumos-lx), its lx_proc
#            played the same way
#
# c_enter "$@" (first thing in a test after c_layer): finds or makes the root
# (toolchain/bullseye-root.sh; SKIP, status 77, where it cannot be had),
# unpacks the build's binary tarball (cpack -G TGZ) in a work directory, and
# re-executes the test in a private mount namespace where
#   ROOT/usr/local  is that unpacked tarball (a bind mount: the cached root
#                   is never written),
#   ROOT/tmp        is the host's /tmp, so that a path under /tmp is the same
#                   inside and outside (the servers' state, the files),
#   ROOT/dev        holds null, zero, full, random and urandom only,
#   ROOT/proc       is not mounted in the compat profile (a layer without
#                   procfs), and is in the others.
# Nothing of it reaches the host's mount table, and it ends with the test.
#
# Environment (set by CTest): SFSHIM_BUILD (the build tree), SFSHIM_CPACK
# (cpack, for the tarball), SFSHIM_NOSENDFILE (the host's sfshim-nosendfile).

C_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
C_SRC=$(cd "$C_DIR/../.." && pwd)

c_skip() { echo "SKIP: $*"; exit 77; }
c_die() { echo "ERROR: $*" >&2; exit 1; }

# The kernel of a BSD's Linux layer, as sfshim-nosendfile makes it.
C_LAYER=compat C_PROFILE=(--profile compat --no-proc) C_PROC=''
c_layer() {
	case $1 in
	compat) C_LAYER=compat C_PROFILE=(--profile compat --no-proc) C_PROC='' ;;
	freebsd) C_LAYER=freebsd C_PROFILE=(--profile freebsd) C_PROC=1 ;;
	illumos-lx) C_LAYER=illumos-lx C_PROFILE=(--profile illumos-lx) C_PROC=1 ;;
	*) c_die "unknown layer '$1' (compat, freebsd or illumos-lx)" ;;
	esac
}

c_enter() {
	if [ -n "${C_IN_NS:-}" ]; then
		c_setup_ns
		return
	fi
	: "${SFSHIM_BUILD:?SFSHIM_BUILD: the build tree}" "${SFSHIM_NOSENDFILE:?}"
	[ "$(id -u)" -eq 0 ] || c_skip "the compat tests need root (chroot, mount namespaces)"
	command -v unshare >/dev/null || c_skip "unshare (util-linux) is not installed"
	local root rc=0
	root=$("$C_SRC/toolchain/bullseye-root.sh") || rc=$?
	[ $rc -eq 0 ] || exit $rc # its SKIP line or error is already out
	C_WORK=$(mktemp -d /tmp/sfshim-compat.XXXXXX)
	chmod 755 "$C_WORK"
	trap 'rm -rf "$C_WORK"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	# The binary tarball of this build, unpacked as an administrator unpacks
	# it under a Linux tree's /usr/local (tar -xzf FILE -C PREFIX).
	mkdir "$C_WORK/usr-local"
	"${SFSHIM_CPACK:-cpack}" -G TGZ --config "$SFSHIM_BUILD/CPackConfig.cmake" -B "$C_WORK/pkg" \
		>"$C_WORK/cpack.log" 2>&1 || { cat "$C_WORK/cpack.log"; c_die "cpack -G TGZ failed"; }
	local tgz
	tgz=$(echo "$C_WORK"/pkg/sfshim-*-linux-x86_64.tar.gz)
	[ -f "$tgz" ] || c_die "no sfshim-VERSION-linux-x86_64.tar.gz from cpack: $(ls "$C_WORK/pkg")"
	tar -xzf "$tgz" -C "$C_WORK/usr-local" || c_die "cannot unpack $tgz"
	rm -rf "$C_WORK/pkg"
	echo "install tree: $(basename "$tgz"), unpacked at the root's /usr/local"
	rc=0
	C_IN_NS=1 C_ROOT=$root C_WORK=$C_WORK \
		unshare --mount --propagation private "${BASH:-bash}" "$0" "$@" || rc=$?
	exit $rc
}

c_setup_ns() {
	local d
	mount --bind /tmp "$C_ROOT/tmp" || c_die "cannot bind /tmp into the root"
	mount -t tmpfs -o mode=755,size=64k sfshim-dev "$C_ROOT/dev" || c_die "cannot mount /dev in the root"
	for d in null zero full random urandom; do
		: >"$C_ROOT/dev/$d"
		mount --bind "/dev/$d" "$C_ROOT/dev/$d" || c_die "cannot bind /dev/$d into the root"
	done
	mount --bind "$C_WORK/usr-local" "$C_ROOT/usr/local" || c_die "cannot bind the install tree into the root"
	[ ! -e "$C_ROOT/proc/self" ] || c_die "the root's /proc is mounted"
	if [ -n "$C_PROC" ]; then
		mount -t proc -o nosuid,nodev,noexec sfshim-proc "$C_ROOT/proc" || c_die "cannot mount /proc in the root"
	fi
	trap c_cleanup EXIT
	trap 'echo "interrupted"; exit 130' INT
	trap 'exit 143' TERM HUP
	C_FAILS=0
	C_NOSF=$SFSHIM_NOSENDFILE
	echo "root: $C_ROOT ($(sed -n 's/^libc6=/glibc /p' "$C_ROOT/.sfshim-root"), $([ -n "$C_PROC" ] && echo "/proc mounted" || echo "no /proc"))"
	echo "kernel: sfshim-nosendfile ${C_PROFILE[*]}"
}

# Functions a test adds to run at exit (servers to stop).
C_AT_EXIT=()
c_cleanup() {
	local rc=$? f
	trap - EXIT INT TERM HUP
	for f in "${C_AT_EXIT[@]}"; do "$f" || true; done
	return $rc
}

# c_use_root_launchers: examples/*/serve.sh, started after this, runs its
# server inside the root (tests/compat/in_root.sh); give it the server as
# ROOT/PROGRAM.
c_use_root_launchers() {
	mkdir -p "$C_WORK/bin"
	printf '#!/bin/sh\nexec "%s" sfshim "$@"\n' "$C_DIR/in_root.sh" >"$C_WORK/bin/sfshim"
	printf '#!/bin/sh\nexec "%s" nosendfile "$@"\n' "$C_DIR/in_root.sh" >"$C_WORK/bin/sfshim-nosendfile"
	chmod 755 "$C_WORK/bin/sfshim" "$C_WORK/bin/sfshim-nosendfile"
	export C_ROOT C_NOSF C_PROFILE_ARGS="${C_PROFILE[*]}"
	export SFSHIM=$C_WORK/bin/sfshim SFSHIM_NOSENDFILE=$C_WORK/bin/sfshim-nosendfile
	unset SFSHIM_LIBRARY
}

# c_run COMMAND...: run COMMAND inside the root in the compat-layer kernel,
# with a clean environment (add VAR=value words before the command). A
# command still running after C_DEADLINE seconds is stopped: "timed out".
C_DEADLINE=120
c_run() { c_deadline "$C_NOSF" "${C_PROFILE[@]}" -- chroot "$C_ROOT" "${C_ENV[@]}" "$@"; }

# c_run_kernel COMMAND...: the same on the normal kernel.
c_run_kernel() { c_deadline chroot "$C_ROOT" "${C_ENV[@]}" "$@"; }

C_ENV=(/usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root LANG=C.UTF-8)
c_deadline() {
	local rc=0
	timeout --kill-after=5 "$C_DEADLINE" "$@" || rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "timed out: still running after $C_DEADLINE s, stopped: ${*: -2}"
	fi
	return $rc
}

c_fail() { echo "FAIL: $*"; C_FAILS=$((C_FAILS + 1)); }
c_ok() { echo "  ok: $*"; }
c_expect() {
	local what=$1
	shift
	if "$@"; then c_ok "$what"; else c_fail "$what"; fi
}

# c_loader_check OUTPUT-FILE: status 1, and a FAIL line, if the root's
# dynamic loader refused the library or a command (a symbol version newer
# than the root's glibc 2.31).
c_loader_check() {
	if grep -q "version \`GLIBC_[0-9.]*' not found" "$1"; then
		c_fail "the root's dynamic loader (glibc 2.31) refuses it: $(grep -m 1 -o "version \`GLIBC_[0-9.]*' not found.*" "$1")"
		return 1
	fi
	return 0
}

c_finish() {
	if [ "$C_FAILS" -eq 0 ]; then
		echo PASS
		exit 0
	fi
	echo "FAILED: $C_FAILS check(s)"
	exit 1
}
