// The C API of sfshim.h: every sfshim_* function, and nothing else. (The
// interposed glibc names, sendfile and sendfile64, are in interpose.cpp.)
// SPDX-License-Identifier: BSD-2-Clause
#include "cache.h"
#include "common.h"
#include "config.h"
#include "policy.h"
#include "stats.h"

using sfshim::config;
using sfshim::dispatch;

extern "C" {

SFSHIM_API ssize_t sfshim_sendfile(int out_fd, int in_fd, int64_t* offset, size_t count) {
    return dispatch(config().mode, out_fd, in_fd, offset, count);
}

SFSHIM_API ssize_t sfshim_sendfile_mode(enum sfshim_mode mode, int out_fd, int in_fd,
                                        int64_t* offset, size_t count) {
    return dispatch(mode, out_fd, in_fd, offset, count);
}

SFSHIM_API void sfshim_stats_get(struct sfshim_stats* out) {
    if (out != nullptr) *out = sfshim::stats_snapshot();
}

SFSHIM_API void sfshim_stats_reset(void) { sfshim::stats_reset(); }

SFSHIM_API void sfshim_cache_stats_get(struct sfshim_cache_stats* out) {
    if (out != nullptr) *out = sfshim::cache_stats();
}

SFSHIM_API enum sfshim_mode sfshim_mode_current(void) { return config().mode; }

SFSHIM_API const char* sfshim_version(void) { return SFSHIM_VERSION_STRING; }

}  // extern "C"
