// The words every part of the shim speaks: what a call asks (Call), what
// validation found out (Plan: the input's and output's kinds, the input's
// identity), passed from validate.cpp to transfer.cpp, the engines, the
// output writer and the mapping cache. Nothing here does anything.
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

namespace sfshim {

// What the fstat of the call's input said.
struct FileId {
    uint64_t dev;
    uint64_t ino;
    int64_t size;
    uint64_t nlink;
    int64_t ctime_ns;  // st_ctim: every write, truncation and copy-up moves it
};
// From the call's fstat (validate.cpp).
FileId file_id(const struct stat& st);

// What an input descriptor is, as far as sendfile cares.
enum class InKind {
    regular,   // page-cache file: maps, preads
    block,     // block device: page cache, preads
    chardev,   // character device (/dev/zero): preads, and its offset stays put
    socket,    // readable only into a pipe (the kernel splices it)
    fifo,      // a pipe: no splice read path at all
    directory, // no read path
    other,     // eventfd, timerfd, epoll...: no read path
};

enum class OutKind {
    regular,  // file: written at its own position
    socket,   // stream or datagram
    pipe,     // one fill, at most the free room
    device,   // /dev/null, a tty, a block device
    other,    // eventfd and friends: no splice write path
};

struct Call {
    int out_fd;
    int in_fd;
    bool has_offset;
    int64_t offset;  // *offset, read by the caller safely
    size_t count;
    int64_t limit = 0;  // the 32-bit call's MAX_NON_LFS; 0: the file systems' limits
};

struct Plan {
    int out_fd = -1;
    int in_fd = -1;
    bool has_offset = false;
    int64_t pos = 0;      // where reading starts
    size_t count = 0;     // clamped to kMaxRwCount
    InKind in = InKind::regular;
    OutKind out = OutKind::regular;
    int64_t in_size = 0;  // st_size of a regular input at validation
    uint64_t in_rdev = 0; // the device number of a device input
    FileId in_id{};       // what fstat said of the input (the mapping cache's key)
    bool in_nonblock = false;
    bool out_nonblock = false;
    bool same_file = false;  // input and output are one regular file (device and inode)
    int64_t self_gap = 0;    // same_file: output position minus `pos` (transfer.cpp sets it)
    // A blocking socket's SO_SNDTIMEO as a poll() timeout, asked once per
    // call by the output's first wait (output.cpp); -2 until then. And
    // whether the socket has been full in this call (each later write then
    // waits for room first).
    mutable int out_wait_ms = -2;
    mutable bool out_was_full = false;
};

const char* in_kind_name(InKind k);
const char* out_kind_name(OutKind k);

}  // namespace sfshim
