// SPDX-License-Identifier: BSD-2-Clause
#include "output.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common.h"
#include "platform/platform.h"

namespace sfshim {
namespace {

// SO_SNDTIMEO as a poll() timeout: a blocking send gives up after it, so
// waiting between our sends must too.
int send_timeout_ms(int fd) {
    struct timeval tv = {0, 0};
    socklen_t len = sizeof tv;
    if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) != 0 || (tv.tv_sec == 0 && tv.tv_usec == 0))
        return -1;
    long ms = static_cast<long>(tv.tv_sec) * 1000 + static_cast<long>(tv.tv_usec) / 1000;
    return ms > 0x7fffffff ? 0x7fffffff : static_cast<int>(ms > 0 ? ms : 1);
}

// Skips `n` bytes of an iovec array in place (into `tmp`, a copy).
int advance(const struct iovec* iov, int iovcnt, size_t n, struct iovec* tmp, int max) {
    int out = 0;
    for (int i = 0; i < iovcnt && out < max; ++i) {
        if (n >= iov[i].iov_len) {
            n -= iov[i].iov_len;
            continue;
        }
        tmp[out].iov_base = static_cast<char*>(iov[i].iov_base) + n;
        tmp[out].iov_len = iov[i].iov_len - n;
        n = 0;
        ++out;
    }
    return out;
}

ssize_t send_iov(int fd, const struct iovec* iov, int iovcnt, int flags) {
    struct msghdr msg = {};
    msg.msg_iov = const_cast<struct iovec*>(iov);
    msg.msg_iovlen = static_cast<decltype(msg.msg_iovlen)>(iovcnt);
    return sendmsg(fd, &msg, flags);
}

ssize_t send_nowait(int fd, const struct iovec* iov, int iovcnt) {
    return send_iov(fd, iov, iovcnt, platform::msg_dontwait_flag());
}

// A blocking pipe whose queue cannot be seen (platform::pipe_blind_piece):
// writes of `piece` bytes while poll says room, the first without asking
// (the caller saw room). Stops at the first short write, error or full pipe;
// an error after bytes moved is consumed, as the kernel's would be.
ssize_t write_pipe_in_pieces(int fd, const struct iovec* iov, int iovcnt, size_t len, size_t piece) {
    constexpr int kMaxIov = 8;
    struct iovec rest[kMaxIov];
    size_t sent = 0;
    while (sent < len) {
        if (sent > 0) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            if (poll(&pfd, 1, 0) != 1 || (pfd.revents & (POLLERR | POLLHUP)) || !(pfd.revents & POLLOUT)) break;
        }
        int n = advance(iov, iovcnt, sent, rest, kMaxIov);
        size_t want = min_of(piece, len - sent);
        size_t have = 0;
        int used = 0;
        while (used < n && have < want) {
            rest[used].iov_len = min_of(rest[used].iov_len, want - have);
            have += rest[used++].iov_len;
        }
        ssize_t w = writev(fd, rest, used);
        if (w < 0) return sent > 0 ? static_cast<ssize_t>(sent) : -1;
        sent += static_cast<size_t>(w);
        if (static_cast<size_t>(w) < have) break;
    }
    return static_cast<ssize_t>(sent);
}

}  // namespace

size_t finish_short_send(int fd, const char* buf, size_t sent, size_t n) {
    if (sent >= n) return 0;
    struct iovec rest = {const_cast<char*>(buf) + sent, n - sent};
    ssize_t more = send_nowait(fd, &rest, 1);
    return more > 0 ? static_cast<size_t>(more) : 0;
}

ssize_t write_output(const Plan& plan, const struct iovec* iov, int iovcnt, size_t len, size_t moved_before) {
    bool blocking_socket = plan.out == OutKind::socket && !plan.out_nonblock;
    if (plan.out == OutKind::pipe && !plan.out_nonblock && len > 1) {
        if (size_t piece = platform::pipe_blind_piece())
            return write_pipe_in_pieces(plan.out_fd, iov, iovcnt, len, piece);
    }
    if (!blocking_socket) return writev(plan.out_fd, iov, iovcnt);

    constexpr int kMaxIov = 8;
    struct iovec rest[kMaxIov];
    if (moved_before == 0) {
        ssize_t w = writev(plan.out_fd, iov, iovcnt);
        if (w <= 0 || static_cast<size_t>(w) == len) return w;
        int n = advance(iov, iovcnt, static_cast<size_t>(w), rest, kMaxIov);
        ssize_t more = send_nowait(plan.out_fd, rest, n);
        return w + (more > 0 ? more : 0);
    }
    // A socket that has not been full in this call is tried without waiting:
    // into TCP, whose buffer grows, a piece usually goes whole. Else (or
    // for what did not fit) the send waits in poll() first, which a signal
    // always ends, and is made only once poll saw room: a blocking send
    // then moves bytes before it can wait (poll's room is what TCP and Unix
    // stream sockets need to queue a buffer), so a signal while it waits
    // ends it short, with its count, unrestarted, and a short count (a
    // signal, SO_SNDTIMEO) ends the call as the kernel's wait would. At most
    // three system calls per piece, however often the socket fills. An error
    // (a poll error or hang-up is left for the send to tell) is consumed:
    // bytes have moved.
    size_t sent = 0;
    if (!plan.out_was_full) {
        ssize_t w = send_nowait(plan.out_fd, iov, iovcnt);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return 0;
        if (w > 0) sent = static_cast<size_t>(w);
        if (sent == len) return static_cast<ssize_t>(sent);
        plan.out_was_full = true;
    }
    if (plan.out_wait_ms == -2) plan.out_wait_ms = send_timeout_ms(plan.out_fd);
    struct pollfd pfd = {plan.out_fd, POLLOUT, 0};
    if (poll(&pfd, 1, plan.out_wait_ms) <= 0) return static_cast<ssize_t>(sent);  // a signal, or SO_SNDTIMEO ran out
    int n = advance(iov, iovcnt, sent, rest, kMaxIov);
    ssize_t w = send_iov(plan.out_fd, rest, n, 0);
    if (w <= 0) return static_cast<ssize_t>(sent);
    sent += static_cast<size_t>(w);
    if (sent == len) return static_cast<ssize_t>(sent);
    // Short: the one more non-blocking try collects a pending error (a reset
    // peer), as after the first write.
    n = advance(iov, iovcnt, sent, rest, kMaxIov);
    ssize_t more = send_nowait(plan.out_fd, rest, n);
    return static_cast<ssize_t>(sent) + (more > 0 ? more : 0);
}

}  // namespace sfshim
