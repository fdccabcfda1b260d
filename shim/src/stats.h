// Lock-free counters, the live stats file and the report at exit
// (SFSHIM_STATS).
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "sfshim/sfshim.h"
#include "stats_file.h"

namespace sfshim {

enum class Counter {
#define SFSHIM_COUNTER_ENUM_(name) name,
    SFSHIM_COUNTERS(SFSHIM_COUNTER_ENUM_)
#undef SFSHIM_COUNTER_ENUM_
    count_  // number of counters
};
static_assert(static_cast<int>(Counter::count_) == SFSHIM_COUNTER_COUNT, "one list of counters");

void stat_add(Counter c, uint64_t n = 1);
uint64_t stat_get(Counter c);
sfshim_stats stats_snapshot();
void stats_reset();
// Called once, at the first call: a forked child then counts from zero, in
// a slot of its own.
void stats_init();
// Called at the start of every call, before any counter moves: the first
// call of a process with a live stats file takes its slot there (one
// acquire load once done).
void stats_claim();
// The kernel answered ENOSYS (policy.cpp): the slot says so too.
void stats_note_kernel_enosys();

// The report at exit for SFSHIM_STATS=stderr, as text (stats_format.h).
size_t format_stats_text(const sfshim_stats& s, long pid, char* buf, size_t size,
                         const sfshim_cache_stats* cache = nullptr);
size_t format_stats_json(const sfshim_stats& s, long pid, const char* mode, char* buf, size_t size,
                         const sfshim_cache_stats* cache = nullptr);

// Opens a file the shim writes by path (a log file, the stats file) for
// appending: created if missing; a symbolic link at the path is refused
// (O_NOFOLLOW), a FIFO never blocks (O_NONBLOCK), and anything but a regular
// file is refused (-EINVAL). The descriptor, or -errno (-ELOOP for a link,
// -ENXIO for a FIFO without a reader).
int open_stats_file(const char* path);

// Appends one line to the file at `path` in one write(), so that processes
// sharing the file never interleave their lines. 0 or an errno.
int append_stats_line(const char* path, const char* line, size_t len);

// The live stats file at `path` (stats_file.h), opened with the same care,
// made (or found) whole and mapped shared; the descriptor is closed before
// this returns. The mapping, or null with *err set: EINVAL not a regular
// file, ELOOP a link, EEXIST a file that is not a stats file of this
// version, or the errno of open, fallocate or mmap.
sfshim_stats_header* map_live_stats_file(const char* path, int* err);
// The mapping this process counts in (null if none): for tests.
sfshim_stats_header* live_stats_file();

}  // namespace sfshim
