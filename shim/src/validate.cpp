// SPDX-License-Identifier: BSD-2-Clause
#include "validate.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "platform/platform.h"

namespace sfshim {

FileId file_id(const struct stat& st) {
#if defined(__APPLE__)
    const struct timespec& ctime = st.st_ctimespec;
#else
    const struct timespec& ctime = st.st_ctim;
#endif
    return FileId{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), static_cast<int64_t>(st.st_size),
                  static_cast<uint64_t>(st.st_nlink),
                  static_cast<int64_t>(ctime.tv_sec) * 1000000000 + static_cast<int64_t>(ctime.tv_nsec)};
}

namespace {

// fdget() ignores O_PATH descriptors, and a descriptor opened with access
// mode 3 can neither read nor write: both are EBADF, as a closed fd.
bool can_write(int flags) {
    if (flags & platform::path_only_open_flag()) return false;
    int acc = flags & O_ACCMODE;
    return acc == O_WRONLY || acc == O_RDWR;
}

InKind classify_in(mode_t mode) {
    switch (mode & S_IFMT) {
        case S_IFREG: return InKind::regular;
        case S_IFCHR: return InKind::chardev;
        case S_IFBLK: return InKind::block;
        case S_IFSOCK: return InKind::socket;
        case S_IFIFO: return InKind::fifo;
        case S_IFDIR: return InKind::directory;
        default: return InKind::other;  // anonymous inodes have no type bits
    }
}

OutKind classify_out(mode_t mode) {
    switch (mode & S_IFMT) {
        case S_IFREG: return OutKind::regular;
        case S_IFSOCK: return OutKind::socket;
        case S_IFIFO: return OutKind::pipe;
        case S_IFCHR:
        case S_IFBLK: return OutKind::device;
        default: return OutKind::other;
    }
}

// FMODE_PREAD: files opened with nonseekable_open/stream_open lack it, and so
// do pipes, sockets and anonymous inodes.
bool has_pread(int fd, InKind kind) {
    switch (kind) {
        case InKind::socket:
        case InKind::fifo:
        case InKind::other: return false;
        case InKind::chardev: return !(pread(fd, nullptr, 0, 0) < 0 && errno == ESPIPE);
        default: return true;
    }
}

}  // namespace

int check_range(int64_t pos, size_t count) {
    // Negative as the kernel's ssize_t: on a 64-bit kernel an ILP32 caller's
    // count never is.
    if (static_cast<ssize_t>(count) < 0 && !platform::kernel_wider_than_process()) return EINVAL;
    if (pos < 0) return EINVAL;
    if (static_cast<uint64_t>(pos) + count > static_cast<uint64_t>(INT64_MAX)) return EINVAL;
    return 0;
}

bool can_read_flags(int flags) {
    if (flags & platform::path_only_open_flag()) return false;
    int acc = flags & O_ACCMODE;
    return acc == O_RDONLY || acc == O_RDWR;
}

int validate(const Call& call, Plan* plan) {
    Plan p;
    p.out_fd = call.out_fd;
    p.in_fd = call.in_fd;
    p.has_offset = call.has_offset;

    // 1. The input must be open for reading.
    int in_flags = fcntl(call.in_fd, F_GETFL);
    if (in_flags < 0 || !can_read_flags(in_flags)) return EBADF;
    struct stat in_st;
    if (fstat(call.in_fd, &in_st) != 0) return EBADF;
    p.in = classify_in(in_st.st_mode);
    p.in_size = in_st.st_size;
    p.in_rdev = static_cast<uint64_t>(in_st.st_rdev);
    p.in_id = file_id(in_st);
    p.in_nonblock = (in_flags & O_NONBLOCK) != 0;

    // 2. An explicit offset needs pread on the input.
    bool in_seekable = true;  // FMODE_LSEEK
    if (call.has_offset) {
        if (!has_pread(call.in_fd, p.in)) return ESPIPE;
        p.pos = call.offset;
    } else if (p.in == InKind::socket || p.in == InKind::fifo) {
        in_seekable = false;  // their position is always 0
    } else {
        off_t cur = lseek(call.in_fd, 0, SEEK_CUR);
        if (cur < 0) {
            in_seekable = false;
        } else {
            p.pos = cur;
        }
    }

    // 3. Counts and positions (the input's rw_verify_area), 4. the clamp.
    if (int err = check_range(p.pos, call.count)) return err;
    p.count = min_of(call.count, kMaxRwCount);

    // 5. The output must be open for writing.
    int out_flags = fcntl(call.out_fd, F_GETFL);
    if (out_flags < 0 || !can_write(out_flags)) return EBADF;
    struct stat out_st;
    if (fstat(call.out_fd, &out_st) != 0) return EBADF;
    p.out = classify_out(out_st.st_mode);
    p.out_nonblock = (out_flags & O_NONBLOCK) != 0;
    p.same_file = p.in == InKind::regular && p.out == OutKind::regular && in_st.st_dev == out_st.st_dev &&
                  in_st.st_ino == out_st.st_ino;

    // 6. The file-size limit: the 32-bit call's own (MAX_NON_LFS), else that of
    // both file systems. Refused when the range passes it and starts at or
    // past it (so count 0 exactly at it is fine); a range that only ends past
    // it is shortened.
    if (call.limit > 0) {
        if (p.pos + static_cast<int64_t>(p.count) > call.limit) {
            if (p.pos >= call.limit) return EOVERFLOW;
            p.count = static_cast<size_t>(call.limit - p.pos);
        }
    } else if (p.pos >= platform::kSmallestFileSizeLimit) {
        int64_t probe = p.pos + (p.count > 0 ? 1 : 0);  // no overflow: check_range passed
        // Device nodes and pseudo files live on file systems without a limit
        // short of INT64_MAX; probing them could also have side effects.
        bool in_limited = p.in == InKind::regular || p.in == InKind::directory;
        bool out_limited = p.out == OutKind::regular;
        if ((in_limited && platform::offset_beyond_fs_limit(call.in_fd, probe, p.in == InKind::directory)) ||
            (out_limited && platform::offset_beyond_fs_limit(call.out_fd, probe, false)))
            return EOVERFLOW;
    }

    // 7. Output to a pipe is spliced straight into it and skips the next checks;
    // everything else goes through the kernel's internal pipe, which wants an
    // output that is not appending and a seekable input.
    if (p.out != OutKind::pipe) {
        if (out_flags & O_APPEND) return EINVAL;
        if (!in_seekable) return EINVAL;
    }
    *plan = p;
    return 0;
}

const char* in_kind_name(InKind k) {
    switch (k) {
        case InKind::regular: return "file";
        case InKind::block: return "block device";
        case InKind::chardev: return "character device";
        case InKind::socket: return "socket";
        case InKind::fifo: return "pipe";
        case InKind::directory: return "directory";
        case InKind::other: return "other";
    }
    return "?";
}

const char* out_kind_name(OutKind k) {
    switch (k) {
        case OutKind::regular: return "file";
        case OutKind::socket: return "socket";
        case OutKind::pipe: return "pipe";
        case OutKind::device: return "device";
        case OutKind::other: return "other";
    }
    return "?";
}

}  // namespace sfshim
