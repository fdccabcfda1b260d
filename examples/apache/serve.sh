#!/usr/bin/env bash
# Apache (the apache2 binary, a private configuration) with EnableSendfile On.
# See examples/README.md, or: serve.sh --help
set -uo pipefail
SX_NAME=apache
# shellcheck source=../common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

APACHE2=${APACHE2:-$(command -v apache2 || echo /usr/sbin/apache2)}
# SIGTERM: the parent stops its children (they exit through exit(), so the
# shim stamps their slots in the stats file "exited") and removes its pid file.
SX_STOP_SIGNAL=TERM

sx_prepare() {
	[ -x "$APACHE2" ] || sx_die "apache2 not found (toolchain/setup.sh servers)"
	local conf=$SX_DIR/apache2.conf
	sx_render "$SX_EXAMPLES/apache/apache2.conf.in" "$conf"
	if [ -n "$SX_USER" ]; then
		printf 'User %s\nGroup %s\n' "$SX_USER" "$SX_GROUP" >>"$conf"
	fi
	SX_PIDFILE=$SX_DIR/run/apache2.pid
	SX_CMD=("$APACHE2" -f "$conf" -DFOREGROUND)
}

sx_main "$@"
