// A model, on Linux, of the sendfile system call of FreeBSD (and DragonFly)
// or of macOS, for compiling and testing shim/src/platform/bsd.cpp's native
// branches here: SFSHIM_BSD_MODEL_FREEBSD or SFSHIM_BSD_MODEL_MACOS selects
// the signature. What it models (FreeBSD's sendfile(2) and kern_sendfile.c,
// macOS's sendfile(2) and xnu's uipc_syscalls.c):
//
//  - a regular file into a stream socket: EBADF for a bad or unreadable fd,
//    EINVAL (FreeBSD) or ENOTSUP (macOS) for one that is not a regular file,
//    ENOTSOCK, EINVAL for a socket that is not SOCK_STREAM, EINVAL for a
//    negative offset; flags must be 0 (macOS; the model also refuses
//    FreeBSD's flags, which the library never passes);
//  - macOS checks first that the socket is connected: ENOTCONN, also once
//    the peer has closed. FreeBSD's kern_sendfile.c now asks only when there
//    is something to send, and says EPIPE first (older ones did as macOS);
//  - nbytes (FreeBSD) or *len (macOS) of 0 sends to the end of the file; an
//    offset at or past the end sends nothing and succeeds;
//  - 0 on success; -1 with errno otherwise, the bytes sent so far reported
//    either way: EAGAIN when a non-blocking socket fills, EINTR when a signal
//    interrupts, EPIPE when the socket can send no more (no SIGPIPE: neither
//    kernel sends one from sendfile);
//  - FreeBSD writes *sbytes (if given) except when the offset is negative or
//    fd is bad (those return before it); macOS writes *len on every return,
//    0 when the call failed before sending.
// Headers and trailers (struct sf_hdtr) are not modelled: the library passes
// none, which the model records.
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct sf_hdtr {
    struct iovec* headers;
    int hdr_cnt;
    struct iovec* trailers;
    int trl_cnt;
};

extern "C" {
#if defined(SFSHIM_BSD_MODEL_FREEBSD)
int sfshim_model_sendfile(int fd, int s, off_t offset, size_t nbytes, struct sf_hdtr* hdtr,
                          off_t* sbytes, int flags);
#elif defined(SFSHIM_BSD_MODEL_MACOS)
int sfshim_model_sendfile(int fd, int s, off_t offset, off_t* len, struct sf_hdtr* hdtr, int flags);
#else
#error "define SFSHIM_BSD_MODEL_FREEBSD or SFSHIM_BSD_MODEL_MACOS"
#endif
}

// What the tests see of the model and how they steer it.
struct SfshimBsdModel {
    int calls = 0;               // calls made
    off_t last_offset = -1;      // the offset of the last call
    long long last_request = -1; // its nbytes (FreeBSD) or *len on entry (macOS)
    const void* last_hdtr = nullptr;
    int last_flags = 0;
    // A signal "arrives" once this many bytes of a call are sent, if more
    // remain: the call ends with EINTR (-1 for none: no signal).
    long long interrupt_after = -1;
};
extern SfshimBsdModel sfshim_bsd_model;
