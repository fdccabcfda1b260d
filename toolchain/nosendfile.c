/* sfshim-nosendfile: run a command on a "kernel" whose sendfile(2) fails.
 *
 * A seccomp filter makes the sendfile syscall return an error, as NetBSD's
 * compat_linux does (ENOSYS), or as a sandbox does (EPERM, ...).  The
 * netbsd (compat) profile also takes away the other calls NetBSD's layer
 * lacks, and --no-proc its /proc.  The freebsd profile plays FreeBSD's
 * Linux layer: a supervisor process performs each sendfile as FreeBSD's
 * kernel does, the bytes a failing call moved included; the illumos-lx
 * profile plays illumos's LX brand the same way.  Everything above
 * the kernel stays real: the program's own libc, its own sockets and files.
 * The rules live in kernel_profile.c, which the test harnesses share.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel_profile.h"

#define PROG "sfshim-nosendfile"

static const struct {
	const char *name;
	int value;
} errnos[] = {
	{ "ENOSYS", ENOSYS },	    { "EPERM", EPERM },	    { "EINVAL", EINVAL },
	{ "EACCES", EACCES },	    { "EBADF", EBADF },	    { "EFAULT", EFAULT },
	{ "EIO", EIO },		    { "EAGAIN", EAGAIN },   { "ENOMEM", ENOMEM },
	{ "ENOTSOCK", ENOTSOCK },   { "ESPIPE", ESPIPE },   { "EOVERFLOW", EOVERFLOW },
	{ "EOPNOTSUPP", EOPNOTSUPP }, { "ENOTSUP", ENOTSUP },
};

static void usage(FILE *f)
{
	fputs("usage: " PROG " [--profile sendfile|netbsd|compat|freebsd|illumos-lx]\n"
	      "       [--errno NAME|NUMBER | --einval-unless-socket] [--real-uname]\n"
	      "       [--lx-2015] [--lx-eof-zero] [--netbsd-uname] [--no-proc] [--] COMMAND [ARGS...]\n"
	      "\n"
	      "Run COMMAND with the sendfile syscall (and sendfile64 of the 32-bit x86\n"
	      "ABI) failing, by a seccomp filter, or behaving as a BSD's Linux layer\n"
	      "makes it behave; every other syscall works as usual. Every ABI of the\n"
	      "kernel is filtered (x86_64, i386, x32).\n"
	      "\n"
	      "  --profile sendfile        only sendfile fails (the default)\n"
	      "  --profile netbsd          NetBSD's amd64 compat_linux: also\n"
	      "                            process_vm_readv, process_vm_writev, splice,\n"
	      "                            vmsplice, tee and copy_file_range fail with\n"
	      "                            ENOSYS, fcntl's F_GETPIPE_SZ and F_SETPIPE_SZ\n"
	      "                            with EOPNOTSUPP, and rt_sigprocmask with an\n"
	      "                            invalid how with EINVAL before it reads the\n"
	      "                            set (compat: the same)\n"
	      "  --profile freebsd         FreeBSD's linuxulator: a supervisor process\n"
	      "                            performs each sendfile as FreeBSD's kernel\n"
	      "                            does: from a regular file (or memfd) into a\n"
	      "                            connected stream socket only (EINVAL for\n"
	      "                            other outputs, for count 0 and for a negative\n"
	      "                            offset), and a call that moved bytes and then\n"
	      "                            met a full non-blocking socket (EAGAIN) or a\n"
	      "                            signal (EINTR, even under SA_RESTART) fails\n"
	      "                            with those bytes sent and the offset unmoved.\n"
	      "                            process_vm_readv, process_vm_writev, tee,\n"
	      "                            vmsplice, preadv2, pwritev2, the pidfd and\n"
	      "                            io_uring calls fail with ENOSYS, splice and\n"
	      "                            fcntl's pipe sizes with EINVAL, rt_sigprocmask\n"
	      "                            with an invalid how with EINVAL. uname's\n"
	      "                            version says \"FreeBSD ...\"; FIONREAD on a\n"
	      "                            pipe's write end gives 0; poll of a pipe's\n"
	      "                            write end whose reader is gone gives POLLOUT\n"
	      "                            and POLLHUP, not POLLERR; opening\n"
	      "                            /proc/self/fd/N duplicates descriptor N.\n"
	      "                            Needs Linux 5.9; with --no-proc a signal under\n"
	      "                            SA_RESTART restarts the call instead of giving\n"
	      "                            EINTR\n"
	      "  --profile illumos-lx      illumos's LX brand: a supervisor process\n"
	      "                            performs each sendfile as lx_sendfile64 and\n"
	      "                            illumos's sendfilev do: into a socket or a\n"
	      "                            regular file (EINVAL for other outputs), from a\n"
	      "                            regular file, count 0 gives 0, the count taken\n"
	      "                            modulo 2^32; a call that moved bytes and then\n"
	      "                            met EAGAIN, a signal or EPIPE fails with those\n"
	      "                            bytes moved and the offset unmoved; into a\n"
	      "                            file, the input's end gives EINVAL after the\n"
	      "                            bytes were written. uname's version says\n"
	      "                            \"BrandZ virtual linux\"; process_vm_readv and\n"
	      "                            process_vm_writev fail with ENOSYS,\n"
	      "                            rt_sigprocmask with an invalid how with EINVAL\n"
	      "  --netbsd-uname            netbsd: uname says NetBSD's default release\n"
	      "                            (3.11.6) and version (\"#1 SMP PREEMPT Thu Oct\n"
	      "                            24 16:23:02 UTC 2013\"), answered by a\n"
	      "                            supervisor process\n"
	      "  --real-uname              freebsd, illumos-lx: uname answers as Linux's\n"
	      "                            does (only a sendfile tells the layer)\n"
	      "  --lx-2015                 illumos-lx: the 2015 emulation library's fcntl:\n"
	      "                            F_GETPIPE_SZ and F_SETPIPE_SZ fail with ENOSYS\n"
	      "  --lx-eof-zero             illumos-lx: the 2020 fix: into a file, the\n"
	      "                            input's end gives the bytes written (0 at it)\n"
	      "                            instead of EINVAL\n"
	      "  --no-proc                 run COMMAND in a private mount namespace whose\n"
	      "                            /proc is empty, as where no Linux procfs is\n"
	      "                            mounted (needs root: CAP_SYS_ADMIN)\n"
	      "  --errno E                 fail every sendfile with E (default ENOSYS, as\n"
	      "                            NetBSD's compat_linux); a name such as EPERM,\n"
	      "                            EINVAL, EOPNOTSUPP, or a number 1..4095\n"
	      "  --einval-unless-socket    an errno-only sketch of FreeBSD's layer: fail\n"
	      "                            with EINVAL when count is 0 and run every other\n"
	      "                            call on Linux's own sendfile (seccomp sees the\n"
	      "                            descriptors' numbers, not their kinds);\n"
	      "                            --profile freebsd plays the layer itself\n"
	      "  --help                    show this help\n"
	      "\n"
	      "Exit status: COMMAND's, 127 if it cannot be run, 2 for a usage error.\n",
	      f);
}

static int usage_error(const char *msg, const char *arg)
{
	if (arg)
		fprintf(stderr, PROG ": %s '%s' (try --help)\n", msg, arg);
	else
		fprintf(stderr, PROG ": %s (try --help)\n", msg);
	return 2;
}

/* A name from the table, or a decimal number the kernel accepts as an errno. */
static int parse_errno(const char *s)
{
	for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
		if (strcmp(s, errnos[i].name) == 0)
			return errnos[i].value;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 4095)
		return -1;
	return (int)v;
}

int main(int argc, char **argv)
{
	int err = ENOSYS, einval_unless_socket = 0, errno_given = 0, compat = 0, freebsd = 0, no_proc = 0;
	int illumos = 0, real_uname = 0, lx_2015 = 0, lx_eof_zero = 0, netbsd_uname = 0;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--profile") == 0 || strncmp(a, "--profile=", 10) == 0) {
			const char *v = a[9] == '=' ? a + 10 : argv[++i];
			if (!v)
				return usage_error("--profile needs a value", NULL);
			compat = freebsd = illumos = 0;
			if (strcmp(v, "compat") == 0 || strcmp(v, "netbsd") == 0)
				compat = 1;
			else if (strcmp(v, "freebsd") == 0)
				freebsd = 1;
			else if (strcmp(v, "illumos-lx") == 0)
				illumos = 1;
			else if (strcmp(v, "sendfile") != 0)
				return usage_error("unknown profile (sendfile, netbsd, compat, freebsd, illumos-lx)", v);
		} else if (strcmp(a, "--real-uname") == 0) {
			real_uname = 1;
		} else if (strcmp(a, "--netbsd-uname") == 0) {
			netbsd_uname = 1;
		} else if (strcmp(a, "--lx-2015") == 0) {
			lx_2015 = 1;
		} else if (strcmp(a, "--lx-eof-zero") == 0) {
			lx_eof_zero = 1;
		} else if (strcmp(a, "--no-proc") == 0) {
			no_proc = 1;
		} else if (strcmp(a, "--einval-unless-socket") == 0) {
			einval_unless_socket = 1;
		} else if (strcmp(a, "--errno") == 0 || strncmp(a, "--errno=", 8) == 0) {
			const char *v = a[7] == '=' ? a + 8 : argv[++i];
			if (!v)
				return usage_error("--errno needs a value", NULL);
			if ((err = parse_errno(v)) < 0)
				return usage_error("unknown errno", v);
			errno_given = 1;
		} else {
			return usage_error("unknown option", a);
		}
	}
	if (errno_given && einval_unless_socket)
		return usage_error("--errno and --einval-unless-socket exclude each other", NULL);
	int layer = freebsd || illumos;
	if (layer && (errno_given || einval_unless_socket))
		return usage_error("--profile freebsd and illumos-lx decide sendfile's results themselves: no "
				   "--errno or --einval-unless-socket with them", NULL);
	if (real_uname && !layer)
		return usage_error("--real-uname is for --profile freebsd or illumos-lx", NULL);
	if (netbsd_uname && !compat)
		return usage_error("--netbsd-uname is for --profile netbsd (compat)", NULL);
	if ((lx_2015 || lx_eof_zero) && !illumos)
		return usage_error("--lx-2015 and --lx-eof-zero are for --profile illumos-lx", NULL);
	if (i >= argc)
		return usage_error("no command given", NULL);
	if (einval_unless_socket)
		err = EINVAL;

	/* The filter first, /proc second: the layers' supervisor,
	 * started by sfk_install, stays in this mount namespace, where it reads
	 * the program's signals from /proc; the program goes on without. */
	struct sfk_rules rules = { .sendfile_errno = layer ? 0 : err,
				   .sendfile_count_zero = einval_unless_socket,
				   .compat = compat,
				   .freebsd = freebsd,
				   .illumos = illumos,
				   .real_uname = real_uname,
				   .illumos_2015 = lx_2015,
				   .illumos_eof_zero = lx_eof_zero,
				   .compat_uname = netbsd_uname };
	int rc;
	if ((rc = sfk_install(&rules)) != 0) {
		fprintf(stderr, PROG ": cannot install the seccomp filter: %s%s\n", strerror(-rc),
			layer ? " (the freebsd and illumos-lx profiles need Linux 5.9 or newer)" : "");
		return 127;
	}
	if (no_proc && (rc = sfk_hide_proc(NULL)) != 0) {
		fprintf(stderr, PROG ": --no-proc: cannot cover /proc in a private mount namespace: %s%s\n",
			strerror(-rc), rc == -EPERM ? " (it needs root, CAP_SYS_ADMIN)" : "");
		return 127;
	}

	execvp(argv[i], argv + i);
	fprintf(stderr, PROG ": cannot run '%s': %s\n", argv[i], strerror(errno));
	return 127;
}
