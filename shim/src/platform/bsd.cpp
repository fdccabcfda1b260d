// The BSDs and macOS behind platform.h: FreeBSD, DragonFly, NetBSD, OpenBSD
// and macOS, one file, the differences chosen here at the top.
//
//   native sendfile   FreeBSD, DragonFly: sendfile(fd, s, offset, nbytes, hdtr, &sbytes, flags)
//                     macOS:              sendfile(fd, s, offset, &len, hdtr, flags)
//                     NetBSD, OpenBSD:    none (ENOSYS: `auto` emulates from the first call)
//   *offset access    no process_vm_readv: mincore() says whether the page is
//                     mapped (EFAULT if not); a mapped page is trusted (see read_user)
//   pipe room         FIONREAD + FIONSPACE where the system has FIONSPACE,
//                     else FIONREAD and PIPE_SIZE (16 KiB) as the capacity
//
// Not built for these systems here (no BSD or macOS headers on this
// machine). On Linux, unit tests compile it in its generic form
// (SFSHIM_PLATFORM_BSD_GENERIC: no native call, tests/unit/bsd_platform_test.cpp)
// and with each native branch calling a model of the system's sendfile
// (SFSHIM_BSD_MODEL_FREEBSD, SFSHIM_BSD_MODEL_MACOS: tests/unit/bsd_sendfile_model.h,
// written from the systems' manual pages and kernel sources).
// SPDX-License-Identifier: BSD-2-Clause
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#if defined(__FreeBSD__) || defined(__DragonFly__) || defined(__NetBSD__) || \
    defined(__OpenBSD__) || defined(__APPLE__)
#include <sys/filio.h>
#endif

#if defined(__FreeBSD__) || defined(__DragonFly__) || defined(SFSHIM_BSD_MODEL_FREEBSD)
#define SFSHIM_NATIVE_FREEBSD 1
#elif defined(__APPLE__) || defined(SFSHIM_BSD_MODEL_MACOS)
#define SFSHIM_NATIVE_MACOS 1
#elif defined(__NetBSD__) || defined(__OpenBSD__) || defined(SFSHIM_PLATFORM_BSD_GENERIC)
#define SFSHIM_NATIVE_NONE 1
#else
#error "platform/bsd.cpp is for FreeBSD, DragonFly, NetBSD, OpenBSD and macOS"
#endif

#if defined(__OpenBSD__)
#define SFSHIM_HAVE_MINCORE 0  // removed from OpenBSD
#else
#define SFSHIM_HAVE_MINCORE 1
#endif

#if defined(SFSHIM_BSD_MODEL_FREEBSD) || defined(SFSHIM_BSD_MODEL_MACOS)
#include "bsd_sendfile_model.h"
#define SFSHIM_SYSTEM_SENDFILE sfshim_model_sendfile
#else
#define SFSHIM_SYSTEM_SENDFILE sendfile
#endif

#include "common.h"
#include "platform/platform.h"

namespace sfshim::platform {
namespace {

// PIPE_SIZE of every BSD's sys/pipe.h (the small-pipe size; pipes may grow
// to 64 KiB). Underestimating only makes one fill smaller, never blocks.
constexpr size_t kPipeSizeEstimate = 16384;

#if !SFSHIM_NATIVE_NONE
// The native zero-copy call for what it handles exactly as Linux: a regular
// file into a connected stream socket, a positive count, a range well below
// every file-size limit. Anything else gets EINVAL, so `auto` emulates it
// (the emulation's validation then gives Linux's errno).
bool native_fits(int out_fd, int in_fd, int64_t pos, size_t count) {
    if (count == 0 || count > kMaxRwCount) return false;  // 0 means "to EOF" natively
    if (pos < 0 || pos + static_cast<int64_t>(count) > kSmallestFileSizeLimit) return false;
    struct stat in_st, out_st;
    if (fstat(in_fd, &in_st) != 0 || !S_ISREG(in_st.st_mode)) return false;
    if (fstat(out_fd, &out_st) != 0 || !S_ISSOCK(out_st.st_mode)) return false;
    int in_flags = fcntl(in_fd, F_GETFL), out_flags = fcntl(out_fd, F_GETFL);
    if (in_flags < 0 || (in_flags & O_ACCMODE) == O_WRONLY) return false;
    if (out_flags < 0 || (out_flags & O_APPEND) || (out_flags & O_ACCMODE) == O_RDONLY) return false;
    int type = 0;
    socklen_t len = sizeof type;
    return getsockopt(out_fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

// Neither system's sendfile sends SIGPIPE for EPIPE; Linux's does. A socket
// that asked for none (SO_NOSIGPIPE, which Linux lacks) gets none.
void sigpipe_as_linux(int out_fd) {
#ifdef SO_NOSIGPIPE
    int off = 0;
    socklen_t len = sizeof off;
    if (getsockopt(out_fd, SOL_SOCKET, SO_NOSIGPIPE, &off, &len) == 0 && off != 0) return;
#else
    (void)out_fd;
#endif
    raise_sigpipe();
}

// One native call: the bytes sent (maybe fewer than count: EOF, a
// non-blocking socket, a signal), or -errno when none were.
ssize_t native_once(int out_fd, int in_fd, int64_t pos, size_t count) {
#if SFSHIM_NATIVE_FREEBSD
    off_t sent = 0;  // nbytes is never 0 here: 0 would mean "to EOF"
    int r = SFSHIM_SYSTEM_SENDFILE(in_fd, out_fd, static_cast<off_t>(pos), count, nullptr, &sent, 0);
#else  // macOS: len in, bytes sent out (also on failure)
    off_t sent = static_cast<off_t>(count);
    int r = SFSHIM_SYSTEM_SENDFILE(in_fd, out_fd, static_cast<off_t>(pos), &sent, nullptr, 0);
#endif
    // EAGAIN, EINTR and EPIPE may come with a partial count: Linux returns that count.
    if (r == 0 || sent > 0) return static_cast<ssize_t>(sent);
    int err = errno;
    // A peer that has gone is ENOTCONN to macOS and older FreeBSD, EPIPE to
    // Linux: EINVAL, so that `auto` emulates, whose send says EPIPE.
    if (err == ENOTCONN) return -EINVAL;
    if (err == EPIPE) sigpipe_as_linux(out_fd);
    return -err;
}
#endif

}  // namespace

ssize_t native_sendfile(int out_fd, int in_fd, int64_t* offset, size_t count) {
#if SFSHIM_NATIVE_NONE
    (void)out_fd, (void)in_fd, (void)offset, (void)count;
    errno = ENOSYS;
    return -1;
#else
    int saved = errno;
    int64_t pos = 0;
    if (offset != nullptr) {
        if (read_user(offset, &pos, sizeof pos) != 0) {
            errno = EFAULT;
            return -1;
        }
    } else {
        off_t cur = lseek(in_fd, 0, SEEK_CUR);
        if (cur < 0) {
            errno = EINVAL;
            return -1;
        }
        pos = cur;
    }
    if (!native_fits(out_fd, in_fd, pos, count)) {
        errno = EINVAL;
        return -1;
    }
    ssize_t sent = native_once(out_fd, in_fd, pos, count);
    if (sent < 0) {
        errno = static_cast<int>(-sent);
        return -1;
    }
    // Linux's accounting: *offset advanced, or the input's position.
    int64_t end = pos + sent;
    if (offset != nullptr) {
        if (write_user(offset, &end, sizeof end) != 0) {
            errno = EFAULT;
            return -1;
        }
    } else {
        lseek(in_fd, static_cast<off_t>(end), SEEK_SET);
    }
    errno = saved;
    return sent;
#endif
}

ssize_t native_sendfile_off32(int out_fd, int in_fd, int32_t* offset, size_t count) {
    (void)out_fd, (void)in_fd, (void)offset, (void)count;
    errno = ENOSYS;  // Linux's i386 ABI only
    return -1;
}

namespace {
// No process_vm_readv here. A page that is not mapped at all is EFAULT, as
// the kernel's get_user would say; a mapped page is trusted, as glibc's own
// wrapper does: an offset in PROT_NONE or read-only memory faults in the
// host instead of giving EFAULT (a documented difference).
#if SFSHIM_HAVE_MINCORE
// mincore's address and vector types differ by system (void*, const void*,
// caddr_t; char*, unsigned char*): take them from its declaration.
template <typename Addr, typename Vec>
int call_mincore(int (*fn)(Addr, size_t, Vec*), void* addr, size_t len) {
    Vec vec[2];
    return fn(static_cast<Addr>(addr), len, vec);
}
#endif

int check_mapped(const void* where, size_t n) {
#if SFSHIM_HAVE_MINCORE
    uintptr_t at = reinterpret_cast<uintptr_t>(where);
    uintptr_t page = at & ~static_cast<uintptr_t>(kPageSize - 1);
    size_t span = static_cast<size_t>(at + n - page);
    if (span > 2 * kPageSize) return 0;  // never: an offset is 8 bytes
    if (call_mincore(&mincore, reinterpret_cast<void*>(page), span) != 0 && errno == ENOMEM) return EFAULT;
#else
    (void)where, (void)n;
#endif
    return 0;
}
}  // namespace

int read_user(const void* where, void* value, size_t n) {
    int saved = errno;
    int err = check_mapped(where, n);
    errno = saved;
    if (err == 0) memcpy(value, where, n);
    return err;
}

int write_user(void* where, const void* value, size_t n) {
    int saved = errno;
    int err = check_mapped(where, n);
    errno = saved;
    if (err == 0) memcpy(where, value, n);
    return err;
}

// The stack's bounds need a different non-portable call on each system
// (pthread_attr_get_np, pthread_getattr_np, pthread_stackseg_np,
// pthread_get_stackaddr_np); without them every offset takes read_user.
bool on_live_stack(const void* p, size_t size, const void* frame) {
    (void)p, (void)size, (void)frame;
    return false;
}

void forget_learned_state() {}

// The native call here has Linux's accounting put on top (native_sendfile).
int native_sendfile_keeps_counts(int in_fd) {
    (void)in_fd;
    return 1;
}

const char* kernel_layer_name() { return nullptr; }

bool kernel_wider_than_process() { return false; }

// Directories too: fpathconf answers for any descriptor on the file system.
bool offset_beyond_fs_limit(int fd, int64_t pos, bool directory) {
    (void)directory;
    if (pos <= kSmallestFileSizeLimit) return false;
    int saved = errno;
    long bits = fpathconf(fd, _PC_FILESIZEBITS);  // signed offsets: bits - 1 of them
    errno = saved;
    if (bits <= 0 || bits >= 64) return false;   // unknown or no limit short of INT64_MAX
    int64_t max = (int64_t{1} << (bits - 1)) - 1;
    return pos > max;
}

bool pipe_capacity(int fd, size_t* capacity, size_t* queued) {
    int q = 0;
    if (ioctl(fd, FIONREAD, &q) < 0 || q < 0) return false;
    *queued = static_cast<size_t>(q);
#ifdef FIONSPACE
    int space = 0;
    if (ioctl(fd, FIONSPACE, &space) == 0 && space >= 0) {
        *capacity = static_cast<size_t>(q) + static_cast<size_t>(space);
        return true;
    }
#endif
    *capacity = max_of(kPipeSizeEstimate, static_cast<size_t>(q));
    return true;
}

// FIONSPACE tells the room left, so the queue need not be known; without it
// the room is an estimate (FIONREAD on a write end says 0 on FreeBSD).
size_t pipe_blind_piece() {
#ifdef FIONSPACE
    return 0;
#else
    return 512;
#endif
}

bool splice_reads_holes_as_zero_page(int) { return false; }  // Linux's tmpfs only

bool input_cannot_splice(int fd) {
    (void)fd;
    return false;  // no splice: every readable file reads
}

// No splice: a character device that reads at all can be sent from.
bool chardev_can_splice(uint64_t rdev) {
    (void)rdev;
    return true;
}

void raise_sigpipe() { pthread_kill(pthread_self(), SIGPIPE); }

#if defined(SFSHIM_PLATFORM_BSD_GENERIC) || defined(SFSHIM_BSD_MODEL_FREEBSD) || defined(SFSHIM_BSD_MODEL_MACOS)
// Compiled on Linux for the unit tests, where libc has no issetugid.
bool elevated_rights() { return getuid() != geteuid() || getgid() != getegid(); }
#else
// Set by exec of a set-user-ID or set-group-ID program, and kept after it
// changes its IDs.
bool elevated_rights() { return issetugid() != 0; }
#endif

int path_only_open_flag() {
#ifdef O_PATH
    return O_PATH;  // FreeBSD 14 and later
#else
    return 0;
#endif
}

int msg_dontwait_flag() {
#ifdef MSG_DONTWAIT
    return MSG_DONTWAIT;  // every BSD and macOS have it
#else
    return 0;
#endif
}

int map_prefault_flag() {
#ifdef MAP_PREFAULT_READ
    return MAP_PREFAULT_READ;  // FreeBSD
#else
    return 0;
#endif
}

uint32_t monotonic_ms() {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
    return static_cast<uint32_t>(static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u);
}

// No system here names a mapping's file: unlinked files' entries go when idle.
int mapping_deleted(const void*, size_t) { return -1; }

void* map_anonymous(size_t size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
}

void unmap_anonymous(void* p, size_t size) { munmap(p, size); }
// posix_fallocate where the system has it (it returns the errno); macOS has
// none.
int allocate_file(int fd, off_t size) {
#if defined(__APPLE__)
    (void)fd;
    (void)size;
    return EOPNOTSUPP;
#else
    return posix_fallocate(fd, 0, size);
#endif
}

}  // namespace sfshim::platform
