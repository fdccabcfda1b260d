// Lock-free counters and the report written at exit (SFSHIM_STATS).
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "sfshim/sfshim.h"

namespace sfshim {

enum class Counter {
    calls,
    native_calls,
    emulated_calls,
    mmap_calls,
    rw_calls,
    bytes,
    native_bytes,
    mmap_bytes,
    rw_bytes,
    fallbacks,
    mmap_fallbacks,
    errors,
    retries,
    cache_hits,
    cache_misses,
    cache_bypasses,
    cache_evictions,
    count_  // number of counters
};

void stat_add(Counter c, uint64_t n = 1);
uint64_t stat_get(Counter c);
sfshim_stats stats_snapshot();
void stats_reset();
// Called once, on first use: a forked child then counts from zero.
void stats_init();

// The two report formats; each returns the length written into buf (truncated to size).
// With `cache`, a line (keys) of the mapping cache's figures too.
size_t format_stats_text(const sfshim_stats& s, long pid, char* buf, size_t size,
                         const sfshim_cache_stats* cache = nullptr);
size_t format_stats_json(const sfshim_stats& s, long pid, const char* mode, char* buf, size_t size,
                         const sfshim_cache_stats* cache = nullptr);

// Opens SFSHIM_STATS's file for the exit report: created if missing, opened
// for appending; a symbolic link at the path is refused (O_NOFOLLOW), a FIFO
// never blocks (O_NONBLOCK), and anything but a regular file is refused
// (-EINVAL). The descriptor, or -errno (-ELOOP for a link, -ENXIO for a FIFO
// without a reader).
int open_stats_file(const char* path);

// Appends one report line to the file at `path` in one write(), so that
// processes sharing the file never interleave their lines. 0 or an errno.
int append_stats_line(const char* path, const char* line, size_t len);

}  // namespace sfshim
