#!/usr/bin/env bash
# uWSGI with its HTTP socket: a master and 2 worker processes. Files under /
# are uWSGI's static files (--static-map, with Range), sent with sendfile;
# /app/NAME is a Python WSGI app (app.py) whose wsgi.file_wrapper uWSGI
# sends with sendfile too.
# See examples/README.md, or: serve.sh --help
set -uo pipefail
SX_NAME=uwsgi
# shellcheck source=../common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

UWSGI=${UWSGI:-$(command -v uwsgi || echo /usr/bin/uwsgi)}
# SIGTERM with --die-on-term: the master sends SIGINT to its workers, which
# end through exit(), and then exits. (Without --die-on-term, SIGTERM makes
# uWSGI's master kill its workers and exec itself again: a reload.)
SX_STOP_SIGNAL=TERM

sx_prepare() {
	[ -x "$UWSGI" ] || sx_die "uwsgi not found (toolchain/setup.sh servers)"
	"$UWSGI" --plugin python3 --help >/dev/null 2>&1 ||
		sx_die "uWSGI's python3 plugin is missing (uwsgi-plugin-python3; toolchain/setup.sh servers)"
	# A copy in the state directory, readable once uWSGI runs as www-data.
	cp "$SX_EXAMPLES/uwsgi/app.py" "$SX_DIR/app.py"
	chmod 644 "$SX_DIR/app.py"
	SX_PIDFILE=$SX_DIR/run/uwsgi.pid
	SX_CMD=("$UWSGI" --plugin python3 --strict --need-app
		--http-socket "127.0.0.1:$SX_PORT" --master --processes 2 --die-on-term
		--static-map "/=$SX_DOCROOT" --honour-range
		--wsgi-file "$SX_DIR/app.py" --env "SX_DOCROOT=$SX_DOCROOT"
		--pidfile "$SX_PIDFILE" --logto "$SX_DIR/logs/error.log"
		# No log line per request (they say "via sendfile()"): the log
		# keeps uWSGI's messages and errors.
		--disable-logging)
	# No --offload-threads: uWSGI 2.0.21's offload thread sends 128 KiB
	# from the start of a Range whatever its length (strace: bytes=100-199
	# answered with sendfile(..., 131072) = 131072), so a client reads
	# bytes past the range.
	[ -z "$SX_USER" ] || SX_CMD+=(--uid "$SX_USER" --gid "$SX_GROUP")
}

sx_main "$@"
