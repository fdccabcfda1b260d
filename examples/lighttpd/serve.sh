#!/usr/bin/env bash
# lighttpd (a private configuration) with its sendfile network backend.
# See examples/README.md, or: serve.sh --help
set -uo pipefail
SX_NAME=lighttpd
# shellcheck source=../common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

LIGHTTPD=${LIGHTTPD:-$(command -v lighttpd || echo /usr/sbin/lighttpd)}
# SIGINT: graceful shutdown (finish the requests); main() returns, so the
# shim stamps its slot in the stats file "exited".
SX_STOP_SIGNAL=INT

sx_prepare() {
	[ -x "$LIGHTTPD" ] || sx_die "lighttpd not found (toolchain/setup.sh servers)"
	local conf=$SX_DIR/lighttpd.conf
	sx_render "$SX_EXAMPLES/lighttpd/lighttpd.conf.in" "$conf"
	if [ -n "$SX_USER" ]; then
		printf 'server.username = "%s"\nserver.groupname = "%s"\n' "$SX_USER" "$SX_GROUP" >>"$conf"
	fi
	SX_PIDFILE=$SX_DIR/run/lighttpd.pid
	SX_CMD=("$LIGHTTPD" -D -f "$conf")
}

sx_main "$@"
