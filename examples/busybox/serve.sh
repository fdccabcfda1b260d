#!/usr/bin/env bash
# BusyBox httpd in the foreground. Its bodies go through sendfile (Debian's
# busybox is built with FEATURE_USE_SENDFILE): a forked child for each
# connection sends the file and ends with _exit.
# See examples/README.md, or: serve.sh --help
set -uo pipefail
SX_NAME=busybox
# shellcheck source=../common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

BUSYBOX=${BUSYBOX:-$(command -v busybox || echo /usr/bin/busybox)}
# SIGTERM ends the listening process (its default action). The children it
# forked for connections then finish their responses by themselves:
# SX_STOP_CHILDREN waits for them, and stops those that stay.
SX_STOP_SIGNAL=TERM
SX_STOP_CHILDREN=1

sx_prepare() {
	[ -x "$BUSYBOX" ] || sx_die "busybox not found (toolchain/setup.sh servers)"
	"$BUSYBOX" --list 2>/dev/null | grep -x httpd >/dev/null || sx_die "$BUSYBOX has no httpd applet"
	# An empty configuration file: nothing of /etc/httpd.conf or of
	# DOCROOT/httpd.conf is read.
	: >"$SX_DIR/httpd.conf"
	SX_PIDFILE=$SX_DIR/run/busybox.pid
	local cmd=("$BUSYBOX" httpd -f -p "127.0.0.1:$SX_PORT" -h "$SX_DOCROOT" -c "$SX_DIR/httpd.conf")
	[ -z "$SX_USER" ] || cmd+=(-u "$SX_USER:$SX_GROUP")
	# busybox httpd writes no pid file: a shell writes its own pid, then
	# execs busybox, which keeps that pid.
	sx_cmd_with_pidfile "${cmd[@]}"
}

sx_main "$@"
