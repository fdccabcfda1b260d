// Chunked read/write: for sockets, pipes, input that cannot be mapped and
// small files, where a copy through a warm buffer costs less than a mapping.
// SPDX-License-Identifier: BSD-2-Clause
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "engine.h"
#include "output.h"
#include "platform/platform.h"

namespace sfshim {

EngineResult engine_rw(const Plan& plan, int64_t pos, size_t len, size_t moved_before) {
    BufferLease buf;
    size_t done = 0;
    while (done < len) {
        size_t want = min_of(len - done, buf.size());
        ssize_t r = pread(plan.in_fd, buf.data(), want, pos + static_cast<int64_t>(done));
        if (r < 0 && errno == ESPIPE && plan.in == InKind::chardev && !plan.has_offset)
            r = read(plan.in_fd, buf.data(), want);  // a tty: a position it does not have
        if (r < 0) {
            int err = errno == EISDIR ? EINVAL : errno;
            return {done > 0 ? static_cast<ssize_t>(done) : -err, false};
        }
        if (r == 0) break;  // end of input
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
