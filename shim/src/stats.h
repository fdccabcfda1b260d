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
// The kernel answered ENOSYS (policy.cpp): the counters (and the slot)
// say so from then on, in this process and the children it forks.
void stats_note_kernel_enosys();
// At exit (report.cpp): the slot, if this process has one of its own, is
// stamped "exited" with the cache's figures.
void stats_stamp_exit(const sfshim_cache_stats& cache);

// The report at exit for SFSHIM_STATS=stderr, as text, and its JSON form
// (stats_format.h).
size_t format_stats_text(const sfshim_stats& s, long pid, char* buf, size_t size,
                         const sfshim_cache_stats* cache = nullptr);
size_t format_stats_json(const sfshim_stats& s, long pid, const char* mode, char* buf, size_t size,
                         const sfshim_cache_stats* cache = nullptr);

// The live stats file at `path` (stats_file.h), opened with the care of a
// log file (log.h: no symbolic link, regular files only, never waits),
// made (or found) whole and mapped shared; the descriptor is closed before
// this returns. The mapping, or null with *err set: EINVAL not a regular
// file, ELOOP a link, EEXIST a file that is not a stats file of this
// version, or the errno of open, fallocate or mmap.
sfshim_stats_header* map_live_stats_file(const char* path, int* err);
// The mapping this process counts in (null if none): for tests.
sfshim_stats_header* live_stats_file();

}  // namespace sfshim
