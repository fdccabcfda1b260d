/* sfshim-nosendfile: run a command on a "kernel" whose sendfile(2) fails.
 *
 * A seccomp filter makes the sendfile syscall return an error, as NetBSD's
 * compat_linux does (ENOSYS), or as a sandbox does (EPERM, ...), or as
 * FreeBSD's Linux layer does for count == 0 (EINVAL).  The compat profile
 * also takes away the other calls NetBSD's layer lacks, and --no-proc its
 * /proc.  Everything above the kernel stays real: the program's own libc,
 * its own sockets and files.  The rules live in kernel_profile.c, which the
 * test harnesses share.
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
	fputs("usage: " PROG " [--profile sendfile|compat] [--errno NAME|NUMBER | --einval-unless-socket]\n"
	      "       [--no-proc] [--] COMMAND [ARGS...]\n"
	      "\n"
	      "Run COMMAND with the sendfile syscall (and sendfile64 of the 32-bit x86\n"
	      "ABI) failing, by a seccomp filter; every other syscall works as usual.\n"
	      "Every ABI of the kernel is filtered (x86_64, i386, x32).\n"
	      "\n"
	      "  --profile sendfile        only sendfile fails (the default)\n"
	      "  --profile compat          NetBSD's amd64 compat_linux: also\n"
	      "                            process_vm_readv, process_vm_writev, splice,\n"
	      "                            vmsplice, tee and copy_file_range fail with\n"
	      "                            ENOSYS, and fcntl's F_GETPIPE_SZ and\n"
	      "                            F_SETPIPE_SZ with EINVAL (netbsd: the same)\n"
	      "  --no-proc                 run COMMAND in a private mount namespace whose\n"
	      "                            /proc is empty, as where no Linux procfs is\n"
	      "                            mounted (needs root: CAP_SYS_ADMIN)\n"
	      "  --errno E                 fail every sendfile with E (default ENOSYS, as\n"
	      "                            NetBSD's compat_linux); a name such as EPERM,\n"
	      "                            EINVAL, EOPNOTSUPP, or a number 1..4095\n"
	      "  --einval-unless-socket    FreeBSD's Linux layer: fail with EINVAL when\n"
	      "                            count is 0, run other calls.  FreeBSD also\n"
	      "                            fails when out_fd is not a socket; seccomp sees\n"
	      "                            only the fd number, not its type, so that part\n"
	      "                            is not emulated\n"
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
	int err = ENOSYS, einval_unless_socket = 0, errno_given = 0, compat = 0, no_proc = 0;
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
			if (strcmp(v, "compat") == 0 || strcmp(v, "netbsd") == 0)
				compat = 1;
			else if (strcmp(v, "sendfile") == 0)
				compat = 0;
			else
				return usage_error("unknown profile (sendfile, compat)", v);
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
	if (i >= argc)
		return usage_error("no command given", NULL);
	if (einval_unless_socket)
		err = EINVAL;

	int rc;
	if (no_proc && (rc = sfk_hide_proc(NULL)) != 0) {
		fprintf(stderr, PROG ": --no-proc: cannot cover /proc in a private mount namespace: %s%s\n",
			strerror(-rc), rc == -EPERM ? " (it needs root, CAP_SYS_ADMIN)" : "");
		return 127;
	}
	struct sfk_rules rules = { .sendfile_errno = err, .sendfile_count_zero = einval_unless_socket,
				   .compat = compat };
	if ((rc = sfk_install(&rules)) != 0) {
		fprintf(stderr, PROG ": cannot install the seccomp filter: %s\n", strerror(-rc));
		return 127;
	}

	execvp(argv[i], argv + i);
	fprintf(stderr, PROG ": cannot run '%s': %s\n", argv[i], strerror(errno));
	return 127;
}
