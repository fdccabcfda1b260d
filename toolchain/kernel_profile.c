/* The seccomp rules and the /proc-less mount namespace of kernel_profile.h,
 * and the supervisor that plays FreeBSD's Linux sendfile.
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
	return rc;
}

static int freebsd_load(scmp_filter_ctx ctx);

int sfk_install(const struct sfk_rules *r)
{
	if (r->freebsd && (r->compat || r->sendfile_errno || r->sendfile_count_zero))
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
		if (r->freebsd)
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
		/* linux_signal.c, linux_sys_rt_sigprocmask: the switch on `how`
		 * refuses a bad one (EINVAL) before the set is copied in, where
		 * Linux copies first (EFAULT for an unreadable set). */
		const struct scmp_arg_cmp bad_how = { .arg = 0, .op = SCMP_CMP_GT, .datum_a = 2 };
		if (rc == 0)
			rc = rule(ctx, EINVAL, SCMP_SYS(rt_sigprocmask), 1, &bad_how);
	}
	if (rc == 0 && r->freebsd)
		rc = freebsd_rules(ctx);
	/* No new privileges: required to load a filter without CAP_SYS_ADMIN, and
	 * a setuid program must not escape (or be fooled by) the filter. */
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		rc = -errno;
	if (rc == 0)
		rc = r->freebsd ? freebsd_load(ctx) : seccomp_load(ctx);
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
		for (ssize_t sent = 0; sent < got;) {
			/* A caller killed meanwhile, or interrupted where signals
			 * are Linux's (and maybe restarted by the kernel, in a
			 * worker of its own): what went out is out, the rest is
			 * no one's. */
			if (!fb_valid(c))
				return FB_GONE;
			/* No SIGPIPE: vn_sendfile hands its mbufs to pr_send()
			 * directly, and FreeBSD raises SIGPIPE only in the write
			 * paths (kern_sendit, soo_write), never for sendfile. */
			ssize_t n = send(out, fb_buf + sent, (size_t)(got - sent), MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0) {
				sent += n;
				*sbytes += n;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				/* "if (so->so_state & SS_NBIO) { error = EAGAIN;" */
				if (nonblocking)
					return EAGAIN;
				if ((err = fb_wait_room(c, out)) != 0)
					return err;
				continue;
			}
			/* A reset connection is SBS_CANTSENDMORE there. */
			if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
				return EPIPE;
			return n < 0 ? errno : EIO;
		}
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

static void fb_serve_one(const struct seccomp_notif *req, int listener, int killable)
{
	struct fb_call c = { req, listener, killable, -1 };
	int64_t val = 0;
	int err = fb_open_pidfd(&c);
	if (err == 0)
		err = fb_linux_sendfile(&c, &val);
	if (c.pidfd >= 0)
		close(c.pidfd);
	if (err != FB_GONE)
		fb_answer(&c, err, val);
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
		pid_t worker = fork();
		if (worker == 0) {
			fb_serve_one(&fb_req.notif, listener, killable);
			_exit(0);
		}
		if (worker < 0) /* no process to spare: this one waits for it */
			fb_serve_one(&fb_req.notif, listener, killable);
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
static int freebsd_load(scmp_filter_ctx ctx)
{
	struct seccomp_notif_sizes sizes;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0)
		return -errno;
	if (sizes.seccomp_notif > sizeof fb_req || sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp))
		return -EOVERFLOW;
	fb_req_size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif
									  : sizeof(struct seccomp_notif);
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
