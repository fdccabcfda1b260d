#!/usr/bin/env bash
# The launchers examples/*/serve.sh calls ($SFSHIM, $SFSHIM_NOSENDFILE), for
# a server of the root: the kernel's filter is set up on the host, the
# server runs inside the root, and the shim through the root's own sfshim
# (the install tree at /usr/local). lib.sh's c_use_root_launchers points
# SFSHIM and SFSHIM_NOSENDFILE at wrappers that run:
#   in_root.sh sfshim [SFSHIM-OPTIONS] -- ROOT/PROGRAM [ARGS...]
#   in_root.sh sfshim stats [--json] ROOT/FILE...
#   in_root.sh nosendfile [--] ROOT/PROGRAM [ARGS...]
# PROGRAM is given by its host path (serve.sh checks that it exists); it
# runs as /PROGRAM inside the root.
# Environment: C_ROOT, C_NOSF (the host's sfshim-nosendfile), C_PROFILE_ARGS
# (its options for the layer's kernel, words: lib.sh's C_PROFILE).
set -euo pipefail
: "${C_ROOT:?}" "${C_NOSF:?}"
read -r -a profile <<<"${C_PROFILE_ARGS:-}"
env=(/usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root LANG=C.UTF-8)
inner() { case $1 in "$C_ROOT"/*) echo "${1#"$C_ROOT"}" ;; *) echo "$1" ;; esac; }

mode=${1:?usage: in_root.sh sfshim|nosendfile ...}
shift
case $mode in
sfshim)
	if [ "${1:-}" = stats ]; then
		# `sfshim stats [--json] FILE...`: the root's reader, on the files by
		# their paths inside the root (the normal kernel: it sends nothing).
		shift
		args=()
		for a in "$@"; do args+=("$(inner "$a")"); done
		exec chroot "$C_ROOT" "${env[@]}" /usr/local/bin/sfshim stats "${args[@]}"
	fi
	opts=() kernel=1
	while [ $# -gt 0 ]; do
		case $1 in
		--no-kernel-sendfile) kernel='' ;;
		--) shift; break ;;
		*) opts+=("$1") ;;
		esac
		shift
	done
	prog=$(inner "$1")
	shift
	filter=()
	[ -n "$kernel" ] || filter=("$C_NOSF" "${profile[@]}" --)
	exec "${filter[@]}" chroot "$C_ROOT" "${env[@]}" /usr/local/bin/sfshim "${opts[@]}" -- "$prog" "$@"
	;;
nosendfile)
	[ "${1:-}" != -- ] || shift
	prog=$(inner "$1")
	shift
	exec "$C_NOSF" "${profile[@]}" -- chroot "$C_ROOT" "${env[@]}" "$prog" "$@"
	;;
*) echo "in_root.sh: unknown mode '$mode'" >&2; exit 2 ;;
esac
