// Everything the library needs that POSIX does not say: the real symbol, safe
// access to the caller's offset, file-system limits, pipe occupancy. One file
// per platform implements it (linux.cpp here).
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

namespace sfshim::platform {

// The kernel's own sendfile64 (the next object's symbol, else the raw syscall).
ssize_t native_sendfile(int out_fd, int in_fd, int64_t* offset, size_t count);
// The kernel's sendfile with a 32-bit offset (i386 `sendfile`); on 64-bit
// targets, where no such call exists, ENOSYS.
ssize_t native_sendfile_off32(int out_fd, int in_fd, int32_t* offset, size_t count);

// Whether the kernel's sendfile keeps Linux's accounting, so that its answers
// can be passed on: 1 yes, 0 no, -1 not known yet. Linux returns the bytes a
// call moved before it stopped; FreeBSD's Linux layer and illumos LX return
// -1 (EAGAIN, EINTR, EPIPE) and drop them, although they are in the socket,
// and the caller sends them again (docs/platforms.md). Learned once: by the
// layer's name in uname's version, else by a call that moves nothing (count
// 0 from `in_fd`, a regular file, into a socket pair of its own): Linux
// answers 0, FreeBSD's layer EINVAL. Not known while no regular file has been
// seen. Where the platform has a native call of its own, always 1.
int native_sendfile_keeps_counts(int in_fd);
// The layer uname's version names ("FreeBSD linuxulator", "illumos LX"), or
// nullptr.
const char* kernel_layer_name();

// n bytes of the caller's memory, read or written without a fault: 0 or EFAULT.
int read_user(const void* where, void* value, size_t n);
int write_user(void* where, const void* value, size_t n);

// True when [p, p + size) lies in the calling thread's stack above the
// caller's own frame `frame`: memory that is certainly mapped and writable,
// which is where servers keep their offset. Learns the stack's bounds once
// per thread.
bool on_live_stack(const void* p, size_t size, const void* frame);

// For the test harness: forget what this thread learned about its stack and
// what the process learned about refused calls, as in a process that starts
// now (a forked child inherits both, and the child may live in another
// kernel profile than its parent).
void forget_learned_state();

// True when the kernel's ssize_t is wider than the process's: an ILP32
// process (i386) on a 64-bit kernel, whose syscall entry zero-extends
// `count`, so that a count of 2 GiB or more is clamped to MAX_RW_COUNT there
// instead of refused as negative (EINVAL) as a 32-bit kernel does. Asked
// once. Always false on LP64 targets.
bool kernel_wider_than_process();

// The smallest file-system limit a transfer is checked against; below it no
// probe is needed (MAX_NON_LFS, the limit of a file system that sets none).
constexpr int64_t kSmallestFileSizeLimit = 0x7fffffff;
// True when `pos` is past the largest file offset the file system of `fd`
// allows (the kernel's s_maxbytes). False when unknown.
bool offset_beyond_fs_limit(int fd, int64_t pos, bool directory);

// Pipe capacity and the bytes in it now.
bool pipe_capacity(int fd, size_t* capacity, size_t* queued);
// 0 where pipe_capacity tells the bytes queued in a pipe from its write end.
// Where it cannot (FIONREAD answers 0 there: FreeBSD's pipe_ioctl, so also
// its Linux layer), the size of a write that a blocking pipe whose poll says
// POLLOUT takes whole without waiting: POSIX's smallest PIPE_BUF, 512
// (FreeBSD's pipe_poll wants that much room for POLLOUT, and a write of up to
// PIPE_BUF is atomic). Such a pipe is filled in writes of that size while
// poll says room, never by one large write: that would wait for the reader
// where Linux returns a short count (and FreeBSD's writes of 8 KiB or more
// into a blocking pipe wait until the reader has taken them all).
size_t pipe_blind_piece();

// A regular file whose content the kernel cannot splice (per-process /proc
// files): sendfile refuses them with EINVAL. Only called for size-0 files.
bool input_cannot_splice(int fd);

// A file whose holes the kernel's splice read hands on as the shared zero
// page rather than as pages of the file (Linux's tmpfs): a file sent into
// itself then writes zeros where a hole was when each chunk was read, not
// the bytes the call has written there since. Asked only of such calls.
bool splice_reads_holes_as_zero_page(int fd);

// A character device the kernel can splice from (/dev/zero, a tty), unlike
// most (/dev/null, misc devices), whose drivers have no splice read path.
bool chardev_can_splice(uint64_t rdev);

// SIGPIPE to the calling thread, as the kernel sends it on a broken pipe.
void raise_sigpipe();

// True when the process runs with rights its user did not give it: a
// set-user-ID or set-group-ID program, or one with file capabilities (Linux's
// AT_SECURE, the BSDs' issetugid). Its environment is then the invoker's and
// is not trusted with file names.
bool elevated_rights();

// Flags that differ by system: open's path-only flag (a descriptor that can
// neither read nor write; 0 where there is none) and mmap's prefault flag.
int path_only_open_flag();
int map_prefault_flag();
int msg_dontwait_flag();  // a send that never waits

// Milliseconds of a monotonic clock (coarse where the system has one: it
// costs no system call), wrapping at 2^32.
uint32_t monotonic_ms();

// Whether the file mapped at [addr, addr + len) (one whole mapping) has been
// unlinked: 1 yes, 0 no, -1 the system does not tell.
int mapping_deleted(const void* addr, size_t len);

// Zeroed private memory straight from the kernel (no malloc): nullptr on failure.
void* map_anonymous(size_t size);
void unmap_anonymous(void* p, size_t size);

// Allocates the blocks of [0, size) of a regular file, growing it to `size`
// (fallocate, posix_fallocate): 0, or an errno (EOPNOTSUPP or ENOSYS where
// the file system or the system cannot).
int allocate_file(int fd, off_t size);

}  // namespace sfshim::platform
