#!/usr/bin/env bash
# vsftpd, standalone and in the foreground: anonymous downloads from
# DOCROOT (ftp://127.0.0.1:PORT/NAME). A session is a process of its own
# that chroots into DOCROOT, drops to the ftp user, sends files with
# sendfile, and ends with _exit.
# See examples/README.md, or: serve.sh --help
set -uo pipefail
SX_NAME=vsftpd
# shellcheck source=../common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

VSFTPD=${VSFTPD:-$(command -v vsftpd || echo /usr/sbin/vsftpd)}
SX_SCHEME=ftp
# SIGTERM ends the listening process (its default action); each session
# asked to get SIGTERM when it dies (PR_SET_PDEATHSIG), so they end too.
# SX_STOP_CHILDREN waits for them.
SX_STOP_SIGNAL=TERM
SX_STOP_CHILDREN=1
SX_RENDER_KEYS="PASV_MIN PASV_MAX"

sx_prepare() {
	[ -x "$VSFTPD" ] || sx_die "vsftpd not found (toolchain/setup.sh servers)"
	local range conf=$SX_DIR/vsftpd.conf
	# 32 ports for passive data connections: vsftpd picks one at random for
	# each, and tries others when one is taken.
	range=$(sx_free_ports 32) || sx_die "no range of free ports for passive mode"
	SX_PASV_MIN=${range% *} SX_PASV_MAX=${range#* }
	sx_render "$SX_EXAMPLES/vsftpd/vsftpd.conf.in" "$conf"
	if [ "$(id -u)" -eq 0 ]; then
		id ftp >/dev/null 2>&1 || sx_die "no user 'ftp' (the vsftpd package makes it)"
		# An empty directory, not writable by the sessions: where a
		# session is chrooted before login.
		mkdir -p "$SX_DIR/empty"
		chmod 755 "$SX_DIR/empty"
		cat >>"$conf" <<EOF_CONF
# As root: sessions chroot and run as ftp, anonymous users act as ftp.
nopriv_user=ftp
ftp_username=ftp
secure_chroot_dir=$SX_DIR/empty
EOF_CONF
	else
		# As another user: no chroot and no change of user (vsftpd can do
		# neither); anonymous users act as this user.
		cat >>"$conf" <<EOF_CONF
run_as_launching_user=YES
ftp_username=$(id -un)
nopriv_user=$(id -un)
secure_chroot_dir=$SX_DIR/empty
EOF_CONF
		mkdir -p "$SX_DIR/empty"
	fi
	# vsftpd reads only a configuration file owned by the user it runs as.
	chmod 644 "$conf"
	SX_PIDFILE=$SX_DIR/run/vsftpd.pid
	# vsftpd writes no pid file: a shell writes its own pid, then execs
	# vsftpd, which keeps that pid.
	sx_cmd_with_pidfile "$VSFTPD" "$conf"
}

sx_main "$@"
