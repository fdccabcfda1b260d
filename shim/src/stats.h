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
    count_  // number of counters
};

void stat_add(Counter c, uint64_t n = 1);
sfshim_stats stats_snapshot();
void stats_reset();
// Called once, on first use: a forked child then counts from zero.
void stats_init();

// The two report formats; each returns the length written into buf (truncated to size).
size_t format_stats_text(const sfshim_stats& s, long pid, char* buf, size_t size);
size_t format_stats_json(const sfshim_stats& s, long pid, const char* mode, char* buf, size_t size);

}  // namespace sfshim
