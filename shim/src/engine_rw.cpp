// Chunked read/write: for sockets, pipes, input that cannot be mapped and
// small files, where a copy through a warm buffer costs less than a mapping.
// SPDX-License-Identifier: BSD-2-Clause
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "engine.h"
#include "output.h"
#include "platform/platform.h"

namespace sfshim {

namespace {

// Fills buf[have, want) with the bytes that repeat with period `gap` (buf[i] =
// buf[i - gap]), in copies that double: memcpy never overlaps.
void repeat_period(char* buf, size_t gap, size_t have, size_t want) {
    while (have < want) {
        size_t period_run = have - have % gap;  // a whole number of periods ends at `have`
        size_t n = min_of(want - have, period_run);
        memcpy(buf + have, buf + have - period_run, n);
        have += n;
    }
}

}  // namespace

EngineResult engine_rw(const Plan& plan, int64_t pos, size_t len, size_t moved_before) {
    BufferLease buf;
    // A file sent into itself with the output `gap` bytes ahead of the input
    // and inside what is still to be read (transfer.cpp): the kernel's copy
    // goes forward through the page cache, so each byte read past the output
    // position is one this call wrote there, and the bytes repeat with period
    // `gap`. One chunk reads at most `gap` bytes, which earlier chunks have
    // written in full, and repeats them to the chunk's length.
    size_t gap = plan.self_gap > 0 && static_cast<uint64_t>(plan.self_gap) < len
                     ? static_cast<size_t>(plan.self_gap)
                     : 0;
    size_t done = 0;
    while (done < len) {
        size_t want = min_of(len - done, buf.size());
        size_t ask = gap > 0 ? min_of(want, gap) : want;
        ssize_t r = pread(plan.in_fd, buf.data(), ask, pos + static_cast<int64_t>(done));
        if (r < 0 && errno == ESPIPE && plan.in == InKind::chardev && !plan.has_offset)
            r = read(plan.in_fd, buf.data(), want);  // a tty: a position it does not have
        if (r < 0) {
            int err = errno == EISDIR ? EINVAL : errno;
            return {done > 0 ? static_cast<ssize_t>(done) : -err, false};
        }
        if (r == 0) break;  // end of input
        if (gap > 0 && static_cast<size_t>(r) == ask && ask < want) {
            repeat_period(buf.data(), gap, ask, want);
            r = static_cast<ssize_t>(want);
        }
        // (A short read there: the output is past the end of the file; the
        // write extends it, and the next pread reads the hole and our bytes.)
        struct iovec iov = {buf.data(), static_cast<size_t>(r)};
        ssize_t w = write_output(plan, &iov, 1, static_cast<size_t>(r), moved_before + done);
        if (w < 0) return {done > 0 ? static_cast<ssize_t>(done) : -errno, false};
        done += static_cast<size_t>(w);
        if (w < r) break;  // the output took less: stop, the rest is re-read next call
        // A short read is no end yet: the file may have grown (even through
        // our own writes into it); the next pread says.
    }
    return {static_cast<ssize_t>(done), false};
}

EngineResult engine_socket_to_pipe(const Plan& plan, int64_t, size_t len, size_t) {
    BufferLease buf;
    size_t want = min_of(len, buf.size());
    // Peek first: bytes the pipe does not take must stay in the socket.
    ssize_t r = recv(plan.in_fd, buf.data(), want, MSG_PEEK);  // O_NONBLOCK, if set, applies
    if (r < 0) return {-errno, false};
    if (r == 0) return {0, false};
    ssize_t w = write(plan.out_fd, buf.data(), static_cast<size_t>(r));
    if (w <= 0) return {w < 0 ? -errno : 0, false};
    ssize_t consumed = recv(plan.in_fd, buf.data(), static_cast<size_t>(w), 0);
    (void)consumed;  // the peeked bytes are queued: this neither waits nor comes up short
    return {w, false};
}

}  // namespace sfshim
