/* sfshim-nosendfile: run a command on a "kernel" whose sendfile(2) fails.
 *
 * A seccomp filter makes the sendfile syscall return an error, as NetBSD's
 * compat_linux does (ENOSYS), or as a sandbox does (EPERM, ...), or as
 * FreeBSD's Linux layer does for count == 0 (EINVAL).  Everything above the
 * kernel stays real: the program's own libc, its own sockets and files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

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
	fputs("usage: " PROG " [--errno NAME|NUMBER | --einval-unless-socket] [--] COMMAND [ARGS...]\n"
	      "\n"
	      "Run COMMAND with the sendfile syscall (and sendfile64 of the 32-bit x86\n"
	      "ABI) failing, by a seccomp filter; every other syscall works as usual.\n"
	      "\n"
	      "  --errno E                 fail every call with E (default ENOSYS, as\n"
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

/* Add a rule for one syscall on every architecture of the filter that has it. */
static int block(scmp_filter_ctx ctx, uint32_t action, int nr, int count_zero_only)
{
	/* count is argument 3.  Fields by name: SCMP_A3(op, 0) leaves datum_b
	 * out, which clang's -Wmissing-field-initializers refuses. */
	const struct scmp_arg_cmp count_is_0 = { .arg = 3, .op = SCMP_CMP_EQ, .datum_a = 0 };
	if (count_zero_only)
		return seccomp_rule_add(ctx, action, nr, 1, count_is_0);
	return seccomp_rule_add(ctx, action, nr, 0);
}

int main(int argc, char **argv)
{
	int err = ENOSYS, einval_unless_socket = 0, errno_given = 0;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
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

	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		fprintf(stderr, PROG ": seccomp_init failed\n");
		return 127;
	}
	/* An x86_64 kernel also runs i386 programs (sendfile is syscall 187,
	 * sendfile64 239) and, if enabled, x32 ones: filter every ABI it has, or
	 * a 32-bit program would get the kernel's sendfile. */
	int rc = 0;
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		rc = seccomp_arch_add(ctx, SCMP_ARCH_X86);
		if (rc == 0)
			rc = seccomp_arch_add(ctx, SCMP_ARCH_X32);
	}
	/* sendfile64 exists only on 32-bit ABIs; libseccomp skips the others. */
	if (rc == 0)
		rc = block(ctx, SCMP_ACT_ERRNO((uint32_t)err), SCMP_SYS(sendfile), einval_unless_socket);
	if (rc == 0)
		rc = block(ctx, SCMP_ACT_ERRNO((uint32_t)err), SCMP_SYS(sendfile64), einval_unless_socket);
	/* No new privileges: required to load a filter without CAP_SYS_ADMIN, and a
	 * setuid program must not escape (or be fooled by) the filter. */
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		rc = -errno;
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		fprintf(stderr, PROG ": cannot install the seccomp filter: %s\n", strerror(-rc));
		return 127;
	}

	execvp(argv[i], argv + i);
	fprintf(stderr, PROG ": cannot run '%s': %s\n", argv[i], strerror(errno));
	return 127;
}
