#!/usr/bin/env bash
# server.py: a threaded HTTP/1.1 file server whose bodies go through
# os.sendfile, run by the system's python3.
# See examples/README.md, or: serve.sh --help
set -uo pipefail
SX_NAME=python
# shellcheck source=../common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

# The system's python3 first: a python3 under a private home (pyenv, say)
# may be unreadable once the server drops to www-data.
if [ -z "${PYTHON:-}" ]; then
	PYTHON=/usr/bin/python3
	[ -x "$PYTHON" ] || PYTHON=$(command -v python3) || sx_die "python3 not found"
fi
# SIGTERM: server.py stops serving and returns from main, so the shim
# stamps its slot in the stats file "exited".
SX_STOP_SIGNAL=TERM

sx_prepare() {
	SX_PIDFILE=$SX_DIR/run/server.pid
	SX_CMD=("$PYTHON" "$SX_EXAMPLES/python/server.py" --port "$SX_PORT"
		--pidfile "$SX_PIDFILE" --errorlog "$SX_DIR/logs/error.log")
	[ -z "$SX_USER" ] || SX_CMD+=(--user "$SX_USER")
	SX_CMD+=("$SX_DOCROOT")
}

sx_main "$@"
