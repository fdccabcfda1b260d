// The two symbols programs call. glibc gives both one address on 64-bit
// targets; APR imports `sendfile`, nginx, lighttpd and CPython `sendfile64`.
// SPDX-License-Identifier: BSD-2-Clause
#include <sys/sendfile.h>

#include "common.h"
#include "config.h"
#include "policy.h"

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
