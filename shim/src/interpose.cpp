// The symbols programs call. glibc gives both one address on 64-bit
// targets; APR imports `sendfile`, nginx, lighttpd and CPython `sendfile64`.
//
// Elsewhere: NetBSD and OpenBSD have no sendfile, so ported Linux code that
// calls it links against these (off_t has 64 bits there). FreeBSD, DragonFly
// and macOS have their own sendfile with another signature: nothing is
// interposed there, and <sfshim/linux_sendfile.h> maps the Linux name to
// sfshim_linux_sendfile instead.
// SPDX-License-Identifier: BSD-2-Clause
#if defined(__linux__)
#include <sys/sendfile.h>
// musl makes sendfile64 a macro for sendfile (one libc symbol); the library
// defines both names, as glibc has both.
#undef sendfile64
#endif
#include <sys/types.h>

#include "common.h"
#include "config.h"
#include "policy.h"

#if defined(__linux__)

extern "C" {

// Where off_t has 32 bits (i386), `sendfile` is Linux's 32-bit call: its own
// offset width and its 2 GiB limit.
SFSHIM_API ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count) noexcept {
    static_assert(sizeof(off_t) == 8 || sizeof(off_t) == 4, "off_t of 32 or 64 bits");
    if constexpr (sizeof(off_t) == 4)
        return sfshim::dispatch_off32(sfshim::config().mode, out_fd, in_fd, reinterpret_cast<int32_t*>(offset), count);
    else
        return sfshim::dispatch(sfshim::config().mode, out_fd, in_fd, reinterpret_cast<int64_t*>(offset), count);
}

SFSHIM_API ssize_t sendfile64(int out_fd, int in_fd, off64_t* offset, size_t count) noexcept {
    return sfshim::dispatch(sfshim::config().mode, out_fd, in_fd, reinterpret_cast<int64_t*>(offset), count);
}

}  // extern "C"

#elif defined(__NetBSD__) || defined(__OpenBSD__)

extern "C" {

// Linux's signature; off_t has 64 bits on both systems.
SFSHIM_API ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count) noexcept {
    static_assert(sizeof(off_t) == 8, "64-bit off_t");
    return sfshim::dispatch(sfshim::config().mode, out_fd, in_fd, reinterpret_cast<int64_t*>(offset), count);
}

SFSHIM_API ssize_t sendfile64(int out_fd, int in_fd, off_t* offset, size_t count) noexcept {
    return sfshim::dispatch(sfshim::config().mode, out_fd, in_fd, reinterpret_cast<int64_t*>(offset), count);
}

}  // extern "C"

#endif
