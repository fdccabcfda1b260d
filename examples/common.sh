# shellcheck shell=bash
# Shared by examples/*/serve.sh: options, a free port, the shim's launchers,
# the generated configuration, and a supervisor that always stops the server.
# Sourced (bash), not run.  Each serve.sh sets:
#   SX_NAME                 the server's name, for messages and the state dir
#   sx_prepare              function: write the configuration into $SX_DIR
#   SX_CMD=(...)            set by sx_prepare: the server in the foreground
#   SX_PIDFILE              set by sx_prepare: the pid file the server writes
#   SX_STOP_SIGNAL          the signal that stops the server gracefully
# and may set:
#   SX_SCHEME               the URL's scheme (default http; ftp for vsftpd)
#   SX_STOP_CHILDREN=1      at a stop, also wait for the main process's
#                           children and descendants (and stop those that
#                           stay): for servers whose children outlive it
#   SX_RENDER_KEYS          more @KEY@s for sx_render, from SX_KEY variables
# and then calls: sx_main "$@"
#
# Environment: SFSHIM and SFSHIM_NOSENDFILE name the launchers (default: the
# first build/bin, build-run/bin of this repository, or PATH); SFSHIM_LIBRARY
# is passed on to the sfshim launcher.

SX_EXAMPLES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SX_ROOT=$(cd "$SX_EXAMPLES/.." && pwd)

sx_die() { echo "serve.sh ($SX_NAME): $*" >&2; exit 1; }
sx_say() { [ -n "$SX_QUIET" ] || echo "serve.sh ($SX_NAME): $*" >&2; }

sx_usage() {
	cat <<EOF
usage: $SX_NAME/serve.sh [OPTIONS] DOCROOT     serve DOCROOT (foreground; Ctrl-C stops)
       $SX_NAME/serve.sh --background [OPTIONS] DOCROOT
                                            start, print the URL, return
       $SX_NAME/serve.sh --stop DIR            stop a server started with --dir DIR

Runs $SX_NAME with sendfile on, on 127.0.0.1, through the sfshim launcher in a
kernel whose sendfile syscall fails with ENOSYS (sfshim --no-kernel-sendfile).

  --no-shim       no shim (still in the no-sendfile kernel): see the failure
  --kernel        the normal kernel (the shim passes calls through to it)
  --mode M        the shim's mode: auto (default), emulate, mmap, rw, native
  --log LEVEL     the shim's log (error, warn, info, debug), to the server's stderr
  --port N        listen on port N (default: a free port from the system)
  --dir DIR       state directory: configuration, logs, pid files, shim stats
                  (default: a new directory under /tmp, removed at exit in
                  the foreground, kept in the background)
  --strace FILE   run the server under strace -f -e trace=sendfile (to FILE)
  --lifetime S    stop the server after S seconds whatever happens
  --quiet         no messages on stderr
  --background    start it, print the URL when it answers, and return

The URL is printed on stdout, and written to DIR/url (port: DIR/port).  The
shim counts in DIR/stats/sfshim.PID.stats (PID: the process that loaded it;
its forked children count there too), live, however the processes end; read
them with: sfshim stats [--json] DIR/stats/*.stats.  The server's own logs
are in DIR/logs.  As root the server drops to an unprivileged user
(www-data; vsftpd: ftp): DOCROOT must be readable by it.
EOF
}

# A free TCP port on 127.0.0.1, from the system (bind port 0, read it back).
sx_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# N consecutive free TCP ports on 127.0.0.1 ("FIRST LAST"): a free port from
# the system, and the N - 1 above it free too (binds each; tries 50 times).
sx_free_ports() {
	python3 - "$1" <<'EOF_PY'
import socket, sys
n = int(sys.argv[1])
for _ in range(50):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    first = s.getsockname()[1]
    s.close()
    if first + n - 1 > 65535:
        continue
    held, ok = [], True
    for port in range(first, first + n):
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", port))
            held.append(t)
        except OSError:
            t.close()
            ok = False
            break
    for t in held:
        t.close()
    if ok:
        print(first, first + n - 1)
        sys.exit(0)
sys.exit("no %d free ports in a row" % n)
EOF_PY
}

# SX_CMD=(/bin/sh ... CMD...): for a server that writes no pid file, a shell
# that writes its own pid to $SX_PIDFILE and then execs CMD (same pid). It
# runs no other program, so no other process loads the shim.
sx_cmd_with_pidfile() {
	# shellcheck disable=SC2016 # $$ and $@ are the inner shell's.
	SX_CMD=(/bin/sh -c 'echo $$ >"$0" && exec "$@"' "$SX_PIDFILE" "$@")
}

# True when something accepts connections on 127.0.0.1:$1.
sx_port_open() {
	python3 -c 'import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}

# The launchers: $SFSHIM, or next to each other in a build of this repository.
sx_find_launchers() {
	local d
	if [ -z "${SFSHIM:-}" ]; then
		for d in "$SX_ROOT/build/bin" "$SX_ROOT/build-run/bin"; do
			[ -x "$d/sfshim" ] && { SFSHIM=$d/sfshim; break; }
		done
		[ -n "${SFSHIM:-}" ] || SFSHIM=$(command -v sfshim) ||
			sx_die "sfshim not found: build the project or set SFSHIM"
	fi
	if [ -z "${SFSHIM_NOSENDFILE:-}" ]; then
		SFSHIM_NOSENDFILE=$(dirname "$SFSHIM")/sfshim-nosendfile
		[ -x "$SFSHIM_NOSENDFILE" ] || SFSHIM_NOSENDFILE=$(command -v sfshim-nosendfile) ||
			sx_die "sfshim-nosendfile not found: set SFSHIM_NOSENDFILE"
	fi
}

# Replace @KEY@ in template $1 by the values of SX_KEY variables; write $2.
sx_render() {
	local args=() k
	for k in PORT DOCROOT DIR USER GROUP ${SX_RENDER_KEYS:-}; do
		local v="SX_$k"
		# Escape for sed's replacement: \ & and the | delimiter.
		local val=${!v}
		val=${val//\\/\\\\}
		val=${val//&/\\&}
		val=${val//|/\\|}
		args+=(-e "s|@$k@|$val|g")
	done
	sed "${args[@]}" "$1" >"$2"
}

sx_parse() {
	SX_SHIM=1 SX_KERNEL='' SX_MODE='' SX_LOG='' SX_PORT='' SX_DIR='' SX_STRACE=''
	SX_LIFETIME='' SX_QUIET='' SX_BACKGROUND='' SX_STOP='' SX_SUPERVISE='' SX_DOCROOT=''
	while [ $# -gt 0 ]; do
		case $1 in
		--no-shim) SX_SHIM='' ;;
		--kernel) SX_KERNEL=1 ;;
		--mode) SX_MODE=${2:?--mode needs a value}; shift ;;
		--log) SX_LOG=${2:?--log needs a value}; shift ;;
		--port) SX_PORT=${2:?--port needs a value}; shift ;;
		--dir) SX_DIR=${2:?--dir needs a value}; shift ;;
		--strace) SX_STRACE=${2:?--strace needs a file}; shift ;;
		--lifetime) SX_LIFETIME=${2:?--lifetime needs seconds}; shift ;;
		--quiet) SX_QUIET=1 ;;
		--background) SX_BACKGROUND=1 ;;
		--stop) SX_STOP=${2:?--stop needs the state directory}; shift ;;
		--supervise) SX_SUPERVISE=1 ;; # internal: the detached foreground
		-h | --help) sx_usage; exit 0 ;;
		--) shift; break ;;
		-*) sx_die "unknown option '$1' (try --help)" ;;
		*) break ;;
		esac
		shift
	done
	[ -n "$SX_STOP" ] && return
	[ $# -eq 1 ] || sx_die "one DOCROOT expected (try --help)"
	[ -d "$1" ] || sx_die "no such directory: $1"
	SX_DOCROOT=$(cd "$1" && pwd)
	case $SX_DOCROOT in *[\"\ ]*) sx_die "DOCROOT with a space or quote: $SX_DOCROOT" ;; esac
}

# A process that is gone, or a zombie nobody reaped yet.
sx_gone() {
	local st
	[ -r "/proc/$1/stat" ] || return 0
	st=$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 0
	[ "$st" = Z ] || [ -z "$st" ]
}

# Wait up to $2 seconds for process $1 to be gone.
sx_wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		sx_gone "$1" && return 0
		sleep 0.1
	done
	return 1
}

# --stop DIR: ask the supervisor to stop the server, and wait for both.
sx_stop_dir() {
	local dir=$1 pid
	[ -f "$dir/supervisor.pid" ] || { sx_say "nothing to stop in $dir"; return 0; }
	pid=$(cat "$dir/supervisor.pid")
	if ! sx_gone "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		# The supervisor waits up to 30 s for the server, then kills it.
		sx_wait_gone "$pid" 40 || { kill -KILL "$pid" 2>/dev/null; sx_say "supervisor $pid killed"; }
	fi
	# Whatever happened, no server outlives --stop.
	if [ -f "$dir/server.pid" ]; then
		pid=$(cat "$dir/server.pid")
		sx_gone "$pid" || { kill -KILL "$pid" 2>/dev/null; sx_say "server $pid killed"; }
	fi
	rm -f "$dir/supervisor.pid"
}

# The server's main process: from its own pid file (it may run under strace).
sx_server_pid() {
	local pid
	pid=$(cat "$SX_PIDFILE" 2>/dev/null) && [ -n "$pid" ] && ! sx_gone "$pid" && { echo "$pid"; return; }
	echo "$SX_CHILD"
}

# The descendants of process $1, as "PID:STARTTIME" (the start time tells a
# process from a later one with the same pid).
sx_descendants() {
	local kid
	for kid in $(pgrep -P "$1" 2>/dev/null); do
		echo "$kid:$(sx_start_time "$kid")"
		sx_descendants "$kid"
	done
}
sx_start_time() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}
# True while the process PID:STARTTIME of sx_descendants is there.
sx_still() {
	! sx_gone "${1%%:*}" && [ "$(sx_start_time "${1%%:*}")" = "${1#*:}" ]
}

# SX_STOP_CHILDREN: wait up to 10 s for the descendants listed in $@ (that
# the server's main process left behind when it stopped), then SIGTERM
# those still there, and SIGKILL them 5 s later.
sx_stop_leftovers() {
	local p i left
	for ((i = 0; i < 100; i++)); do
		left=''
		for p in "$@"; do sx_still "$p" && left=1; done
		[ -n "$left" ] || return 0
		sleep 0.1
	done
	for p in "$@"; do sx_still "$p" && kill -TERM "${p%%:*}" 2>/dev/null; done
	for ((i = 0; i < 50; i++)); do
		left=''
		for p in "$@"; do sx_still "$p" && left=1; done
		[ -n "$left" ] || break
		sleep 0.1
	done
	for p in "$@"; do
		sx_still "$p" && { kill -KILL "${p%%:*}" 2>/dev/null; sx_say "process ${p%%:*} killed"; }
	done
	return 0
}

SX_CHILD='' SX_STOPPING=''
sx_stop_child() {
	[ -n "$SX_CHILD" ] && [ -z "$SX_STOPPING" ] || return 0
	SX_STOPPING=1
	local pid kids=()
	pid=$(sx_server_pid)
	echo "$pid" >"$SX_DIR/server.pid"
	[ -z "${SX_STOP_CHILDREN:-}" ] || mapfile -t kids < <(sx_descendants "$pid")
	kill "-$SX_STOP_SIGNAL" "$pid" 2>/dev/null
	if ! sx_wait_gone "$SX_CHILD" 30; then
		sx_say "$SX_NAME did not stop on SIG$SX_STOP_SIGNAL in 30 s: killing it"
		# Its worker processes first (by parent pid), then itself.
		kill -KILL $(pgrep -P "$pid" 2>/dev/null) 2>/dev/null
		kill -KILL "$pid" "$SX_CHILD" 2>/dev/null
	fi
	wait "$SX_CHILD" 2>/dev/null
	[ ${#kids[@]} -eq 0 ] || sx_stop_leftovers "${kids[@]}"
	[ -z "$SX_WATCHDOG" ] || kill "$SX_WATCHDOG" 2>/dev/null
	sx_say "stopped"
}

# Run the server as a child and stay with it until it exits or we are told
# to stop: on TERM, INT, HUP or exit, stop it gracefully, wait, and kill it
# if it hangs.
sx_supervise() {
	local wrap=() tries=0 port_fixed=$SX_PORT
	SX_WATCHDOG=''
	if [ -n "$SX_SHIM" ]; then
		wrap=("$SFSHIM" --quiet --stats="$SX_DIR/stats/sfshim.%p.stats")
		[ -z "$SX_MODE" ] || wrap+=(--mode "$SX_MODE")
		[ -z "$SX_LOG" ] || wrap+=(--log="$SX_LOG")
		[ -n "$SX_KERNEL" ] || wrap+=(--no-kernel-sendfile)
		wrap+=(--)
	elif [ -z "$SX_KERNEL" ]; then
		wrap=("$SFSHIM_NOSENDFILE" --)
	fi
	[ -z "$SX_STRACE" ] || wrap=(strace -f -qq -e trace=sendfile -o "$SX_STRACE" "${wrap[@]}")

	trap sx_stop_child EXIT
	trap 'sx_stop_child; exit 0' TERM INT HUP
	while :; do
		[ -n "$SX_PORT" ] || SX_PORT=$(sx_free_port)
		SX_CMD=()
		sx_prepare
		rm -f "$SX_PIDFILE"
		"${wrap[@]}" "${SX_CMD[@]}" &
		SX_CHILD=$!
		local i ok=''
		for ((i = 0; i < 150; i++)); do
			sx_gone "$SX_CHILD" && break
			sx_port_open "$SX_PORT" && [ -s "$SX_PIDFILE" ] && { ok=1; break; }
			sleep 0.1
		done
		[ -n "$ok" ] && break
		if ! sx_gone "$SX_CHILD"; then
			sx_stop_child
			sx_die "$SX_NAME did not answer on port $SX_PORT in 15 s (logs: $SX_DIR/logs)"
		fi
		wait "$SX_CHILD"
		SX_CHILD=''
		# Someone took the free port between our look and the server's bind?
		tries=$((tries + 1))
		[ -z "$port_fixed" ] && [ $tries -lt 3 ] ||
			sx_die "$SX_NAME exited at start (logs: $SX_DIR/logs, console: $SX_DIR/console.log)"
		SX_PORT=''
	done
	echo "$SX_PORT" >"$SX_DIR/port"
	echo "${SX_SCHEME:-http}://127.0.0.1:$SX_PORT/" >"$SX_DIR/url.tmp"
	mv "$SX_DIR/url.tmp" "$SX_DIR/url"
	sx_server_pid >"$SX_DIR/server.pid"
	local how="through sfshim"
	[ -n "$SX_SHIM" ] || how="without the shim"
	if [ -n "$SX_KERNEL" ]; then how="$how, normal kernel"; else how="$how, sendfile syscall -> ENOSYS"; fi
	sx_say "$SX_NAME serves $SX_DOCROOT at $(cat "$SX_DIR/url") ($how; state in $SX_DIR)"
	[ -n "$SX_BACKGROUND" ] || cat "$SX_DIR/url"
	if [ -n "$SX_LIFETIME" ]; then
		sleep "$SX_LIFETIME" &
		SX_WATCHDOG=$!
		wait -n "$SX_CHILD" "$SX_WATCHDOG"
		if ! sx_gone "$SX_CHILD"; then
			sx_say "lifetime of $SX_LIFETIME s over"
			sx_stop_child
			return 0
		fi
	fi
	wait "$SX_CHILD"
	local rc=$?
	[ -n "$SX_STOPPING" ] || sx_say "$SX_NAME exited by itself (status $rc)"
	SX_STOPPING=1
	[ -z "$SX_WATCHDOG" ] || kill "$SX_WATCHDOG" 2>/dev/null
	return 0
}

sx_main() {
	sx_parse "$@"
	if [ -n "$SX_STOP" ]; then
		sx_stop_dir "$SX_STOP"
		return
	fi
	command -v python3 >/dev/null || sx_die "python3 is needed (free port, readiness check)"
	sx_find_launchers
	local own_dir=''
	if [ -z "$SX_DIR" ]; then
		SX_DIR=$(mktemp -d "/tmp/sfshim-$SX_NAME.XXXXXX")
		own_dir=1
	fi
	mkdir -p "$SX_DIR" "$SX_DIR/logs" "$SX_DIR/stats" "$SX_DIR/run"
	SX_DIR=$(cd "$SX_DIR" && pwd)
	case $SX_DIR in *[\"\ ]*) sx_die "state dir with a space or quote: $SX_DIR" ;; esac
	SX_USER='' SX_GROUP=''
	if [ "$(id -u)" -eq 0 ] && id www-data >/dev/null 2>&1; then
		SX_USER=www-data SX_GROUP=www-data
		chmod 755 "$SX_DIR"
		# lighttpd writes its logs as www-data. (The stats files are made by
		# the server's first process, as root, before it drops privileges.)
		chown www-data:www-data "$SX_DIR/stats" "$SX_DIR/logs"
	fi

	if [ -n "$SX_BACKGROUND" ] && [ -z "$SX_SUPERVISE" ]; then
		local args=(--supervise --dir "$SX_DIR")
		[ -n "$SX_SHIM" ] || args+=(--no-shim)
		[ -z "$SX_KERNEL" ] || args+=(--kernel)
		[ -z "$SX_MODE" ] || args+=(--mode "$SX_MODE")
		[ -z "$SX_LOG" ] || args+=(--log "$SX_LOG")
		[ -z "$SX_PORT" ] || args+=(--port "$SX_PORT")
		[ -z "$SX_STRACE" ] || args+=(--strace "$SX_STRACE")
		[ -z "$SX_LIFETIME" ] || args+=(--lifetime "$SX_LIFETIME")
		[ -z "$SX_QUIET" ] || args+=(--quiet)
		rm -f "$SX_DIR/url"
		SFSHIM=$SFSHIM SFSHIM_NOSENDFILE=$SFSHIM_NOSENDFILE \
			setsid "${BASH:-bash}" "$0" "${args[@]}" -- "$SX_DOCROOT" </dev/null >"$SX_DIR/console.log" 2>&1 &
		local sup=$! i
		echo "$sup" >"$SX_DIR/supervisor.pid"
		for ((i = 0; i < 500; i++)); do
			[ -s "$SX_DIR/url" ] && break
			sx_gone "$sup" && break
			sleep 0.1
		done
		if [ ! -s "$SX_DIR/url" ]; then
			sx_stop_dir "$SX_DIR"
			cat "$SX_DIR/console.log" >&2
			sx_die "could not start $SX_NAME (state in $SX_DIR)"
		fi
		sx_say "started in the background; stop it with: $0 --stop $SX_DIR"
		cat "$SX_DIR/url"
		return 0
	fi
	if [ -n "$SX_SUPERVISE" ]; then
		echo $$ >"$SX_DIR/supervisor.pid"
		sx_supervise
	else
		[ -z "$own_dir" ] || trap 'rm -rf "$SX_DIR"' EXIT
		(sx_supervise)
		if [ -z "$SX_QUIET" ] && compgen -G "$SX_DIR/stats/*.stats" >/dev/null; then
			# (The files of processes that never called sendfile say so: left out.)
			"$SFSHIM" stats "$SX_DIR"/stats/*.stats 2>&1 |
				grep -v ': no process has called sendfile yet$' >&2
		fi
	fi
}
