// The model of bsd_sendfile_model.h: the checks of each system in its
// kernel's order, then pread and send (MSG_NOSIGNAL: the BSD kernels send
// no SIGPIPE from sendfile) until the range is sent or the socket refuses.
// SPDX-License-Identifier: BSD-2-Clause
#include "bsd_sendfile_model.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

SfshimBsdModel sfshim_bsd_model;

namespace {

// 0, or the errno of a descriptor that cannot be read (both systems: EBADF).
int check_fd(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_ACCMODE) == O_WRONLY) return EBADF;
    return 0;
}

// 0, or why `s` is not a stream socket.
int check_socket(int s) {
    struct stat st;
    if (fstat(s, &st) != 0) return EBADF;
    if (!S_ISSOCK(st.st_mode)) return ENOTSOCK;
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return EINVAL;
    return 0;
}

#if defined(SFSHIM_BSD_MODEL_MACOS)
// macOS checks SS_ISCONNECTED first, which a peer's close clears: Linux
// shows that as no peer or as a hang-up.
int check_connected(int s) {
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    if (getpeername(s, reinterpret_cast<struct sockaddr*>(&peer), &plen) != 0) return ENOTCONN;
    struct pollfd p = {s, POLLOUT, 0};
    if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP)) return ENOTCONN;
    return 0;
}
#endif

// Sends [offset, offset + want) of fd, or to its end when want is 0. The
// bytes sent go to *sent; returns 0 or the errno the call ends with.
int transfer(int fd, int s, off_t offset, off_t want, off_t* sent) {
    *sent = 0;
    struct stat st;
    if (fstat(fd, &st) != 0) return EBADF;
    if (offset >= st.st_size) return 0;
    off_t left = st.st_size - offset;
    if (want != 0 && want < left) left = want;
    char buf[65536];
    while (left > 0) {
        off_t room = left < off_t{sizeof buf} ? left : off_t{sizeof buf};
        long long stop = sfshim_bsd_model.interrupt_after;
        if (stop >= 0) {
            if (*sent >= stop) return EINTR;
            if (room > stop - *sent) room = static_cast<off_t>(stop - *sent);
        }
        ssize_t n = pread(fd, buf, static_cast<size_t>(room), offset + *sent);
        if (n < 0) return EIO;
        if (n == 0) return 0;  // the file shrank: what it had was sent
        ssize_t w = send(s, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
        if (w < 0) return errno == EWOULDBLOCK ? EAGAIN : errno;
        *sent += w;
        left -= w;
    }
    return 0;
}

int finish(int err) {
    if (err == 0) return 0;
    errno = err;
    return -1;
}

void record(off_t offset, long long request, const void* hdtr, int flags) {
    sfshim_bsd_model.calls++;
    sfshim_bsd_model.last_offset = offset;
    sfshim_bsd_model.last_request = request;
    sfshim_bsd_model.last_hdtr = hdtr;
    sfshim_bsd_model.last_flags = flags;
}

}  // namespace

#if defined(SFSHIM_BSD_MODEL_FREEBSD)

extern "C" int sfshim_model_sendfile(int fd, int s, off_t offset, size_t nbytes, struct sf_hdtr* hdtr,
                                     off_t* sbytes, int flags) {
    record(offset, static_cast<long long>(nbytes), hdtr, flags);
    if (offset < 0) return finish(EINVAL);  // before anything, *sbytes untouched
    if (int err = check_fd(fd)) return finish(err);  // likewise
    off_t sent = 0;
    struct stat st;
    int err = fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ? EINVAL : check_socket(s);
    if (err == 0 && flags != 0) err = EINVAL;
    if (err == 0) err = transfer(fd, s, offset, static_cast<off_t>(nbytes), &sent);
    if (sbytes != nullptr) *sbytes = sent;
    return finish(err);
}

#elif defined(SFSHIM_BSD_MODEL_MACOS)

extern "C" int sfshim_model_sendfile(int fd, int s, off_t offset, off_t* len, struct sf_hdtr* hdtr, int flags) {
    record(offset, len != nullptr ? static_cast<long long>(*len) : -1, hdtr, flags);
    off_t sent = 0;
    struct stat st;
    int err = check_fd(fd);
    if (err == 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) err = ENOTSUP;
    if (err == 0) err = check_socket(s);
    if (err == 0) err = check_connected(s);
    if (err == 0 && (offset < 0 || len == nullptr || flags != 0)) err = EINVAL;
    if (err == 0) err = transfer(fd, s, offset, *len, &sent);
    if (len != nullptr) *len = sent;  // on every return
    return finish(err);
}

#endif
