// Linux specifics behind platform.h.
// SPDX-License-Identifier: BSD-2-Clause
#include <fcntl.h>
#include <pthread.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

#include "common.h"
#include "platform/platform.h"

namespace sfshim::platform {
namespace {

// The kernel's sendfile is the system call itself, as glibc's sendfile and
// sendfile64 are (plain wrappers): no dlsym(RTLD_NEXT), which an old glibc
// has in libdl.so.2, not libc.so.6 (glibc_floor.h). The 64-bit offset is
// SYS_sendfile64 on i386, where SYS_sendfile takes a 32-bit one.
ssize_t raw_sendfile(int out_fd, int in_fd, int64_t* offset, size_t count) {
#ifdef SYS_sendfile64
    return syscall(SYS_sendfile64, out_fd, in_fd, offset, count);
#else
    return syscall(SYS_sendfile, out_fd, in_fd, offset, count);
#endif
}

pid_t self_pid() { return static_cast<pid_t>(syscall(SYS_getpid)); }

// Set once process_vm_readv/writev was refused (ENOSYS in NetBSD's
// compat_linux, EPERM or ENOSYS in sandboxes): later calls go straight to the
// pipe.
std::atomic<bool> g_vm_refused{false};

// Set once fcntl refused F_GETPIPE_SZ: the compat layers know the classic
// commands only and refuse the rest each in its own way (NetBSD's
// linux_sys_fcntl EOPNOTSUPP, FreeBSD's fcntl_common EINVAL, illumos LX's
// 2015 library ENOSYS), a sandbox EPERM. Linux's only other answer is EBADF
// (not a pipe).
std::atomic<bool> g_pipe_size_refused{false};
constexpr size_t kDefaultPipeSize = 16 * kPageSize;
// pipe_blind_piece: -1 not asked yet, else its answer.
std::atomic<int> g_pipe_blind_piece{-1};
constexpr int kPosixPipeBuf = 512;

// Without a descriptor to spare for a pipe (a full table): ask the kernel
// whether the memory reads, with a call that copies 8 bytes in, and whether
// it writes (the old mask is copied out, then the bytes are put back). Each
// probe covers 8 bytes inside one page, so that a fault leaves nothing half
// written. Then the plain access cannot fault, unless another thread unmaps
// the memory in between.
//
// The read probe blocks the signals the 8 bytes name, getting the old mask
// back in the same call, and restores that mask at once: a signal arriving in
// between waits those few instructions. Only an error means "unreadable",
// whatever its errno: a call whose `how` is invalid cannot tell, since the
// compat layers refuse the `how` before they copy (NetBSD's
// linux_sys_rt_sigprocmask and illumos LX's lx_sigprocmask_common answer
// EINVAL first; FreeBSD's linux_rt_sigprocmask turns the copy's EFAULT into
// EINVAL), so every pointer would read as readable there.
int probe_windows(const void* p, size_t n, uintptr_t w[2]) {
    auto a = reinterpret_cast<uintptr_t>(p);
    uintptr_t page_end = (a / kPageSize + 1) * kPageSize;
    if (a + n <= page_end) {
        w[0] = a + 8 <= page_end ? a : page_end - 8;
        return 1;
    }
    w[0] = page_end - 8;
    w[1] = page_end;
    return 2;
}

bool kernel_can_access(const void* p, size_t n, bool write) {
    uintptr_t w[2];
    int count = probe_windows(p, n, w);
    for (int i = 0; i < count; ++i) {
        auto* at = reinterpret_cast<void*>(w[i]);
        uint64_t old_mask = 0;
        if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, at, &old_mask, 8) != 0) return false;
        syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old_mask, nullptr, 8);
    }
    for (int i = 0; write && i < count; ++i) {
        auto* at = reinterpret_cast<void*>(w[i]);
        unsigned char keep[8];
        memcpy(keep, at, 8);  // it reads: checked above
        if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, nullptr, at, 8) != 0) return false;
        memcpy(at, keep, 8);
    }
    return true;
}

// A pipe copies the way the kernel's get_user and put_user do: write(2) from
// memory that does not read fails with EFAULT, and so does read(2) into
// memory that does not write, where the read itself is the store. No lock,
// no malloc: safe in a signal handler.
int copy_through_pipe(void* to, const void* from, size_t n) {
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
        bool ok = kernel_can_access(from, n, false) && kernel_can_access(to, n, true);
        if (ok) memcpy(to, from, n);
        return ok ? 0 : EFAULT;
    }
    int err = EFAULT;
    if (write(p[1], from, n) == static_cast<ssize_t>(n) && read(p[0], to, n) == static_cast<ssize_t>(n)) err = 0;
    close(p[0]);
    close(p[1]);
    return err;
}

// process_vm_readv/writev on ourselves reports EFAULT for memory we may not
// touch, where a plain access would kill the host with SIGSEGV. Where they are
// refused, the pipe does the same; a pointer is never trusted.
int copy_user(void* local, void* remote, size_t size, bool write) {
    int saved = errno;
    int err = EFAULT;
    if (!g_vm_refused.load(std::memory_order_relaxed)) {
        struct iovec l = {local, size};
        struct iovec r = {remote, size};
        ssize_t n = write ? process_vm_writev(self_pid(), &l, 1, &r, 1, 0)
                          : process_vm_readv(self_pid(), &l, 1, &r, 1, 0);
        if (n == static_cast<ssize_t>(size)) {
            errno = saved;
            return 0;
        }
        if (n < 0 && (errno == ENOSYS || errno == EPERM)) g_vm_refused.store(true, std::memory_order_relaxed);
        // process_vm_readv wants a readable mapping, but on x86 a write-only
        // page reads too, and the kernel's get_user reads it: the pipe
        // copies the way get_user does.
        if (!write || g_vm_refused.load(std::memory_order_relaxed))
            err = write ? copy_through_pipe(remote, local, size) : copy_through_pipe(local, remote, size);
    } else {
        err = write ? copy_through_pipe(remote, local, size) : copy_through_pipe(local, remote, size);
    }
    errno = saved;
    return err;
}

}  // namespace

ssize_t native_sendfile(int out_fd, int in_fd, int64_t* offset, size_t count) {
    return raw_sendfile(out_fd, in_fd, offset, count);
}

namespace {
// native_sendfile_keeps_counts: -1 not known, 0 no, 1 yes.
std::atomic<int> g_keeps_counts{-1};
// Set once uname was asked and named no layer: calls made before a regular
// file is seen do not ask again.
std::atomic<bool> g_uname_silent{false};

// uname's version on the layers that drop counts: FreeBSD's linux_newuname
// copies the FreeBSD kernel's version string ("FreeBSD 14.1-RELEASE ..."),
// illumos LX says LX_UNAME_VERSION ("BrandZ virtual linux").
const char* layer_from_version(const char* version) {
    if (strncmp(version, "FreeBSD", 7) == 0) return "FreeBSD linuxulator";
    if (strstr(version, "BrandZ") != nullptr) return "illumos LX";
    return nullptr;
}
}  // namespace

const char* kernel_layer_name() {
    struct utsname u;
    return uname(&u) == 0 ? layer_from_version(u.version) : nullptr;
}

int native_sendfile_keeps_counts(int in_fd) {
    int known = g_keeps_counts.load(std::memory_order_relaxed);
    if (known >= 0) return known;
    int saved = errno;
    if (!g_uname_silent.load(std::memory_order_relaxed) && kernel_layer_name() != nullptr) {
        known = 0;
    } else {
        g_uname_silent.store(true, std::memory_order_relaxed);
        // Count 0 from a regular file: Linux checks the descriptors and
        // returns 0 before anything moves; FreeBSD's linux_sendfile_common
        // refuses it ("Linux cannot have 0 count", EINVAL) before any other
        // check of the descriptors. A kernel or sandbox that refuses every
        // sendfile (ENOSYS, EPERM) moves nothing either: its calls are
        // refused and emulated. EBADF (an input not open for reading) and a
        // full descriptor table tell nothing.
        struct stat st;
        int sv[2];
        if (fstat(in_fd, &st) == 0 && S_ISREG(st.st_mode) &&
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
            int64_t off = 0;
            ssize_t r = raw_sendfile(sv[0], in_fd, &off, 0);
            if (r == 0)
                known = 1;
            else if (errno == EINVAL)
                known = 0;
            else if (errno != EBADF)
                known = 1;
            close(sv[0]);
            close(sv[1]);
        }
    }
    errno = saved;
    if (known >= 0) g_keeps_counts.store(known, std::memory_order_relaxed);
    return known;
}

namespace {
// The calling thread's stack: [lo, hi), or state 2 when it could not be had
// (no /proc).
thread_local uintptr_t t_stack_lo = 0;
thread_local uintptr_t t_stack_hi = 0;
thread_local int t_stack_state = 0;  // 0 unknown, 1 known, 2 unknown for good

// Hex digit value, or -1.
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// The mapping that holds the stack pointer, from /proc/self/maps read with
// plain system calls: no lock and no malloc, so a sendfile from a signal
// handler that interrupted malloc, or this very function, cannot deadlock
// (pthread_getattr_np reads the main thread's stack through stdio).
bool learn_stack(uintptr_t sp) {
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        t_stack_state = 2;
        return false;
    }
    char buf[1024];
    uintptr_t field[2] = {0, 0};
    int which = 0;        // 0: start, 1: end, 2: rest of the line
    bool found = false;
    ssize_t n;
    while (!found && (n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n && !found; ++i) {
            char c = buf[i];
            if (c == '\n') {
                field[0] = field[1] = 0;
                which = 0;
            } else if (which < 2) {
                int v = hex_value(c);
                if (v >= 0) {
                    field[which] = field[which] * 16 + static_cast<uintptr_t>(v);
                } else {
                    ++which;  // '-' after the start, ' ' after the end
                    if (which == 2 && field[0] <= sp && sp < field[1]) found = true;
                }
            }
        }
    }
    close(fd);
    if (found) {
        // A thread's descriptor sits at the top of its stack mapping (glibc,
        // musl), above every frame: the live stack ends there. A mapping that
        // the kernel merged with a neighbour then still ends at the stack.
        auto self = static_cast<uintptr_t>(pthread_self());
        t_stack_lo = field[0];
        t_stack_hi = self > sp && self < field[1] ? self : field[1];
    }
    t_stack_state = found ? 1 : 2;
    return found;
}
}  // namespace

void forget_learned_state() {
    t_stack_lo = t_stack_hi = 0;
    t_stack_state = 0;
    g_vm_refused.store(false, std::memory_order_relaxed);
    g_pipe_size_refused.store(false, std::memory_order_relaxed);
    g_keeps_counts.store(-1, std::memory_order_relaxed);
    g_uname_silent.store(false, std::memory_order_relaxed);
    g_pipe_blind_piece.store(-1, std::memory_order_relaxed);
}

bool on_live_stack(const void* p, size_t size, const void* frame) {
    uintptr_t at = reinterpret_cast<uintptr_t>(p);
    uintptr_t sp = reinterpret_cast<uintptr_t>(frame);
    if (t_stack_state == 2 || (t_stack_state == 0 && !learn_stack(sp))) return false;
    // Running on this stack (not a signal stack or a coroutine's), and p is in
    // a live frame: everything from sp up to the top is mapped read-write.
    return sp >= t_stack_lo && sp < t_stack_hi && at > sp && at <= t_stack_hi - size;
}

int read_user(const void* where, void* value, size_t n) {
    return copy_user(value, const_cast<void*>(where), n, false);
}

int write_user(void* where, const void* value, size_t n) {
    // The kernel's put_user is one store: across a page boundary into a page
    // that does not write, no byte changes. process_vm_writev and the pipe
    // copy up to the fault, so first write back the bytes that are there,
    // and store only when both pages took them.
    if (reinterpret_cast<uintptr_t>(where) % kPageSize + n > kPageSize) {
        unsigned char now[8];
        if (n > sizeof now || copy_user(now, where, n, false) != 0 || copy_user(now, where, n, true) != 0)
            return EFAULT;
    }
    return copy_user(const_cast<void*>(value), where, n, true);
}

ssize_t native_sendfile_off32(int out_fd, int in_fd, int32_t* offset, size_t count) {
#if INTPTR_MAX == INT32_MAX
    return syscall(SYS_sendfile, out_fd, in_fd, offset, count);  // glibc's 32-bit sendfile
#else
    (void)out_fd, (void)in_fd, (void)offset, (void)count;
    errno = ENOSYS;
    return -1;
#endif
}

bool kernel_wider_than_process() {
#if INTPTR_MAX == INT32_MAX
    static std::atomic<int> answer{-1};
    int a = answer.load(std::memory_order_relaxed);
    if (a < 0) {
        // read(2) checks its count as sendfile does (rw_verify_area): a
        // 32-bit kernel refuses 2 GiB as negative (EINVAL, or EFAULT first);
        // a 64-bit one reads nothing from /dev/null and returns 0 without
        // touching the buffer. uname when /dev/null cannot be opened (it
        // says i686 under `linux32`, so it is only the fallback).
        int saved = errno;
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) {
            void* volatile nothing = nullptr;
            a = syscall(SYS_read, fd, nothing, static_cast<size_t>(0x80000000u)) == 0 ? 1 : 0;
            close(fd);
        } else {
            struct utsname u;
            a = uname(&u) == 0 && strstr(u.machine, "64") != nullptr ? 1 : 0;
        }
        errno = saved;
        answer.store(a, std::memory_order_relaxed);
    }
    return a == 1;
#else
    return false;
#endif
}

int path_only_open_flag() { return O_PATH; }
int msg_dontwait_flag() { return MSG_DONTWAIT; }

void* map_anonymous(size_t size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
}

void unmap_anonymous(void* p, size_t size) { munmap(p, size); }
// The kernel's call alone: where the file system cannot, glibc's
// posix_fallocate writes into the file itself, which other processes share.
int allocate_file(int fd, off_t size) { return fallocate(fd, 0, 0, size) == 0 ? 0 : errno; }
int map_prefault_flag() { return MAP_POPULATE; }

namespace {
// The clock monotonic_ms reads: the coarse one (vDSO, no system call), or
// where a compatibility layer does not know it, the plain one.
std::atomic<int> g_clock{-1};
std::atomic<uint32_t> g_no_clock_ticks{0};
}  // namespace

uint32_t monotonic_ms() {
    int id = g_clock.load(std::memory_order_relaxed);
    struct timespec ts;
    if (id < 0) {
        id = clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0 ? CLOCK_MONOTONIC_COARSE
             : clock_gettime(CLOCK_MONOTONIC, &ts) == 0  ? CLOCK_MONOTONIC
                                                          : INT32_MAX;
        g_clock.store(id, std::memory_order_relaxed);
    }
    if (id == INT32_MAX || clock_gettime(id, &ts) != 0)
        return g_no_clock_ticks.fetch_add(1, std::memory_order_relaxed);  // one "millisecond" a call
    return static_cast<uint32_t>(static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u);
}

int mapping_deleted(const void* addr, size_t len) {
    // /proc/self/map_files/START-END links to the file; an unlinked one's
    // name ends in " (deleted)". (Linux 4.3 and later, for any user.)
    char path[64] = "/proc/self/map_files/";
    size_t at = strlen(path);
    auto hex = [&](uintptr_t v) {
        char digits[2 * sizeof v];
        int n = 0;
        do digits[n++] = "0123456789abcdef"[v & 15];
        while ((v >>= 4) != 0);
        while (n > 0) path[at++] = digits[--n];
    };
    uintptr_t start = reinterpret_cast<uintptr_t>(addr);
    hex(start);
    path[at++] = '-';
    hex(start + len);
    path[at] = '\0';
    char target[256];  // small: this may run on a signal handler's stack
    ssize_t n = readlink(path, target, sizeof target);
    if (n <= 0 || static_cast<size_t>(n) >= sizeof target) return -1;  // no /proc, merged, or too long to tell
    static const char kDeleted[] = " (deleted)";
    size_t k = sizeof kDeleted - 1;
    return static_cast<size_t>(n) > k && memcmp(target + n - k, kDeleted, k) == 0 ? 1 : 0;
}

bool offset_beyond_fs_limit(int fd, int64_t pos, bool directory) {
    if (pos <= kSmallestFileSizeLimit) return false;
    if (directory) {
        // A directory's llseek has limits of its own (ext4's hash positions),
        // so ask the file system: ext2/3/4 allow 2^32 - 1 blocks.
        struct statfs fs;
        if (fstatfs(fd, &fs) != 0 || fs.f_type != EXT4_SUPER_MAGIC || fs.f_bsize <= 0) return false;
        int64_t limit = ((int64_t{1} << 32) - 1) * static_cast<int64_t>(fs.f_bsize);
        return pos > limit;
    }
    // The file system's llseek refuses offsets past its limit (s_maxbytes):
    // ask on a description of our own, so the caller's position stays put.
    // Where /proc/self/fd/N opens the caller's own description instead (a dup
    // sharing its position: FreeBSD's linprocfs links /proc/self/fd to
    // /dev/fd, whose fdesc_open duplicates), where there is no /proc (a
    // compat layer), no descriptor to spare, or no access to the file by its
    // name any more, the position moves: it is put back at once.
    int saved = errno;
    off_t here = lseek(fd, 0, SEEK_CUR);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int probe = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (probe < 0) probe = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    bool beyond = (probe >= 0 || here >= 0) && lseek(probe >= 0 ? probe : fd, pos, SEEK_SET) < 0 && errno == EINVAL;
    if (probe >= 0) close(probe);
    if (here >= 0 && lseek(fd, 0, SEEK_CUR) != here) lseek(fd, here, SEEK_SET);
    errno = saved;
    return beyond;
}

// Where F_GETPIPE_SZ is refused, a pipe cannot have been resized either
// (F_SETPIPE_SZ is refused too): it has Linux's default, PIPE_DEF_BUFFERS.
bool pipe_capacity(int fd, size_t* capacity, size_t* queued) {
    int saved = errno;
    int cap = -1;
    if (!g_pipe_size_refused.load(std::memory_order_relaxed)) {
        cap = fcntl(fd, F_GETPIPE_SZ);
        if (cap < 0 && errno != EBADF) g_pipe_size_refused.store(true, std::memory_order_relaxed);
    }
    if (cap < 0 && g_pipe_size_refused.load(std::memory_order_relaxed)) cap = static_cast<int>(kDefaultPipeSize);
    int q = 0;
    bool ok = cap >= 0 && ioctl(fd, FIONREAD, &q) == 0;
    errno = saved;
    if (!ok) return false;
    *capacity = static_cast<size_t>(cap);
    *queued = static_cast<size_t>(q);
    return true;
}

// Asked once, of a pipe of our own with one byte in it: Linux's FIONREAD
// counts it from either end. Without a descriptor to spare the answer is the
// careful one, and asked again next time.
size_t pipe_blind_piece() {
    int known = g_pipe_blind_piece.load(std::memory_order_relaxed);
    if (known >= 0) return static_cast<size_t>(known);
    int saved = errno;
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
        errno = saved;
        return kPosixPipeBuf;
    }
    int q = -1;
    known = write(p[1], "x", 1) == 1 && ioctl(p[1], FIONREAD, &q) == 0 && q == 1 ? 0 : kPosixPipeBuf;
    close(p[0]);
    close(p[1]);
    g_pipe_blind_piece.store(known, std::memory_order_relaxed);
    errno = saved;
    return static_cast<size_t>(known);
}

bool splice_reads_holes_as_zero_page(int fd) {
    struct statfs fs;
    return fstatfs(fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

bool input_cannot_splice(int fd) {
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0 || fs.f_type != PROC_SUPER_MAGIC) return false;
    // Files under /proc/<pid>/ have no splice_read, except the mount tables.
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0) return false;
    target[n] = '\0';
    const char* p = target;
    if (strncmp(p, "/proc/", 6) != 0) return false;
    p += 6;
    if (*p < '0' || *p > '9') return false;
    while (*p >= '0' && *p <= '9') ++p;
    if (strncmp(p, "/task/", 6) == 0) {  // /proc/<pid>/task/<tid>/...
        p += 6;
        while (*p >= '0' && *p <= '9') ++p;
    }
    if (*p != '/') return false;
    ++p;
    return strcmp(p, "mounts") != 0 && strcmp(p, "mountinfo") != 0 && strcmp(p, "mountstats") != 0;
}

bool chardev_can_splice(uint64_t rdev) {
    unsigned maj = major(static_cast<dev_t>(rdev)), min = minor(static_cast<dev_t>(rdev));
    switch (maj) {
        case 1: return min == 5 || min == 7 || min == 8 || min == 9;  // zero, full, random, urandom
        case 2: case 3: case 4: case 5: return true;                  // ptys, ttys, console, ptmx
        default: return maj >= 136 && maj <= 143;                     // /dev/pts/*
    }
}

void raise_sigpipe() {
    syscall(SYS_tgkill, self_pid(), static_cast<pid_t>(syscall(SYS_gettid)), SIGPIPE);
}

// AT_SECURE is what glibc's secure_getenv and ld.so go by (set-user-ID,
// set-group-ID, file capabilities, an LSM's say). getauxval is in glibc from
// 2.16 and in musl. The IDs are asked too: a kernel or compatibility layer
// that passes no AT_SECURE still shows a set-user-ID program by them.
bool elevated_rights() {
    return getauxval(AT_SECURE) != 0 || getuid() != geteuid() || getgid() != getegid();
}

}  // namespace sfshim::platform
