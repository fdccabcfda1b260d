/* The seccomp rules and the /proc-less mount namespace of kernel_profile.h.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#define _GNU_SOURCE
#include "kernel_profile.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif
#ifndef F_GETPIPE_SZ
#define F_GETPIPE_SZ 1032
#endif

/* A rule for one syscall on every architecture of the filter that has it:
 * libseccomp skips the architectures without it (sendfile64 and fcntl64
 * exist only on 32-bit ABIs), and a syscall no architecture of the filter
 * has is no error. */
static int rule(scmp_filter_ctx ctx, int err, int nr, unsigned n, const struct scmp_arg_cmp *cmp)
{
	int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO((uint32_t)err), nr, n, cmp);
	return rc == -EDOM || (nr < 0 && rc == -EINVAL) ? 0 : rc;
}

int sfk_install(const struct sfk_rules *r)
{
	/* Fields by name: SCMP_A3(op, 0) leaves datum_b out, which clang's
	 * -Wmissing-field-initializers refuses. */
	const struct scmp_arg_cmp count_is_0 = { .arg = 3, .op = SCMP_CMP_EQ, .datum_a = 0 };
	/* fcntl's cmd is an int: compare its low 32 bits only. */
	const struct scmp_arg_cmp get_pipe_sz = {
		.arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu, .datum_b = F_GETPIPE_SZ
	};
	const struct scmp_arg_cmp set_pipe_sz = {
		.arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu, .datum_b = F_SETPIPE_SZ
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	/* An x86_64 kernel also runs i386 programs (sendfile is syscall 187,
	 * sendfile64 239) and, if enabled, x32 ones: filter every ABI it has, or
	 * a 32-bit program would get the kernel's calls. */
	int rc = 0;
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		rc = seccomp_arch_add(ctx, SCMP_ARCH_X86);
		if (rc == 0)
			rc = seccomp_arch_add(ctx, SCMP_ARCH_X32);
	}
	const int sendfiles[] = { SCMP_SYS(sendfile), SCMP_SYS(sendfile64) };
	for (size_t i = 0; rc == 0 && r->sendfile_errno && i < sizeof sendfiles / sizeof sendfiles[0]; i++)
		rc = rule(ctx, r->sendfile_errno, sendfiles[i], r->sendfile_count_zero ? 1 : 0, &count_is_0);
	if (r->compat) {
		/* NetBSD's sys/compat/linux/arch/amd64/syscalls.master has none of
		 * these (its i386 table neither). */
		const int absent[] = { SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev), SCMP_SYS(splice),
				       SCMP_SYS(vmsplice), SCMP_SYS(tee), SCMP_SYS(copy_file_range) };
		for (size_t i = 0; rc == 0 && i < sizeof absent / sizeof absent[0]; i++)
			rc = rule(ctx, ENOSYS, absent[i], 0, NULL);
		/* Its fcntl knows the classic commands; the pipe-size ones fall
		 * through to EINVAL. */
		const int fcntls[] = { SCMP_SYS(fcntl), SCMP_SYS(fcntl64) };
		for (size_t i = 0; rc == 0 && i < sizeof fcntls / sizeof fcntls[0]; i++) {
			rc = rule(ctx, EINVAL, fcntls[i], 1, &get_pipe_sz);
			if (rc == 0)
				rc = rule(ctx, EINVAL, fcntls[i], 1, &set_pipe_sz);
		}
	}
	/* No new privileges: required to load a filter without CAP_SYS_ADMIN, and
	 * a setuid program must not escape (or be fooled by) the filter. */
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		rc = -errno;
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

int sfk_hide_proc(int *real_proc)
{
	if (real_proc)
		*real_proc = -1;
	if (unshare(CLONE_NEWNS) != 0)
		return -errno;
	/* Mounts of the outside world still arrive; ours stay here. (A change
	 * of propagation ignores the source and type: named, for valgrind.) */
	if (mount("none", "/", "none", MS_REC | MS_SLAVE, NULL) != 0)
		return -errno;
	int fd = -1;
	if (real_proc && (fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (mount("sfshim-no-proc", "/proc", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,nr_inodes=1,mode=555") != 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return -err;
	}
	if (real_proc)
		*real_proc = fd;
	return 0;
}
