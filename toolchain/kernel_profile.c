/* The seccomp rules and the /proc-less mount namespace of kernel_profile.h,
 * and the supervisor that plays FreeBSD's and illumos's Linux sendfile (and
 * the layers' other answers a filter alone cannot give).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#define _GNU_SOURCE
/* The supervisor's pread, fstat and lseek take files of any size, in an
 * i386 build too. */
#define _FILE_OFFSET_BITS 64
#include "kernel_profile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif
#ifndef F_GETPIPE_SZ
#define F_GETPIPE_SZ 1032
#endif
/* Linux's numbers where this libc's headers predate the calls (the same on
 * every architecture from 424 on). */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_GET_NOTIF_SIZES
#define SECCOMP_GET_NOTIF_SIZES 3
#endif
#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#endif
#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif
#ifndef SO_PROTOCOL
#define SO_PROTOCOL 38
#endif

/* A rule for one syscall on every architecture of the filter that has it:
 * libseccomp skips the architectures without it (sendfile64 and fcntl64
 * exist only on 32-bit ABIs), and a syscall no architecture of the filter
 * has is no error. */
static int rule_action(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n, const struct scmp_arg_cmp *cmp)
{
	int rc = seccomp_rule_add_array(ctx, action, nr, n, cmp);
	return rc == -EDOM || (nr < 0 && rc == -EINVAL) ? 0 : rc;
}

static int rule(scmp_filter_ctx ctx, int err, int nr, unsigned n, const struct scmp_arg_cmp *cmp)
{
	return rule_action(ctx, SCMP_ACT_ERRNO((uint32_t)err), nr, n, cmp);
}

/* fcntl's F_GETPIPE_SZ and F_SETPIPE_SZ fail with err (fcntl64 too). */
static int pipe_size_rules(scmp_filter_ctx ctx, int err)
{
	/* fcntl's cmd is an int: compare its low 32 bits only. */
	const struct scmp_arg_cmp get_pipe_sz = {
		.arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu, .datum_b = F_GETPIPE_SZ
	};
	const struct scmp_arg_cmp set_pipe_sz = {
		.arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu, .datum_b = F_SETPIPE_SZ
	};
	const int fcntls[] = { SCMP_SYS(fcntl), SCMP_SYS(fcntl64) };
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof fcntls / sizeof fcntls[0]; i++) {
		rc = rule(ctx, err, fcntls[i], 1, &get_pipe_sz);
		if (rc == 0)
			rc = rule(ctx, err, fcntls[i], 1, &set_pipe_sz);
	}
	return rc;
}

/* rt_sigprocmask with a `how` that is not SIG_BLOCK, SIG_UNBLOCK or
 * SIG_SETMASK fails with EINVAL before the set is read, on every layer
 * played here, where Linux reads the set first (EFAULT for an unreadable
 * one, kernel/signal.c):
 *   NetBSD  sys/compat/linux/common/linux_signal.c:linux_sys_rt_sigprocmask
 *           checks sigsetsize, then "switch (how) ... default: return
 *           EINVAL" before its copyin;
 *   FreeBSD sys/compat/linux/linux_signal.c:linux_rt_sigprocmask:
 *           "error = linux_copyin_sigset(...); if (error != 0) return
 *           (EINVAL);" (any unreadable set is EINVAL there, even with a
 *           valid how: not played, a filter cannot read the set);
 *   illumos lib/brand/lx/lx_brand/common/signal.c:lx_sigprocmask_common
 *           translates how first ("default: return (-EINVAL)").
 * how is an int; a value the C ABI passes sign-extended, so a negative
 * one is above 2 as well. Linux checks sigsetsize != 8 (EINVAL) before
 * either; so do the layers. */
static int sigprocmask_how_rule(scmp_filter_ctx ctx)
{
	const struct scmp_arg_cmp bad_how = { .arg = 0, .op = SCMP_CMP_GT, .datum_a = 2 };
	return rule(ctx, EINVAL, SCMP_SYS(rt_sigprocmask), 1, &bad_how);
}

/* What FreeBSD's linuxulator refuses besides sendfile, from its source:
 * sys/compat/linux/linux_dummy.c stubs these with DUMMY(), whose body is
 * "return (ENOSYS);" (sys/compat/linux/linux_util.h); sys/amd64/linux and
 * linux32's syscalls.master route them there. copy_file_range is real
 * there (linux_copy_file_range calls kern_copy_file_range) and stays so. */
static int freebsd_rules(scmp_filter_ctx ctx)
{
	const int dummy[] = { SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev), SCMP_SYS(tee),
			      SCMP_SYS(vmsplice), SCMP_SYS(preadv2), SCMP_SYS(pwritev2),
			      SCMP_SYS(pidfd_open), SCMP_SYS(pidfd_getfd), SCMP_SYS(pidfd_send_signal),
			      SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register) };
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof dummy / sizeof dummy[0]; i++)
		rc = rule(ctx, ENOSYS, dummy[i], 0, NULL);
	/* linux_file.c, linux_splice: "splice(2) is documented to return
	 * EINVAL in various circumstances; returning it instead of ENOSYS
	 * should hint the caller to use fallback instead." */
	if (rc == 0)
		rc = rule(ctx, EINVAL, SCMP_SYS(splice), 0, NULL);
	/* linux_file.c, fcntl_common: no case for the pipe sizes; "default:
	 * ... return (EINVAL);" */
	if (rc == 0)
		rc = pipe_size_rules(ctx, EINVAL);
	if (rc == 0)
		rc = sigprocmask_how_rule(ctx);
	/* The calls the supervisor answers the layer's way (see sv_call_of):
	 * ioctl only for FIONREAD (its cmd an unsigned int), poll and ppoll
	 * (i386's ppoll_time64 too), open and openat (/proc/self/fd/N). */
	const struct scmp_arg_cmp fionread = {
		.arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu, .datum_b = FIONREAD
	};
	if (rc == 0)
		rc = rule_action(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(ioctl), 1, &fionread);
	const int notified[] = { SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(ppoll_time64), SCMP_SYS(open),
				 SCMP_SYS(openat) };
	for (size_t i = 0; rc == 0 && i < sizeof notified / sizeof notified[0]; i++)
		rc = rule_action(ctx, SCMP_ACT_NOTIFY, notified[i], 0, NULL);
	return rc;
}

/* What illumos's LX brand refuses of the calls the shim makes, from its
 * source (docs/platforms.md, the layers table, column LX): uts/common/brand/lx/os/
 * lx_syscall.c has NOSYS_NULL for process_vm_readv and process_vm_writev,
 * set_errno(ENOTSUP), which usr/src/common/brand/lx/lx_errno.c turns into
 * Linux's ENOSYS. The 2015 emulation library's fcntl refused the pipe
 * sizes the same way (ENOTSUP, ENOSYS for the program); the newer kernel's
 * syscall/lx_fcntl.c:lx_fcntl_pipesz answers them on FIFOs ("strqget(...
 * QHIWAT ...)") and gives EBADF for other files, as Linux does. */
static int illumos_rules(scmp_filter_ctx ctx, const struct sfk_rules *r)
{
	int rc = rule(ctx, ENOSYS, SCMP_SYS(process_vm_readv), 0, NULL);
	if (rc == 0)
		rc = rule(ctx, ENOSYS, SCMP_SYS(process_vm_writev), 0, NULL);
	if (rc == 0)
		rc = sigprocmask_how_rule(ctx);
	if (rc == 0 && r->illumos_2015)
		rc = pipe_size_rules(ctx, ENOSYS);
	return rc;
}

static int sv_load(scmp_filter_ctx ctx, const struct sfk_rules *r);

int sfk_install(const struct sfk_rules *r)
{
	int layer = r->freebsd || r->illumos;
	if ((r->freebsd && r->illumos) || (layer && (r->compat || r->sendfile_errno || r->sendfile_count_zero)) ||
	    (r->compat_uname && !r->compat))
		return -EINVAL;
	/* Fields by name: SCMP_A3(op, 0) leaves datum_b out, which clang's
	 * -Wmissing-field-initializers refuses. */
	const struct scmp_arg_cmp count_is_0 = { .arg = 3, .op = SCMP_CMP_EQ, .datum_a = 0 };
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
	for (size_t i = 0; rc == 0 && i < sizeof sendfiles / sizeof sendfiles[0]; i++) {
		if (layer)
			rc = rule_action(ctx, SCMP_ACT_NOTIFY, sendfiles[i], 0, NULL);
		else if (r->sendfile_errno)
			rc = rule(ctx, r->sendfile_errno, sendfiles[i], r->sendfile_count_zero ? 1 : 0, &count_is_0);
	}
	if (rc == 0 && r->compat) {
		/* NetBSD's sys/compat/linux/arch/amd64/syscalls.master has none of
		 * these (its i386 table neither). */
		const int absent[] = { SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev), SCMP_SYS(splice),
				       SCMP_SYS(vmsplice), SCMP_SYS(tee), SCMP_SYS(copy_file_range) };
		for (size_t i = 0; rc == 0 && i < sizeof absent / sizeof absent[0]; i++)
			rc = rule(ctx, ENOSYS, absent[i], 0, NULL);
		/* Its fcntl knows the classic commands; the pipe-size ones fall
		 * through to "default: return EOPNOTSUPP;" (linux_file.c,
		 * linux_sys_fcntl). */
		if (rc == 0)
			rc = pipe_size_rules(ctx, EOPNOTSUPP);
		if (rc == 0)
			rc = sigprocmask_how_rule(ctx);
	}
	if (rc == 0 && r->freebsd)
		rc = freebsd_rules(ctx);
	if (rc == 0 && r->illumos)
		rc = illumos_rules(ctx, r);
	/* Both layers answer uname with their own version string; NetBSD's
	 * with its own release and version where asked (compat_uname). */
	int supervised = layer || (r->compat && r->compat_uname);
	if (rc == 0 && ((layer && !r->real_uname) || (r->compat && r->compat_uname)))
		rc = rule_action(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(uname), 0, NULL);
	/* No new privileges: required to load a filter without CAP_SYS_ADMIN, and
	 * a setuid program must not escape (or be fooled by) the filter. */
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		rc = -errno;
	if (rc == 0)
		rc = supervised ? sv_load(ctx, r) : seccomp_load(ctx);
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

/*
 * FreeBSD's linuxulator sendfile, played by a supervisor.
 *
 * The filter hands each sendfile (SECCOMP_RET_USER_NOTIF) to a supervisor
 * process, which takes the caller's descriptors (pidfd_getfd), reads and
 * writes its offset (process_vm_readv/writev, EFAULT where FreeBSD's
 * copyin/copyout would fail), moves the bytes with pread and send, and
 * answers with what FreeBSD's kernel returns. The source it follows:
 * sys/compat/linux/linux_socket.c (linux_sendfile, linux_sendfile64,
 * linux_sendfile_common) and sys/kern/kern_sendfile.c (vn_sendfile,
 * sendfile_getobj, sendfile_getsock, sendfile_wait_generic). What matters
 * most: the linuxulator drops the count of a call that moved bytes and then
 * failed,
 *
 *	error = fo_sendfile(fp, out, NULL, NULL, current_offset, count,
 *	    &bytes_read, 0, td);
 *	if (error != 0)
 *		goto drop;
 *
 * so a non-blocking socket that fills (EAGAIN) or a signal while the call
 * waits for room (EINTR) leaves those bytes on the wire, the offset and the
 * file position where they were, and the program with -1.
 *
 * Each notification is served by a process of its own (forked from the
 * supervisor), so that a call waiting for room holds up no other call.
 */

/* One round's bytes: small, so that a caller gone meanwhile is noticed
 * soon; FreeBSD's rounds are what the socket has room for. */
#define FB_CHUNK (16 * 1024)
/* How long a wait for room sleeps before it looks for signals again. */
#define FB_POLL_MS 10
/* Not an errno: the call is gone (the caller was killed, or interrupted
 * where signals are Linux's), and there is no one to answer. */
#define FB_GONE (-1)

struct fb_call {
	const struct seccomp_notif *req;
	int listener;
	int killable; /* the filter has WAIT_KILLABLE_RECV: signals are ours to see */
	int pidfd;
};

static char fb_buf[FB_CHUNK];

/* The profile the supervisor plays (set before it starts). */
static struct sfk_rules sv_rules;

static int fb_valid(const struct fb_call *c)
{
	__u64 id = c->req->id;
	return ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* A field of /proc/TID/status, as hexadecimal (the signal masks) or
 * decimal; 0 and *ok = 0 where it is missing. */
static unsigned long long fb_status_field(const char *status, const char *name, int base, int *ok)
{
	const char *p = strstr(status, name);
	if (!p) {
		*ok = 0;
		return 0;
	}
	return strtoull(p + strlen(name), NULL, base);
}

static int fb_read_status(pid_t tid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r > 0 && (n += (size_t)r) < size - 1)
			continue;
		if (r < 0 && errno == EINTR)
			continue;
		break;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

/* Would FreeBSD's sbwait() (msleep with PCATCH) be woken by a signal now?
 * A signal pending for the thread or its process, not blocked by the
 * thread, with a handler: an ignored one is never pending, a stop signal
 * only stops, and a fatal one kills the caller (which fb_valid sees). */
static int fb_signal_pending(pid_t tid)
{
	char status[4096];
	if (fb_read_status(tid, status, sizeof status) != 0)
		return 0;
	int ok = 1;
	unsigned long long pending = fb_status_field(status, "\nSigPnd:", 16, &ok) |
				     fb_status_field(status, "\nShdPnd:", 16, &ok);
	unsigned long long blocked = fb_status_field(status, "\nSigBlk:", 16, &ok);
	unsigned long long caught = fb_status_field(status, "\nSigCgt:", 16, &ok);
	return ok && (pending & ~blocked & caught) != 0;
}

/* The caller's process or thread as a pidfd; FB_GONE if it is no more. */
static int fb_open_pidfd(struct fb_call *c)
{
	pid_t tid = (pid_t)c->req->pid;
	/* A thread's own pidfd (Linux 6.9) reaches its descriptor table even
	 * where it shares none with the process's first thread; earlier
	 * kernels take a process, which the thread's Tgid names. */
	int fd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (fd < 0 && errno == EINVAL)
		fd = (int)syscall(SYS_pidfd_open, tid, 0);
	if (fd < 0 && errno == EINVAL) {
		char status[4096];
		int ok = 1;
		pid_t tgid = 0;
		if (fb_read_status(tid, status, sizeof status) == 0)
			tgid = (pid_t)fb_status_field(status, "\nTgid:", 10, &ok);
		if (ok && tgid > 0)
			fd = (int)syscall(SYS_pidfd_open, tgid, 0);
	}
	if (fd < 0)
		return errno == ESRCH ? FB_GONE : errno;
	c->pidfd = fd;
	/* The thread id could have been reused since the notification: it
	 * names our caller only while the notification is alive. */
	return fb_valid(c) ? 0 : FB_GONE;
}

/* The caller's descriptor fd, as one of ours sharing its open file
 * description (offset and status flags included). */
static int fb_getfd(const struct fb_call *c, int fd, int *ours)
{
	*ours = (int)syscall(SYS_pidfd_getfd, c->pidfd, fd, 0);
	if (*ours >= 0)
		return 0;
	return errno == ESRCH ? FB_GONE : errno;
}

/* copyin()/copyout() of the caller's offset: EFAULT for what the caller
 * cannot read (or, out, write) there. */
static int fb_copy(const struct fb_call *c, uint64_t addr, void *buf, size_t n, int out)
{
	if (addr > UINTPTR_MAX - n)
		return EFAULT;
	struct iovec local = { buf, n };
	struct iovec remote = { (void *)(uintptr_t)addr, n };
	ssize_t r = out ? process_vm_writev((pid_t)c->req->pid, &local, 1, &remote, 1, 0)
			: process_vm_readv((pid_t)c->req->pid, &local, 1, &remote, 1, 0);
	if (r == (ssize_t)n)
		return 0;
	if (r >= 0 || errno == EFAULT)
		return EFAULT;
	return errno == ESRCH ? FB_GONE : errno;
}

static int64_t fb_ms_until(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

/* sendfile_wait_generic's sleep, for a blocking socket with no room:
 *
 *	error = sbwait(so, SO_SND);
 *	...
 *	if (error != 0)
 *		goto done;
 *
 * sbwait() ends with a signal (ERESTART or EINTR; vn_sendfile turns
 * ERESTART into EINTR, so SA_RESTART makes no difference) or with the
 * socket's send timeout, SO_SNDTIMEO (EWOULDBLOCK, which is EAGAIN). 0
 * once there may be room. */
static int fb_wait_room(const struct fb_call *c, int out)
{
	struct timeval tv = { 0, 0 };
	socklen_t len = sizeof tv;
	struct timespec deadline = { 0, 0 };
	int timed = getsockopt(out, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) == 0 && (tv.tv_sec || tv.tv_usec);
	if (timed) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += tv.tv_sec;
		deadline.tv_nsec += (long)tv.tv_usec * 1000;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	for (;;) {
		if (!fb_valid(c))
			return FB_GONE;
		if (c->killable && fb_signal_pending((pid_t)c->req->pid))
			return EINTR;
		int64_t ms = FB_POLL_MS;
		if (timed) {
			int64_t left = fb_ms_until(&deadline);
			if (left <= 0)
				return EAGAIN;
			if (left < ms)
				ms = left;
		}
		struct pollfd p = { out, POLLOUT, 0 };
		if (poll(&p, 1, (int)ms) > 0 && (p.revents & (POLLOUT | POLLERR | POLLHUP)))
			return 0;
	}
}

/* Sends len bytes of buf into the socket out, waiting for room (or not,
 * nonblocking: EAGAIN) as both layers' send paths do; *sent counts what the
 * socket took, error or not. 0, an errno, or FB_GONE. */
static int sv_send_all(const struct fb_call *c, int out, const char *buf, size_t len, int nonblocking,
		       off_t *sent)
{
	for (size_t done = 0; done < len;) {
		/* A caller killed meanwhile, or interrupted where signals are
		 * Linux's (and maybe restarted by the kernel, in a worker of
		 * its own): what went out is out, the rest is no one's. */
		if (!fb_valid(c))
			return FB_GONE;
		ssize_t n = send(out, buf + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
			*sent += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (nonblocking)
				return EAGAIN;
			int err = fb_wait_room(c, out);
			if (err)
				return err;
			continue;
		}
		return n < 0 ? errno : EIO;
	}
	return 0;
}

/* sendfile_wait_generic's checks of the socket's state, in its order:
 *
 *	if (so->so_snd.sb_state & SBS_CANTSENDMORE) {
 *		error = EPIPE;
 *	...
 *	if ((so->so_state & SS_ISCONNECTED) == 0) {
 *		error = ENOTCONN;
 *
 * Linux shows a peer only while connected. Not connected: never (ENOTCONN),
 * or no more, torn down by a reset or both sides' close, where FreeBSD has
 * marked it SBS_CANTSENDMORE first (EPIPE); Linux's torn-down stream socket
 * has its receiving side shut, which poll() says (POLLRDHUP). A connected
 * socket that cannot send any more says so to send() (EPIPE). */
static int fb_socket_state(int out)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof peer;
	if (getpeername(out, (struct sockaddr *)&peer, &len) == 0 || errno != ENOTCONN)
		return 0;
	struct pollfd p = { out, POLLRDHUP, 0 };
	return poll(&p, 1, 0) > 0 && (p.revents & POLLRDHUP) ? EPIPE : ENOTCONN;
}

/* vn_sendfile from the point where both descriptors have passed
 * sendfile_getobj and sendfile_getsock: the rounds of its loop. *sbytes
 * counts what the socket took, as FreeBSD's sbytes does, error or not. */
static int fb_vn_sendfile_loop(const struct fb_call *c, int in, int out, off_t offset, uint64_t nbytes,
			       off_t obj_size, off_t *sbytes)
{
	/* "rem = nbytes ? omin(nbytes, obj_size - offset) : obj_size - offset;"
	 * with omin() on off_t: a count of 2^63 or more is negative there, and
	 * the loop below does not run. */
	off_t count = (off_t)nbytes;
	off_t rem = count < obj_size - offset ? count : obj_size - offset;
	int nonblocking = (fcntl(out, F_GETFL) & O_NONBLOCK) != 0;
	*sbytes = 0;
	for (off_t off = offset; rem > 0;) {
		int err = fb_socket_state(out);
		if (err)
			return err;
		/* "Check to see if the file size has changed." */
		struct stat st;
		if (fstat(in, &st) != 0)
			return EIO;
		if (off >= st.st_size)
			return 0;
		if (st.st_size != obj_size) {
			obj_size = st.st_size;
			off_t end = count > INT64_MAX - offset ? INT64_MAX : count + offset;
			rem = (end < obj_size ? end : obj_size) - off;
		}
		size_t want = rem < FB_CHUNK ? (size_t)rem : FB_CHUNK;
		ssize_t got = pread(in, fb_buf, want, off);
		if (got < 0)
			return EIO; /* sendfile_swapin's pager error */
		if (got == 0)
			return 0; /* cut between fstat and pread: the new end */
		/* No SIGPIPE: vn_sendfile hands its mbufs to pr_send()
		 * directly, and FreeBSD raises SIGPIPE only in the write paths
		 * (kern_sendit, soo_write), never for sendfile. "if
		 * (so->so_state & SS_NBIO) { error = EAGAIN;" */
		err = sv_send_all(c, out, fb_buf, (size_t)got, nonblocking, sbytes);
		/* A reset connection is SBS_CANTSENDMORE there. */
		if (err == ECONNRESET)
			err = EPIPE;
		if (err)
			return err;
		off += got;
		rem -= got;
	}
	return 0;
}

/* An int socket option of SOL_SOCKET, or -1. */
static int fb_sockopt(int fd, int name)
{
	int v = -1;
	socklen_t len = sizeof v;
	return getsockopt(fd, SOL_SOCKET, name, &v, &len) == 0 ? v : -1;
}

/* fo_sendfile(): vn_sendfile for vnodes and shared memory, invfo_sendfile
 * (EINVAL) for every other kind of file; then vn_sendfile's
 * sendfile_getobj (the input) and sendfile_getsock (the output), in that
 * order. */
static int fb_fo_sendfile(const struct fb_call *c, int in, const struct stat *in_st, int out_fd, off_t offset,
			  uint64_t nbytes, off_t *sbytes)
{
	*sbytes = 0;
	/* "The file descriptor must be a regular file and have a backing VM
	 * object": "if (vp->v_type != VREG) { error = EINVAL;" and "if (obj
	 * == NULL) { error = EINVAL;". memfd_create is shm_open there
	 * (linux_memfd_create: kern_shm_open2), DTYPE_SHM: accepted, as Linux's
	 * memfd is a regular file. Linux's procfs and sysfs are FreeBSD's
	 * linprocfs and linsysfs: pseudofs vnodes, without a VM object. */
	if (!S_ISREG(in_st->st_mode))
		return EINVAL;
	struct statfs fs;
	if (fstatfs(in, &fs) == 0 && (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC))
		return EINVAL;

	/* sendfile_getsock: "The socket must be a stream socket and
	 * connected." getsock() gives EBADF for no descriptor and ENOTSOCK for
	 * another kind of file; "if ((*so)->so_type != SOCK_STREAM) return
	 * (EINVAL);" and SCTP "currently don't work with sendfile(). So
	 * indicate EINVAL for now." */
	int out = -1;
	int err = fb_getfd(c, out_fd, &out);
	if (err)
		return err;
	struct stat out_st;
	int flags = fcntl(out, F_GETFL);
	if (fstat(out, &out_st) != 0 || !S_ISSOCK(out_st.st_mode) || flags < 0 || (flags & O_PATH))
		err = ENOTSOCK;
	else if (fb_sockopt(out, SO_TYPE) != SOCK_STREAM || fb_sockopt(out, SO_PROTOCOL) == IPPROTO_SCTP)
		err = EINVAL;
	else
		err = fb_vn_sendfile_loop(c, in, out, offset, nbytes, in_st->st_size, sbytes);
	close(out);
	return err;
}

/* linux_sendfile_common, line by line. offset is NULL for the file
 * position; *ret is the count on success. */
static int fb_sendfile_common(const struct fb_call *c, int out, int in_fd, int64_t *offset, uint64_t count,
			      int64_t *ret)
{
	/* "error = fget_read(td, in, &cap_pread_rights, &fp);": EBADF for no
	 * descriptor and for one not open for reading (O_PATH included). */
	int in = -1;
	int err = fb_getfd(c, in_fd, &in);
	if (err)
		return err;
	struct stat st;
	int flags = fcntl(in, F_GETFL);
	if (flags < 0 || (flags & O_PATH) || (flags & O_ACCMODE) == O_WRONLY || fstat(in, &st) != 0) {
		close(in);
		return EBADF;
	}

	int64_t current_offset;
	if (offset != NULL) {
		current_offset = *offset;
	} else {
		/* "error = (fp->f_ops->fo_flags & DFLAG_SEEKABLE) != 0 ?
		 * fo_seek(fp, 0, SEEK_CUR, td) : ESPIPE;": vnodes and shared
		 * memory are seekable there; pipes, FIFOs, sockets and the
		 * descriptors without a file (eventfd, epoll: kqueue there) not. */
		int seekable = S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode) ||
			       S_ISBLK(st.st_mode);
		off_t pos = seekable ? lseek(in, 0, SEEK_CUR) : -1;
		if (pos < 0) {
			err = seekable ? errno : ESPIPE;
			close(in);
			return err;
		}
		current_offset = pos;
	}

	/* "Linux cannot have 0 count." l_size_t is unsigned: count <= 0 is
	 * count == 0. */
	if (count == 0 || current_offset < 0) {
		close(in);
		return EINVAL;
	}

	off_t bytes_read = 0;
	err = fb_fo_sendfile(c, in, &st, out, (off_t)current_offset, count, &bytes_read);
	if (err == 0) {
		current_offset += bytes_read;
		if (offset != NULL)
			*offset = current_offset;
		else if (lseek(in, (off_t)current_offset, SEEK_SET) < 0)
			err = errno;
	}
	close(in);
	if (err)
		/* "drop: ... if (error == ENOTSOCK) error = EINVAL;" */
		return err == ENOTSOCK ? EINVAL : err;
	*ret = bytes_read;
	return 0;
}

/* linux_sendfile (amd64, and i386's sendfile with its 32-bit l_long
 * offset) and linux_sendfile64 (i386 only: "#if defined(__i386__) || ...
 * (defined(__amd64__) && defined(COMPAT_LINUX32))"). */
static int fb_linux_sendfile(const struct fb_call *c, int64_t *ret)
{
	const struct seccomp_data *d = &c->req->data;
	int abi32 = d->arch == AUDIT_ARCH_I386;
	/* i386: sendfile is 187, with an l_long (32-bit) offset; sendfile64
	 * 239, with an l_loff_t. x86_64 (and x32) have sendfile alone, with a
	 * 64-bit offset. */
	int offset32 = abi32 && d->nr == 187;
	uint64_t mask = abi32 ? 0xffffffffu : UINT64_MAX;
	int out = (int)(uint32_t)d->args[0];
	int in = (int)(uint32_t)d->args[1];
	uint64_t offset_ptr = d->args[2] & mask;
	uint64_t count = d->args[3] & mask;

	/* "if (arg->offset != NULL) { error = copyin(arg->offset, &offset,
	 * sizeof(offset)); if (error != 0) return (error);": before any
	 * descriptor is looked at. */
	int64_t offset64 = 0;
	int err;
	if (offset_ptr != 0) {
		if (offset32) {
			int32_t o32;
			if ((err = fb_copy(c, offset_ptr, &o32, sizeof o32, 0)) != 0)
				return err;
			offset64 = o32;
		} else if ((err = fb_copy(c, offset_ptr, &offset64, sizeof offset64, 0)) != 0) {
			return err;
		}
	}

	int ret_err = fb_sendfile_common(c, out, in, offset_ptr ? &offset64 : NULL, count, ret);
	if (ret_err == FB_GONE)
		return FB_GONE;

	/* The offset is written back whatever the call's result (unchanged
	 * after an error), and a failed copyout is the call's EFAULT. */
	if (offset_ptr != 0) {
		if (offset32) {
			/* "if (offset64 > INT32_MAX) return (EOVERFLOW);": after
			 * the bytes went out, with the offset left as it was. */
			if (offset64 > INT32_MAX)
				return EOVERFLOW;
			int32_t o32 = (int32_t)offset64;
			err = fb_copy(c, offset_ptr, &o32, sizeof o32, 1);
		} else {
			err = fb_copy(c, offset_ptr, &offset64, sizeof offset64, 1);
		}
		if (err)
			return err;
	}
	return ret_err;
}

/*
 * illumos's LX brand sendfile, played by the same supervisor.
 *
 * The source: usr/src/lib/brand/lx/lx_brand/common/sendfile.c
 * (lx_sendfile64, "Copyright 2015 Joyent"), which calls the native
 * sendfilev(SENDFILEV64, ...) of usr/src/uts/common/syscall/sendfile.c
 * (sendfilev, sendvec64, sendvec_chunk64) and usr/src/uts/common/fs/
 * sockfs/socksyscalls.c (sosendfile64); docs/platforms.md, "illumos LX
 * sendfile", has the model. What matters most: the library drops the
 * count of a call that moved bytes and then failed,
 *
 *	if (error == 0 && xferred > 0) {
 *	...
 *	return (error ? -error : (int)rval.sys_rval1);
 *
 * while the kernel moved them (sosendfile64 writes its progress to
 * *count32 whatever the error, sendvec64 copies it out), and that a file
 * output meets the input's end as an error (sendvec_chunk64: "if (cnt ==
 * 0) { ... return (EINVAL);").
 */

/* sendvec_chunk64's EINVAL for the input's end, told apart from its other
 * EINVALs for the 2020 fix (illumos_eof_zero). Not an errno. */
#define LX_EOF (-2)

/* The block size of a file copy: sendvec_chunk64 reads and writes
 * "MIN(vp->v_vfsp->vfs_bsize, readvp->v_vfsp->vfs_bsize)" at a time; the
 * files' st_blksize here. */
static size_t lx_block(const struct stat *a, const struct stat *b)
{
	size_t n = a->st_blksize < b->st_blksize ? (size_t)a->st_blksize : (size_t)b->st_blksize;
	return n == 0 || n > FB_CHUNK ? FB_CHUNK : n;
}

/* Would ISSIG(curthread, JUSTLOOKING) see a signal? Only where the
 * supervisor reads the caller's signals (killable); elsewhere none. */
static int lx_issig(const struct fb_call *c)
{
	return c->killable && fb_signal_pending((pid_t)c->req->pid);
}

/* sosendfile64, for a socket output and a regular input: nothing for a
 * length of 0, the length clipped to the file's end ("Read as much as
 * possible", the size asked again after each round), the send helpers'
 * wait for room (socket_sendmblk: EAGAIN when non-blocking, EINTR for a
 * signal), and *count the bytes the socket took, error or not. No
 * SIGPIPE: so_sendmblk returns EPIPE for SS_CANTSENDMORE and posts
 * nothing. */
static int lx_sosendfile64(const struct fb_call *c, int in, int out, off_t off, int32_t len, off_t *count)
{
	*count = 0;
	if (len < 0)
		return EINVAL;
	int nonblocking = (fcntl(out, F_GETFL) & O_NONBLOCK) != 0;
	off_t size = len;
	for (;;) {
		struct stat st;
		if (fstat(in, &st) != 0)
			return EIO;
		if (st.st_size == 0 || off >= st.st_size)
			return 0;
		if (size > st.st_size - off)
			size = st.st_size - off;
		if (size <= 0)
			return 0;
		size_t want = size < FB_CHUNK ? (size_t)size : FB_CHUNK;
		ssize_t got = pread(in, fb_buf, want, off);
		if (got < 0)
			return EIO;
		if (got == 0)
			return 0;
		int err = sv_send_all(c, out, fb_buf, (size_t)got, nonblocking, count);
		if (err)
			return err;
		off += got;
		size -= got;
	}
}

/* sendvec_chunk64 for one vector element whose output is a regular file:
 * block by block, each read at the input's offset and written at the
 * output's (fileoff, its f_offset; appended where it was opened O_APPEND,
 * FAPPEND in ioflag), *count what was written. The input's end is EINVAL
 * after what could be written (LX_EOF here). */
static int lx_chunk_to_file(const struct fb_call *c, int in, const struct stat *in_st, int out,
			    const struct stat *out_st, off_t sfv_off, int32_t sfv_len, off_t *fileoff, off_t *count)
{
	(void)c;
	int append = (fcntl(out, F_GETFL) & O_APPEND) != 0;
	size_t size = lx_block(in_st, out_st);
	while (sfv_len > 0) {
		size_t iov_len = (size_t)sfv_len < size ? (size_t)sfv_len : size;
		ssize_t cnt = pread(in, fb_buf, iov_len, sfv_off);
		if (cnt < 0)
			return errno;
		/* "If we were reading a pipe (currently not implemented), we
		 * may now lose data." */
		if (cnt == 0)
			return LX_EOF;
		ssize_t w = append ? write(out, fb_buf, (size_t)cnt) : pwrite(out, fb_buf, (size_t)cnt, *fileoff);
		int err = w < 0 ? errno : 0;
		if (w < 0)
			w = 0;
		sfv_len -= (int32_t)w;
		sfv_off += w;
		*fileoff += w;
		*count += w;
		if (err)
			return err;
		if (w < cnt)
			return ENOSPC;
	}
	return 0;
}

/* The native sendfilev(SENDFILEV64, out, &sfv, 1, &xferred) of a 64-bit
 * kernel: sendvec64 ("case SENDFILEV64: return (sendvec64(...))" sits under
 * _SYSCALL32_IMPL, which amd64 kernels define), which reads the vector as
 * a ksendfilevec64: its size32_t sfv_len is the low half of the library's
 * size_t, so the count is taken modulo 2^32 and one of 2^31 or more is
 * negative (EINVAL). *xferred gets the count, error or not. */
static int lx_sendfilev64(const struct fb_call *c, int out_fd, int in_fd, off_t sfv_off, uint32_t len32,
			  off_t *xferred)
{
	int32_t sfv_len = (int32_t)len32;
	*xferred = 0;
	/* sendfilev: "if ((fp = getf(fildes)) == NULL) return
	 * (set_errno(EBADF)); if (((fp->f_flag) & FWRITE) == 0) { error =
	 * EBADF;" then "switch (vp->v_type) { case VSOCK: ... case VREG: ...
	 * default: error = EINVAL;" */
	int out = -1;
	int err = fb_getfd(c, out_fd, &out);
	if (err)
		return err == FB_GONE ? err : EBADF;
	struct stat out_st;
	int oflags = fcntl(out, F_GETFL);
	if (oflags < 0 || (oflags & O_PATH) || (oflags & O_ACCMODE) == O_RDONLY || fstat(out, &out_st) != 0) {
		close(out);
		return EBADF;
	}
	if (!S_ISSOCK(out_st.st_mode) && !S_ISREG(out_st.st_mode)) {
		close(out);
		return EINVAL;
	}
	off_t fileoff = S_ISREG(out_st.st_mode) ? lseek(out, 0, SEEK_CUR) : 0;
	off_t start = fileoff;
	int in = -1;
	struct stat in_st;
	if ((err = fb_getfd(c, in_fd, &in)) != 0) {
		close(out);
		return err == FB_GONE ? err : EBADF;
	}
	int iflags = fcntl(in, F_GETFL);
	int readable = iflags >= 0 && !(iflags & O_PATH) && (iflags & O_ACCMODE) != O_WRONLY;
	if (fstat(in, &in_st) != 0)
		readable = 0;
	if (S_ISSOCK(out_st.st_mode) && readable && S_ISREG(in_st.st_mode)) {
		/* sendvec64: "Optimize the regular file over the socket case":
		 * getf and FREAD, then straight to sosendfile64 (no ISSIG
		 * there). */
		err = lx_sosendfile64(c, in, out, sfv_off, sfv_len, xferred);
	} else if (S_ISSOCK(out_st.st_mode) && !readable) {
		/* "if ((rfp->f_flag & FREAD) == 0) { ... error = EBADF;" */
		err = EBADF;
	} else {
		/* sendvec_chunk64, in its order. */
		if (lx_issig(c))
			err = EINTR;
		else if (sfv_len == 0)
			err = 0;
		else if (sfv_len < 0)
			err = EINVAL;
		else if (!readable)
			err = EBADF;
		else if (!S_ISREG(in_st.st_mode))
			err = EINVAL;
		else if (in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino)
			err = EINVAL; /* "No point reading and writing to same vp" */
		else if (S_ISSOCK(out_st.st_mode))
			err = EINVAL; /* not reached: a regular input took the path above */
		else
			err = lx_chunk_to_file(c, in, &in_st, out, &out_st, sfv_off, sfv_len, &fileoff, xferred);
		/* "if (vp->v_type == VREG) fp->f_offset += count;" whatever
		 * the error. */
		if (S_ISREG(out_st.st_mode) && *xferred > 0 && lseek(out, start + *xferred, SEEK_SET) < 0 && !err)
			err = errno;
	}
	close(in);
	close(out);
	return err;
}

/* lx_sendfile64, line by line; i386's sendfile (187) is lx_sendfile of
 * the 32-bit library, the same steps with a 32-bit offset (the native
 * call it makes, SENDFILEV, is played as SENDFILEV64: its 32-bit path was
 * not read). */
static int lx_sendfile64(const struct fb_call *c, int64_t *ret)
{
	const struct seccomp_data *d = &c->req->data;
	int abi32 = d->arch == AUDIT_ARCH_I386;
	int offset32 = abi32 && d->nr == 187;
	uint64_t mask = abi32 ? 0xffffffffu : UINT64_MAX;
	int out = (int)(uint32_t)d->args[0];
	int in_fd = (int)(uint32_t)d->args[1];
	uint64_t offp = d->args[2] & mask;
	uint64_t sz = d->args[3] & mask;
	int64_t off = 0;
	int err;

	if (offp == 0) {
		/* "if ((off = lseek((int)p2, 0, SEEK_CUR)) == -1) return
		 * (-errno);": in the caller, on its descriptor. */
		int in = -1;
		if ((err = fb_getfd(c, in_fd, &in)) != 0)
			return err == FB_GONE ? err : EBADF;
		off = lseek(in, 0, SEEK_CUR);
		err = off < 0 ? errno : 0;
		close(in);
		if (err)
			return err;
	} else {
		/* "if (sz > 0 && uucopy(offp, &off, sizeof (off)) != 0) return
		 * (-errno); if (off < 0) return (-EINVAL);" */
		if (sz > 0) {
			if (offset32) {
				int32_t o32;
				if ((err = fb_copy(c, offp, &o32, sizeof o32, 0)) != 0)
					return err;
				off = o32;
			} else if ((err = fb_copy(c, offp, &off, sizeof off, 0)) != 0) {
				return err;
			}
		}
		if (off < 0)
			return EINVAL;
	}

	off_t xferred = 0;
	int error = lx_sendfilev64(c, out, in_fd, (off_t)off, (uint32_t)sz, &xferred);
	if (error == FB_GONE)
		return FB_GONE;
	/* The 2020 fix (illumos-joyent issue #326, PR #327, "LX sendfile
	 * returns EINVAL at EOF when it should return 0": "We suppress it in
	 * lx_sendfile[64] in the case where the offset has moved, but not when
	 * it has not ... Linux simply returns 0 in both of these cases"): the
	 * input's end into a file is no error, what moved before it is the
	 * count. Played from the words; the fix's code was not read. */
	if (error == LX_EOF)
		error = sv_rules.illumos_eof_zero ? 0 : EINVAL;
	if (error == 0 && xferred > 0) {
		if (offp == 0) {
			/* "if (lseek((int)p2, xferred, SEEK_CUR) == -1) return
			 * (-errno);" */
			int in = -1;
			if ((err = fb_getfd(c, in_fd, &in)) != 0)
				return err == FB_GONE ? err : EBADF;
			err = lseek(in, xferred, SEEK_CUR) < 0 ? errno : 0;
			close(in);
			if (err)
				return err;
		} else {
			/* "off += xferred; error = uucopy(&off, offp, sizeof
			 * (off));": uucopy returns -1 where it fails, and the
			 * call then returns -(-1), 1. */
			off += xferred;
			if (offset32) {
				int32_t o32 = (int32_t)off;
				err = fb_copy(c, offp, &o32, sizeof o32, 1);
			} else {
				err = fb_copy(c, offp, &off, sizeof off, 1);
			}
			if (err == FB_GONE)
				return err;
			if (err) {
				*ret = 1;
				return 0;
			}
		}
	}
	if (error)
		return error;
	/* "(int)rval.sys_rval1": sendvec64's count. */
	*ret = (int32_t)xferred;
	return 0;
}

/*
 * The calls the supervisor answers at once, in its own process: none of
 * them waits.
 */

/* A CONTINUE answer: the kernel runs the call as Linux's (the caller's
 * memory and descriptors may have changed meanwhile: a test harness's
 * race, not a program's). */
static void sv_continue(const struct fb_call *c)
{
	struct seccomp_notif_resp resp;
	memset(&resp, 0, sizeof resp);
	resp.id = c->req->id;
	resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	(void)ioctl(c->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

/* uname: both layers' own version string; sysname, nodename, release,
 * machine and domainname as Linux says them here (FreeBSD's
 * linux_newuname: "Linux" from compat.linux.osname, the jail's host and
 * domain names, the release from the sysctl compat.linux.osrelease, a
 * setting; "x86_64" on amd64 for 64- and 32-bit programs. illumos's
 * lx_uname: LX_UNAME_SYSNAME "Linux", the zone's kernel-version attribute,
 * LX_UNAME_MACHINE64 "x86_64"). */
static int sv_uname(const struct fb_call *c)
{
	struct utsname u;
	if (uname(&u) != 0)
		return errno;
	memset(u.version, 0, sizeof u.version);
	if (sv_rules.compat) {
		/* NetBSD's sys/compat/linux/common/linux_sysctl.c: "char
		 * linux_release[128] = \"3.11.6\"; char linux_version[128] =
		 * \"#1 SMP PREEMPT Thu Oct 24 16:23:02 UTC 2013\";" (the
		 * emul.linux.kern sysctls' defaults), copied by
		 * linux_misc.c:linux_sys_uname with linux_sysname "Linux", the
		 * host and domain names and LINUX_UNAME_ARCH. */
		memset(u.release, 0, sizeof u.release);
		snprintf(u.release, sizeof u.release, "%s", "3.11.6");
		snprintf(u.version, sizeof u.version, "%s", "#1 SMP PREEMPT Thu Oct 24 16:23:02 UTC 2013");
	} else if (sv_rules.freebsd)
		/* linux_newuname: "strlcpy(utsname.version, version, ...)",
		 * the kernel's version string cut at its first newline. */
		snprintf(u.version, sizeof u.version, "%s", "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC");
	else
		/* sys/lx_brand.h: "#define LX_UNAME_VERSION \"BrandZ virtual
		 * linux\"" */
		snprintf(u.version, sizeof u.version, "%s", "BrandZ virtual linux");
	return fb_copy(c, c->req->data.args[0] & (c->req->data.arch == AUDIT_ARCH_I386 ? 0xffffffffu : UINT64_MAX),
		       &u, sizeof u, 1);
}

/* FIONREAD on a pipe or FIFO opened for writing only: sys/kern/sys_pipe.c,
 * pipe_ioctl: "case FIONREAD: if (!(fp->f_flag & FREAD)) { *(int *)data =
 * 0; ... return (0); }". FreeBSD's anonymous pipes open both ends FREAD |
 * FWRITE (kern_pipe: "fflags = FREAD | FWRITE"), and the write end's count
 * is then of its own buffer, the one its peer writes into, which a Linux
 * program cannot fill (Linux's read end is read-only): 0 as well. 1 when
 * answered, 0 to let the kernel answer. */
static int fb_fionread(const struct fb_call *c, int *err)
{
	int fd = -1;
	*err = fb_getfd(c, (int)(uint32_t)c->req->data.args[0], &fd);
	if (*err)
		return *err == FB_GONE;
	struct stat st;
	int flags = fcntl(fd, F_GETFL);
	int ours = fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && flags >= 0 && (flags & O_ACCMODE) == O_WRONLY;
	close(fd);
	if (!ours)
		return 0;
	int zero = 0;
	uint64_t mask = c->req->data.arch == AUDIT_ARCH_I386 ? 0xffffffffu : UINT64_MAX;
	*err = fb_copy(c, c->req->data.args[2] & mask, &zero, sizeof zero, 1);
	return 1;
}

/* Up to this many pollfds are looked at; a larger poll runs as Linux's. */
#define FB_POLL_MAX 256

/* A pipe's write end whose reader is gone (Linux says POLLERR for it:
 * fs/pipe.c, pipe_poll, "if (!pipe->readers) mask |= EPOLLERR;"). */
static int fb_widowed_pipe(int fd)
{
	struct stat st;
	struct statfs fs;
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || (flags & O_ACCMODE) != O_WRONLY || fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) ||
	    fstatfs(fd, &fs) != 0 || fs.f_type != PIPEFS_MAGIC)
		return 0;
	struct pollfd p = { fd, POLLOUT, 0 };
	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

/* poll and ppoll where one of the descriptors is an anonymous pipe's
 * write end whose reader is gone: sys/kern/sys_pipe.c, pipe_poll, for that
 * end (fp->f_data its own pipe, wpipe its peer, the closed read end;
 * pipeclose set PIPE_EOF on it, "ppipe->pipe_state |= PIPE_EOF"):
 *
 *	if (fp->f_flag & FWRITE && events & (POLLOUT | POLLWRNORM))
 *		if (wpipe->pipe_present != PIPE_ACTIVE || ...
 *			revents |= events & (POLLOUT | POLLWRNORM);
 *	...
 *		if (rpipe->pipe_state & PIPE_EOF) {
 *			if (fp->f_flag & FREAD)
 *				revents |= (events & (POLLIN | POLLRDNORM));
 *			if (wpipe->pipe_present != PIPE_ACTIVE || ...
 *				revents |= POLLHUP;
 *
 * and never POLLERR. Such a pollfd is always ready (POLLHUP is reported
 * unasked), so the call returns at once: its answer is a poll of the
 * caller's descriptors with no timeout, that end's revents replaced. Every
 * other poll runs as Linux's (CONTINUE). 1 when answered. */
static int fb_poll(const struct fb_call *c, int *err, int64_t *val)
{
	const struct seccomp_data *d = &c->req->data;
	uint64_t mask = d->arch == AUDIT_ARCH_I386 ? 0xffffffffu : UINT64_MAX;
	uint64_t addr = d->args[0] & mask;
	uint32_t nfds = (uint32_t)d->args[1];
	struct pollfd fds[FB_POLL_MAX];
	int dups[FB_POLL_MAX];
	*err = 0;
	if (nfds == 0 || nfds > FB_POLL_MAX)
		return 0;
	if ((*err = fb_copy(c, addr, fds, nfds * sizeof fds[0], 0)) != 0) {
		int gone = *err == FB_GONE;
		*err = 0;
		return gone; /* EFAULT: the kernel's own */
	}
	int widowed = 0;
	for (uint32_t i = 0; i < nfds; i++) {
		dups[i] = -1;
		if (fds[i].fd < 0)
			continue;
		int e = fb_getfd(c, fds[i].fd, &dups[i]);
		if (e == FB_GONE) {
			for (uint32_t j = 0; j < i; j++)
				if (dups[j] >= 0)
					close(dups[j]);
			*err = FB_GONE;
			return 1;
		}
		if (dups[i] >= 0 && fb_widowed_pipe(dups[i]))
			widowed |= 1;
	}
	int answered = 0;
	if (widowed) {
		struct pollfd mine[FB_POLL_MAX];
		for (uint32_t i = 0; i < nfds; i++) {
			mine[i] = fds[i];
			mine[i].fd = dups[i];
			mine[i].revents = 0;
		}
		if (poll(mine, nfds, 0) >= 0) {
			int64_t n = 0;
			for (uint32_t i = 0; i < nfds; i++) {
				short ev = fds[i].events;
				if (fds[i].fd < 0)
					fds[i].revents = 0;
				else if (dups[i] < 0)
					fds[i].revents = POLLNVAL;
				else if (fb_widowed_pipe(dups[i]))
					fds[i].revents = (short)((ev & (POLLOUT | POLLWRNORM | POLLIN | POLLRDNORM)) |
								 POLLHUP);
				else
					fds[i].revents = mine[i].revents;
				n += fds[i].revents != 0;
			}
			*err = fb_copy(c, addr, fds, nfds * sizeof fds[0], 1);
			*val = n;
			answered = 1;
		}
	}
	for (uint32_t i = 0; i < nfds; i++)
		if (dups[i] >= 0)
			close(dups[i]);
	return answered;
}

/* The caller's NUL-terminated path, read page by page (it may end just
 * before an unreadable page). 0, or an errno. */
static int fb_path(const struct fb_call *c, uint64_t addr, char *buf, size_t size)
{
	size_t n = 0;
	while (n < size - 1) {
		size_t page = 4096 - (size_t)((addr + n) % 4096);
		size_t want = page < size - 1 - n ? page : size - 1 - n;
		int err = fb_copy(c, addr + n, buf + n, want, 0);
		if (err)
			return err;
		if (memchr(buf + n, '\0', want))
			return 0;
		n += want;
	}
	buf[size - 1] = '\0';
	return ENAMETOOLONG;
}

/* A descriptor number as fdescfs's lookup takes it: digits, no leading 0
 * but in "0" ("the only time a leading 0 is acceptable is if it's \"0\""),
 * up to the end of the path. -1 otherwise. */
static long fb_fd_number(const char *s)
{
	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	long v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > INT_MAX / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* open and openat of /proc/self/fd/N, /proc/PID/fd/N and /dev/fd/N: on
 * FreeBSD /proc is linprocfs, whose fd node is a symbolic link
 * (linprocfs_dofdescfs: "if (p == curproc) sbuf_printf(sb, \"/dev/fd\");
 * else sbuf_printf(sb, \"unknown\");") to fdescfs, whose fdesc_open sets
 * td_dupfd and fails with ENODEV, on which kern_openat calls dupfdopen:
 * the new descriptor shares the open file description of N (offset and
 * status flags), with N's close-on-exec flag (fde_copy of the whole
 * entry; O_CLOEXEC is not looked at), EACCES for a mode N was not opened
 * with, EBADF where N is no descriptor (fdescfs's lookup: fget). Only while
 * the caller sees a procfs at /proc (not with --no-proc), for an absolute
 * path (a relative one goes through a directory descriptor, and its
 * result is the kernel's), and not with O_PATH. 1 when answered. */
static int fb_open(const struct fb_call *c, int is_openat, int *err, int64_t *val)
{
	const struct seccomp_data *d = &c->req->data;
	uint64_t mask = d->arch == AUDIT_ARCH_I386 ? 0xffffffffu : UINT64_MAX;
	uint64_t path_addr = d->args[is_openat ? 1 : 0] & mask;
	int flags = (int)(uint32_t)d->args[is_openat ? 2 : 1];
	char path[64];
	*err = 0;
	if ((flags & O_PATH) || fb_path(c, path_addr, path, sizeof path) != 0)
		return 0;
	const char *rest = NULL;
	long pid = -1;
	if (strncmp(path, "/dev/fd/", 8) == 0) {
		rest = path + 8;
	} else if (strncmp(path, "/proc/self/fd/", 14) == 0) {
		rest = path + 14;
	} else if (strncmp(path, "/proc/", 6) == 0) {
		char *end;
		pid = strtol(path + 6, &end, 10);
		if (end == path + 6 || strncmp(end, "/fd/", 4) != 0 || pid <= 0)
			return 0;
		rest = end + 4;
	} else {
		return 0;
	}
	long n = fb_fd_number(rest);
	if (n < 0)
		return 0;
	/* The caller's /proc, as it sees it: /proc/TID/root is its root. */
	char where[64];
	struct statfs fs;
	snprintf(where, sizeof where, "/proc/%d/root/proc", (int)c->req->pid);
	if (statfs(where, &fs) != 0 || fs.f_type != PROC_SUPER_MAGIC)
		return 0;
	if (pid > 0) {
		/* linprocfs's /proc/PID for the caller's own process only;
		 * another's fd node says "unknown", a name that is not there. */
		char status[4096];
		int ok = 1;
		pid_t tgid = 0;
		if (fb_read_status((pid_t)c->req->pid, status, sizeof status) == 0)
			tgid = (pid_t)fb_status_field(status, "\nTgid:", 10, &ok);
		if (!ok || tgid <= 0)
			return 0;
		if (pid != tgid) {
			*err = ENOENT;
			return 1;
		}
	}
	int fd = -1;
	if ((*err = fb_getfd(c, (int)n, &fd)) != 0) {
		if (*err != FB_GONE)
			*err = EBADF;
		return 1;
	}
	/* "if (((mode & (FREAD|FWRITE)) | fp->f_flag) != fp->f_flag)
	 * return (EACCES);" FreeBSD's pipes are open both ways. */
	struct stat st;
	int have = fcntl(fd, F_GETFL);
	int want = flags & O_ACCMODE;
	int is_pipe = fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && fstatfs(fd, &fs) == 0 && fs.f_type == PIPEFS_MAGIC;
	int have_r = is_pipe || (have & O_ACCMODE) != O_WRONLY;
	int have_w = is_pipe || (have & O_ACCMODE) != O_RDONLY;
	if (((want == O_RDONLY || want == O_RDWR) && !have_r) || ((want == O_WRONLY || want == O_RDWR) && !have_w)) {
		close(fd);
		*err = EACCES;
		return 1;
	}
	/* N's close-on-exec flag, from its fdinfo (pidfd_getfd's copy has
	 * its own). */
	int cloexec = 0;
	snprintf(where, sizeof where, "/proc/%d/fdinfo/%ld", (int)c->req->pid, n);
	int info = open(where, O_RDONLY | O_CLOEXEC);
	if (info >= 0) {
		char text[512];
		ssize_t got = read(info, text, sizeof text - 1);
		close(info);
		if (got > 0) {
			text[got] = '\0';
			char *f = strstr(text, "flags:");
			cloexec = f && (strtoul(f + 6, NULL, 8) & O_CLOEXEC) != 0;
		}
	}
	struct seccomp_notif_addfd addfd;
	memset(&addfd, 0, sizeof addfd);
	addfd.id = c->req->id;
	addfd.srcfd = (uint32_t)fd;
	addfd.newfd_flags = cloexec ? O_CLOEXEC : 0;
	int newfd = ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
	*err = newfd < 0 ? (errno == ENOENT ? FB_GONE : errno) : 0;
	*val = newfd;
	close(fd);
	return 1;
}

/* Which of the notified calls req is. */
enum sv_call { SV_SENDFILE, SV_UNAME, SV_IOCTL, SV_POLL, SV_OPEN, SV_OPENAT, SV_OTHER };

struct sv_nr {
	uint32_t arch; /* as seccomp_data says it */
	int nr;
	enum sv_call call;
};
static struct sv_nr sv_nrs[48];
static size_t sv_nnrs;

/* The number of name for the ABI token (x32's carry their flag), under
 * the arch the kernel reports for it (AUDIT_ARCH_X86_64 for x32 too). */
static void sv_learn(uint32_t token, uint32_t arch, const char *name, enum sv_call call)
{
	int nr = seccomp_syscall_resolve_name_arch(token, name);
	if (nr >= 0 && sv_nnrs < sizeof sv_nrs / sizeof sv_nrs[0])
		sv_nrs[sv_nnrs++] = (struct sv_nr){ arch, nr, call };
}

static void sv_learn_numbers(void)
{
	static const struct {
		const char *name;
		enum sv_call call;
	} calls[] = { { "sendfile", SV_SENDFILE }, { "sendfile64", SV_SENDFILE }, { "uname", SV_UNAME },
		      { "ioctl", SV_IOCTL },	   { "poll", SV_POLL },		  { "ppoll", SV_POLL },
		      { "ppoll_time64", SV_POLL }, { "open", SV_OPEN },		  { "openat", SV_OPENAT } };
	uint32_t native = seccomp_arch_native();
	sv_nnrs = 0;
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		sv_learn(native, native, calls[i].name, calls[i].call);
		if (native == SCMP_ARCH_X86_64) {
			sv_learn(SCMP_ARCH_X86, AUDIT_ARCH_I386, calls[i].name, calls[i].call);
			sv_learn(SCMP_ARCH_X32, AUDIT_ARCH_X86_64, calls[i].name, calls[i].call);
		}
	}
}

static enum sv_call sv_call_of(const struct seccomp_data *d)
{
	for (size_t i = 0; i < sv_nnrs; i++)
		if (sv_nrs[i].arch == d->arch && sv_nrs[i].nr == d->nr)
			return sv_nrs[i].call;
	return SV_OTHER;
}

static void fb_answer(const struct fb_call *c, int err, int64_t val)
{
	struct seccomp_notif_resp resp;
	memset(&resp, 0, sizeof resp);
	resp.id = c->req->id;
	resp.val = err ? 0 : val;
	resp.error = err ? -err : 0;
	/* ENOENT: the caller left meanwhile. */
	(void)ioctl(c->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

/* One notification, answered: sendfile as the layer performs it, the
 * other calls the layer's way or, where the layer's answer is Linux's,
 * by the kernel (CONTINUE). */
static void sv_serve_one(const struct seccomp_notif *req, int listener, int killable)
{
	struct fb_call c = { req, listener, killable, -1 };
	enum sv_call call = sv_call_of(&req->data);
	int64_t val = 0;
	int answered = 1;
	int err = fb_open_pidfd(&c);
	if (err == 0) {
		switch (call) {
		case SV_SENDFILE:
			err = sv_rules.illumos ? lx_sendfile64(&c, &val) : fb_linux_sendfile(&c, &val);
			break;
		case SV_UNAME:
			err = sv_uname(&c);
			break;
		case SV_IOCTL:
			answered = fb_fionread(&c, &err);
			break;
		case SV_POLL:
			answered = fb_poll(&c, &err, &val);
			break;
		case SV_OPEN:
		case SV_OPENAT:
			answered = fb_open(&c, call == SV_OPENAT, &err, &val);
			break;
		default:
			answered = 0;
			break;
		}
	}
	if (c.pidfd >= 0)
		close(c.pidfd);
	if (err == FB_GONE)
		return;
	if (answered)
		fb_answer(&c, err, val);
	else
		sv_continue(&c);
}

/* Room for the kernel's struct seccomp_notif, which may be larger than
 * the one of these headers (SECCOMP_GET_NOTIF_SIZES says): made before the
 * fork, so that the supervisor allocates nothing. */
static union {
	struct seccomp_notif notif;
	char bytes[1024];
} fb_req;
static size_t fb_req_size;

/* The supervisor: one process per notification, until the listener hangs
 * up (no process of the filter is left). */
static void fb_serve(int listener, int killable)
{
	for (;;) {
		struct pollfd p = { listener, POLLIN, 0 };
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
			_exit(0);
		memset(fb_req.bytes, 0, fb_req_size);
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &fb_req.notif) != 0) {
			if (errno == EINTR || errno == ENOENT)
				continue; /* ENOENT: the caller left before we took it */
			_exit(1);
		}
		/* The calls other than sendfile never wait: answered here. */
		if (sv_call_of(&fb_req.notif.data) != SV_SENDFILE) {
			sv_serve_one(&fb_req.notif, listener, killable);
			continue;
		}
		pid_t worker = fork();
		if (worker == 0) {
			sv_serve_one(&fb_req.notif, listener, killable);
			_exit(0);
		}
		if (worker < 0) /* no process to spare: this one waits for it */
			sv_serve_one(&fb_req.notif, listener, killable);
	}
}

/* Every descriptor but keep: the program's pipes and sockets must not live
 * on in the supervisor, and stdin, stdout and stderr become /dev/null. */
static void fb_close_all_but(int keep)
{
	int done = (keep == 0 || syscall(SYS_close_range, 0, keep - 1, 0) == 0) &&
		   syscall(SYS_close_range, keep + 1, ~0U, 0) == 0;
	if (!done) {
		struct rlimit rl;
		long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur
											    : 65536;
		for (long fd = 0; fd < max; fd++)
			if (fd != keep)
				close((int)fd);
	}
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; null >= 0 && fd <= 2; fd++)
		if (fd != null && fd != keep)
			dup2(null, fd);
	if (null > 2 && null != keep)
		close(null);
}

/* The supervisor's side of the start: tells its pid, takes the listener
 * (and whether signals are its to see) from the program's side, serves. */
static void fb_supervisor(int sock)
{
	fb_close_all_but(sock);
	/* Not to keep the program's working directory busy (a failure only
	 * does). */
	if (chdir("/") != 0) {
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN); /* the workers reap themselves */
	pid_t self = getpid();
	if (write(sock, &self, sizeof self) != (ssize_t)sizeof self)
		_exit(1);
	char killable = 0;
	char control[CMSG_SPACE(sizeof(int))];
	memset(control, 0, sizeof control);
	struct iovec iov = { &killable, 1 };
	struct msghdr msg;
	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof control;
	ssize_t n;
	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
	}
	struct cmsghdr *cm = n == 1 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
		_exit(0); /* the filter was not loaded */
	int listener;
	memcpy(&listener, CMSG_DATA(cm), sizeof listener);
	close(sock);
	fb_serve(listener, killable);
}

/* The filter as BPF, from libseccomp (2.5 cannot load it with
 * WAIT_KILLABLE_RECV itself). */
static int fb_export(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	int fd = (int)syscall(SYS_memfd_create, "sfk-filter", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = seccomp_export_bpf(ctx, fd);
	off_t size = rc == 0 ? lseek(fd, 0, SEEK_CUR) : -1;
	if (rc == 0 && (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
			size / (off_t)sizeof(struct sock_filter) > USHRT_MAX))
		rc = -EINVAL;
	struct sock_filter *insns = rc == 0 ? malloc((size_t)size) : NULL;
	if (rc == 0 && !insns)
		rc = -ENOMEM;
	if (rc == 0 && pread(fd, insns, (size_t)size, 0) != (ssize_t)size)
		rc = -EIO;
	close(fd);
	if (rc != 0) {
		free(insns);
		return rc;
	}
	prog->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	prog->filter = insns;
	return 0;
}

/* Can the supervisor read the signal state of the program's threads? */
static int fb_proc_usable(void)
{
	char status[4096];
	int ok = 1;
	if (fb_read_status(getpid(), status, sizeof status) != 0)
		return 0;
	fb_status_field(status, "\nSigCgt:", 16, &ok);
	return ok;
}

/* Starts the supervisor, loads the filter with a listener and hands the
 * listener over. The supervisor is started before the filter exists, so
 * that the filter's users are the program's processes alone (the listener
 * hangs up when they are gone) and the supervisor's own calls are not
 * refused; through a second fork, so that the program has no child it did
 * not make. */
static int sv_load(scmp_filter_ctx ctx, const struct sfk_rules *r)
{
	struct seccomp_notif_sizes sizes;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0)
		return -errno;
	if (sizes.seccomp_notif > sizeof fb_req || sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp))
		return -EOVERFLOW;
	fb_req_size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif
									  : sizeof(struct seccomp_notif);
	sv_rules = *r;
	sv_learn_numbers();
	struct sock_fprog prog;
	int rc = fb_export(ctx, &prog);
	if (rc != 0)
		return rc;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		rc = -errno;
		free(prog.filter);
		return rc;
	}
	pid_t middle = fork();
	if (middle == 0) {
		/* Its own session: a terminal's ^C for the program's process
		 * group does not end it; the program's end does. */
		setsid();
		pid_t sup = fork();
		if (sup == 0)
			fb_supervisor(sv[1]);
		_exit(sup < 0 ? 1 : 0);
	}
	close(sv[1]);
	if (middle < 0) {
		rc = -errno;
		close(sv[0]);
		free(prog.filter);
		return rc;
	}
	while (waitpid(middle, NULL, 0) < 0 && errno == EINTR) {
	}
	pid_t sup = 0;
	ssize_t n;
	while ((n = read(sv[0], &sup, sizeof sup)) < 0 && errno == EINTR) {
	}
	if (n != (ssize_t)sizeof sup) {
		close(sv[0]);
		free(prog.filter);
		return -ECHILD;
	}
	/* Where Yama allows ptrace of descendants only, the supervisor (no
	 * ancestor) needs the program's leave for pidfd_getfd and
	 * process_vm_readv. Without Yama this fails, and nothing is missing. */
	(void)prctl(PR_SET_PTRACER, (unsigned long)sup, 0, 0, 0);

	char killable = (char)fb_proc_usable();
	unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
	int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				    flags | (killable ? SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV : 0), &prog);
	if (listener < 0 && killable && errno == EINVAL) {
		/* Before Linux 5.19: signals interrupt the way Linux's do. */
		killable = 0;
		listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	}
	rc = listener < 0 ? -errno : 0;
	free(prog.filter);
	if (rc == 0) {
		char control[CMSG_SPACE(sizeof(int))];
		memset(control, 0, sizeof control);
		struct iovec iov = { &killable, 1 };
		struct msghdr msg;
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = control;
		msg.msg_controllen = sizeof control;
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &listener, sizeof listener);
		while (sendmsg(sv[0], &msg, MSG_NOSIGNAL) < 0) {
			if (errno != EINTR) {
				/* The filter is in place and no one serves it:
				 * its sendfile calls fail with ENOSYS. */
				rc = -errno;
				break;
			}
		}
		close(listener);
	}
	close(sv[0]);
	return rc;
}
