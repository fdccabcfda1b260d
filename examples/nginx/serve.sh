#!/usr/bin/env bash
# nginx (a private configuration and prefix) with sendfile on.
# See examples/README.md, or: serve.sh --help
set -uo pipefail
SX_NAME=nginx
# shellcheck source=../common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
# SIGQUIT: graceful shutdown; the workers finish and return through exit(),
# so the shim stamps their slots in the stats file "exited".
SX_STOP_SIGNAL=QUIT

sx_prepare() {
	[ -x "$NGINX" ] || sx_die "nginx not found (toolchain/setup.sh servers)"
	local conf=$SX_DIR/nginx.conf
	sx_render "$SX_EXAMPLES/nginx/nginx.conf.in" "$conf"
	if [ -n "$SX_USER" ]; then
		sed -i "1i user $SX_USER $SX_GROUP;" "$conf"
	fi
	SX_PIDFILE=$SX_DIR/run/nginx.pid
	SX_CMD=("$NGINX" -p "$SX_DIR/" -c "$conf" -e "$SX_DIR/logs/error.log")
}

sx_main "$@"
