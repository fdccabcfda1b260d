/* The kernels sfshim is tested against, played on Linux: one place for the
 * seccomp rules of sfshim-nosendfile and of the test harnesses.
 *
 *   sendfile refused     sendfile (and i386's sendfile64) fail with an errno,
 *                        always or only when count == 0 (FreeBSD's layer)
 *   the compat profile   NetBSD's amd64 compat_linux: besides sendfile,
 *                        process_vm_readv/writev, splice, vmsplice, tee and
 *                        copy_file_range fail with ENOSYS, and fcntl's
 *                        F_GETPIPE_SZ / F_SETPIPE_SZ with EINVAL
 *   no /proc             a private mount namespace whose /proc is an empty
 *                        read-only tmpfs (root needed)
 *
 * Every ABI the kernel runs is filtered: on x86_64 also i386 and x32.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SFSHIM_KERNEL_PROFILE_H
#define SFSHIM_KERNEL_PROFILE_H

#ifdef __cplusplus
extern "C" {
#endif

struct sfk_rules {
	int sendfile_errno;	 /* 0: sendfile works; else the errno it fails with */
	int sendfile_count_zero; /* only calls with count == 0 fail */
	int compat;		 /* NetBSD compat_linux's other refusals */
};

/* Loads the filter into this process (and everything it starts; it cannot
 * be undone) with no_new_privs set. 0, or a negative errno. */
int sfk_install(const struct sfk_rules *rules);

/* Moves this process into a private mount namespace (mounts made outside
 * still arrive, none made here leave) and mounts an empty read-only tmpfs
 * over /proc. 0, or a negative errno (-EPERM without CAP_SYS_ADMIN).
 * When real_proc is not NULL it receives, before /proc is covered, an
 * O_PATH descriptor of the real /proc, for a test harness's observations
 * (openat(*real_proc, "self/fd/3", ...)); the program under test has no
 * path to it. */
int sfk_hide_proc(int *real_proc);

#ifdef __cplusplus
}
#endif

#endif
