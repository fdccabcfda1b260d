// The mapping cache: read-only shared mappings of regular files, kept across
// calls, threads and descriptors, so that a file a server sends again and
// again is mapped once and every response is one copy, straight from the
// page cache into the output.
//
// Keyed by what the call's fstat says (device, inode, size, change time) and
// the segment: a file is mapped in aligned segments of Tuning::cache_segment
// bytes (a smaller file is one entry). A file that grew, shrank or was
// written has another key (its change time moved), so a mapping made before
// is never used after: where one inode number stands for other pages
// (overlayfs copies a lower file up on its first write, keeping st_ino) the
// shared mapping alone would not see the change. An unlinked file
// (st_nlink 0) is never kept, nor is a file larger than half the cap (it
// would evict every other for segments used once); entries of files unlinked while cached, and
// entries unused for cache_idle, are dropped by a sweep that runs at a call
// at most every kSweepMs (on Linux it finds deleted files through
// /proc/self/map_files).
//
// No lock, no allocation: a fixed table of entries, each with one atomic
// word (state, generation, references). A lease holds a reference; an entry
// is unmapped only by whoever moved it from "live, no references" to "busy",
// so a mapping in use (by another thread, or by the call a signal handler
// interrupted) is never unmapped under its user. The shim never reads mapped
// bytes itself: the kernel's copy out of a mapping of a truncated file
// faults into EFAULT or a short count, never SIGBUS.
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "plan.h"
#include "sfshim/sfshim.h"

namespace sfshim {

// The table's size: the most entries any setting can ask for.
constexpr size_t kCacheMaxEntries = 256;
// How often the sweep runs at most (at a call; never on its own), and how
// many entries each sweep asks whether their file was unlinked (in turn: all
// of 256 within a second of calls).
constexpr uint32_t kSweepMs = 250;
constexpr size_t kSweepChecks = 64;

struct CacheLimits {
    size_t bytes;     // mapped bytes at most; 0: the cache is off
    size_t entries;   // entries at most (<= kCacheMaxEntries); 0: off
    size_t segment;   // bytes per entry of a large file (a multiple of the page)
    uint32_t idle_ms; // an entry unused this long is dropped at the next sweep
};


// A read-only shared mapping of [offset, offset + len) of the file, with
// Tuning's advice, its page tables filled at once when `prefault` (the
// cache's entries, made once and read by many calls; not by default the
// engine's window for a file the cache does not keep, whose pages the
// kernel's copy reads once: prefaulting them bought nothing measurable,
// docs/performance.md). nullptr on failure.
void* map_file(int fd, int64_t offset, size_t len, bool prefault);

// One piece of a mapped file, held until the lease ends.
class MapLease {
public:
    MapLease() = default;
    ~MapLease() { release(); }
    MapLease(const MapLease&) = delete;
    MapLease& operator=(const MapLease&) = delete;

    // The mapped bytes from `pos` on, of the file open as `fd` with identity
    // `id`: from the cache, else mapped anew and kept; false when the cache
    // is off or cannot keep this file (the caller maps it itself). Releases
    // what the lease held before.
    bool acquire(int fd, const FileId& id, int64_t pos);
    void release();

    bool held() const { return entry_ >= 0; }
    // The byte at `pos` (the acquire's, or any later one in the piece).
    const char* at(int64_t pos) const { return base_ + (pos - start_); }
    // The file offset where the piece ends (the segment's end or the file's).
    int64_t end() const { return end_; }

private:
    int entry_ = -1;
    const char* base_ = nullptr;
    int64_t start_ = 0;
    int64_t end_ = 0;
};

CacheLimits cache_limits();
// Whether a mapping of this file (this identity: a change of the file asks
// again) failed before, and noting that one failed with `err` (ENOMEM and
// EAGAIN are not noted: they may pass): the cache and the mmap engine then
// go straight to read/write instead of failing again on every call.
bool cache_known_unmappable(const FileId& id);
void cache_note_unmappable(const FileId& id, int err);
// Whether the cache is on (SFSHIM_TUNE can turn it off).
bool cache_on();
// Whether the cache is on and would keep this file: linked, and no larger
// than half the cap.
bool cache_keeps(const FileId& id);
sfshim_cache_stats cache_stats();

// Tests only: drops every entry (no call may be under way) and sets limits.
void cache_set_limits_for_tests(const CacheLimits& limits);

}  // namespace sfshim
