/* The kernels sfshim is tested against, played on Linux: one place for the
 * seccomp rules of sfshim-nosendfile and of the test harnesses.
 *
 *   sendfile refused     sendfile (and i386's sendfile64) fail with an errno,
 *                        always or only when count == 0 (FreeBSD's layer)
 *   the compat profile   NetBSD's amd64 compat_linux: besides sendfile,
 *                        process_vm_readv/writev, splice, vmsplice, tee and
 *                        copy_file_range fail with ENOSYS, fcntl's
 *                        F_GETPIPE_SZ / F_SETPIPE_SZ with EOPNOTSUPP, and
 *                        rt_sigprocmask with an invalid `how` with EINVAL
 *                        before the set is read
 *   the freebsd profile  FreeBSD's linuxulator: sendfile (and i386's
 *                        sendfile64) performed by a supervisor process the
 *                        way FreeBSD's kernel performs it, bytes included:
 *                        only from a regular file into a connected stream
 *                        socket, and a call that moved bytes and then met
 *                        EAGAIN or a signal fails with them already sent.
 *                        Also refused as FreeBSD's layer refuses them:
 *                        process_vm_readv/writev, tee, vmsplice, preadv2,
 *                        pwritev2, the pidfd and io_uring calls (ENOSYS),
 *                        splice and fcntl's pipe sizes (EINVAL);
 *                        uname's version says "FreeBSD ...", FIONREAD on a
 *                        pipe's write end is 0, poll of a pipe's write end
 *                        whose reader is gone says POLLOUT|POLLHUP (no
 *                        POLLERR), and opening /proc/self/fd/N duplicates
 *                        descriptor N (fdescfs) instead of opening anew
 *   the illumos-lx profile  illumos's LX brand: sendfile performed by the
 *                        supervisor as lx_sendfile64 and the native
 *                        sendfilev do it (into a socket or a regular file;
 *                        a call that moved bytes and then failed returns
 *                        -1 with them moved; EINVAL at the input's end into
 *                        a file), uname's version "BrandZ virtual linux",
 *                        process_vm_readv/writev ENOSYS
 *   every layer          rt_sigprocmask with an invalid how fails with
 *                        EINVAL before the set is read
 *   no /proc             a private mount namespace whose /proc is an empty
 *                        read-only tmpfs (root needed)
 *
 * Not played: what no filter sees. glibc reads clock_gettime from the vDSO,
 * so NetBSD's refusal of CLOCK_MONOTONIC_COARSE (linux_to_native_clockid)
 * never reaches one (the shim falls back to CLOCK_MONOTONIC on any failure),
 * nor does MAP_POPULATE's being dropped show (a cost, not a result).
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
	int freebsd;		 /* FreeBSD's linuxulator (the fields above stay 0) */
	int illumos;		 /* illumos's LX brand (the fields above stay 0) */
	int real_uname;		 /* freebsd, illumos: uname answers as Linux's does,
				  * so that only a sendfile can tell the layer */
	int illumos_2015;	 /* illumos: the 2015 emulation library's fcntl:
				  * F_GETPIPE_SZ and F_SETPIPE_SZ fail with ENOSYS
				  * (the newer kernel's lx_fcntl_pipesz answers
				  * them on pipes) */
	int illumos_eof_zero;	 /* illumos: the 2020 fix (illumos-joyent #326):
				  * a call into a file that meets the input's end
				  * returns what it moved (0 at the end) instead
				  * of EINVAL */
	int compat_uname;	 /* compat: uname says NetBSD's default release
				  * "3.11.6" and version "#1 SMP PREEMPT Thu Oct 24
				  * 16:23:02 UTC 2013" (a supervisor answers it) */
};

/* Loads the filter into this process (and everything it starts; it cannot
 * be undone) with no_new_privs set. 0, or a negative errno (-EINVAL for
 * freebsd or illumos with another profile's fields, compat_uname without
 * compat).
 *
 * With freebsd, illumos or compat_uname it first starts the supervisor: a process that is no child
 * of the caller (it is started through a second fork), holds none of its
 * descriptors, writes nothing to its stdout or stderr, and leaves once no
 * process of the filter is left (reaped). Call it before starting threads
 * (the filter, as every seccomp filter loaded without TSYNC, binds only the
 * calling thread and what it starts). It needs Linux 5.9 (pidfd_getfd, and
 * SECCOMP_IOCTL_NOTIF_ADDFD for freebsd's /proc/self/fd/N) and
 * ptrace access from the supervisor to the program (same user, or root).
 * Where /proc is readable here, a signal interrupts a waiting sendfile with
 * EINTR whatever SA_RESTART says, as on FreeBSD (Linux 5.19's
 * SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, the signals read from /proc);
 * without /proc (sfk_hide_proc first) Linux's own interruption is used, and
 * a handler with SA_RESTART then restarts the call instead. */
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
