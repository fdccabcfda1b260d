// The two symbols programs call. glibc gives both one address on 64-bit
// targets; APR imports `sendfile`, nginx, lighttpd and CPython `sendfile64`.
// SPDX-License-Identifier: BSD-2-Clause
#include <sys/sendfile.h>

#include "common.h"
#include "config.h"
#include "policy.h"

static_assert(sizeof(off_t) == sizeof(int64_t), "32-bit off_t builds need their own sendfile");

extern "C" {

SFSHIM_API ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count) noexcept {
    return sfshim::dispatch(sfshim::config().mode, out_fd, in_fd, reinterpret_cast<int64_t*>(offset), count);
}

SFSHIM_API ssize_t sendfile64(int out_fd, int in_fd, off64_t* offset, size_t count) noexcept {
    return sfshim::dispatch(sfshim::config().mode, out_fd, in_fd, reinterpret_cast<int64_t*>(offset), count);
}

}  // extern "C"
