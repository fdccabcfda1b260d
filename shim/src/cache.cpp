// SPDX-License-Identifier: BSD-2-Clause
#include "cache.h"
#include "held.h"

#include <sys/mman.h>

#include <atomic>

#include "common.h"
#include "config.h"
#include "once.h"
#include "platform/platform.h"
#include "stats.h"

namespace sfshim {
namespace {

// An entry's word: references (low bits), state, generation. The generation
// changes whenever an entry is filled or emptied, so that a reader that read
// a key and then takes a reference by compare-and-swap knows the key was the
// entry's all along.
constexpr uint64_t kRefBits = 24;
constexpr uint64_t kRefMask = (uint64_t{1} << kRefBits) - 1;
constexpr uint64_t kStateShift = kRefBits;
constexpr uint64_t kStateMask = uint64_t{3} << kStateShift;
constexpr uint64_t kGenShift = kRefBits + 2;
enum : uint64_t { kEmpty = 0, kLive = 1, kBusy = 2 };

uint64_t refs_of(uint64_t w) { return w & kRefMask; }
uint64_t state_of(uint64_t w) { return (w & kStateMask) >> kStateShift; }
uint64_t gen_of(uint64_t w) { return w >> kGenShift; }
uint64_t make_word(uint64_t gen, uint64_t state, uint64_t refs) {
    return (gen << kGenShift) | (state << kStateShift) | refs;
}

// Every field is atomic: readers look at an entry's key while another thread
// may be refilling it (the word's compare-and-swap then fails).
struct Entry {
    std::atomic<uint64_t> word;
    std::atomic<uint64_t> dev;
    std::atomic<uint64_t> ino;
    std::atomic<int64_t> size;
    std::atomic<int64_t> ctime_ns;
    std::atomic<uint64_t> segment;
    std::atomic<uintptr_t> addr;
    std::atomic<size_t> len;
    std::atomic<uint32_t> last_used;  // monotonic milliseconds
};

// Zero-initialised: every entry starts empty, with nothing run at load.
Entry g_table[kCacheMaxEntries];
std::atomic<size_t> g_mapped{0};
std::atomic<size_t> g_peak{0};
std::atomic<size_t> g_entries{0};
std::atomic<uint32_t> g_last_sweep{0};
std::atomic<size_t> g_sweep_next{0};  // where the next sweep's deletion checks start

// Files that could not be mapped (a FUSE file opened with direct_io, say),
// by a hash of their identity (0: none), so that no call asks again while
// the file is unchanged: each call would otherwise pay a failing mmap. A
// collision only sends a mappable file through read/write until it changes.
constexpr size_t kUnmappableSlots = 16;
std::atomic<uint64_t> g_unmappable[kUnmappableSlots];

uint64_t identity_hash(const FileId& id) {
    uint64_t h = id.dev * 0x9e3779b97f4a7c15ull;
    h ^= id.ino + 0x7f4a7c159e3779b9ull + (h << 6) + (h >> 2);
    h ^= static_cast<uint64_t>(id.ctime_ns) + (h << 6) + (h >> 2);
    h ^= static_cast<uint64_t>(id.size) + (h << 6) + (h >> 2);
    return h | 1;
}

// The entries this thread holds leases on (held.h).
thread_local HeldSet t_leases;

Once g_limits_once;
CacheLimits g_limits;

const CacheLimits kOff = {0, 0, kPageSize, 0};

const CacheLimits& limits() {
    auto read = [] {
        const Tuning& t = config().tuning;
        g_limits = CacheLimits{t.cache_bytes, min_of(t.cache_entries, kCacheMaxEntries), t.cache_segment,
                               t.cache_idle_ms};
    };
    // A signal handler that interrupted this thread's own reading goes on
    // without the cache.
    return g_limits_once.run(read) ? g_limits : kOff;
}

// Files kept at all: at most half the cap.
bool fits(int64_t size, const CacheLimits& lim) { return static_cast<uint64_t>(size) <= lim.bytes / 2; }

size_t round_to_page(int64_t n) {
    return (static_cast<size_t>(n) + kPageSize - 1) & ~(kPageSize - 1);
}

uint32_t ms_since(uint32_t now, uint32_t then) { return now - then; }  // wraps correctly

size_t hash_slot(uint64_t dev, uint64_t ino, uint64_t segment, size_t n) {
    uint64_t h = dev * 0x9e3779b97f4a7c15ull ^ ino * 0xc2b2ae3d27d4eb4full ^ segment * 0x165667b19e3779f9ull;
    h ^= h >> 29;
    return static_cast<size_t>(h % n);
}

bool key_is(const Entry& e, const FileId& id, uint64_t segment) {
    return e.dev.load(std::memory_order_relaxed) == id.dev && e.ino.load(std::memory_order_relaxed) == id.ino &&
           e.size.load(std::memory_order_relaxed) == id.size &&
           e.ctime_ns.load(std::memory_order_relaxed) == id.ctime_ns &&
           e.segment.load(std::memory_order_relaxed) == segment;
}

// A reference to entry i if it is live and holds this key.
bool take(size_t i, const FileId& id, uint64_t segment, uint32_t now) {
    Entry& e = g_table[i];
    uint64_t w = e.word.load(std::memory_order_acquire);
    for (int tries = 0; tries < 4; ++tries) {
        if (state_of(w) != kLive || refs_of(w) == kRefMask) return false;
        bool match = key_is(e, id, segment);
        // The key's reads come before the check that the word is unchanged.
        std::atomic_thread_fence(std::memory_order_acquire);
        if (!match) return false;  // (at worst a miss: the entry is mapped again elsewhere)
        if (e.word.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
            e.last_used.store(now, std::memory_order_relaxed);
            return true;
        }
    }
    return false;
}

// Moves entry i from live with no reference (word `w`) to busy: the caller
// then owns it. False if anything changed.
bool claim_idle(size_t i, uint64_t w) {
    if (state_of(w) != kLive || refs_of(w) != 0) return false;
    uint64_t busy = make_word(gen_of(w), kBusy, 0);
    if (!g_table[i].word.compare_exchange_strong(w, busy, std::memory_order_acq_rel, std::memory_order_relaxed))
        return false;
    // The new key's writes come after the claim (take()'s fence pairs with it).
    std::atomic_thread_fence(std::memory_order_release);
    return true;
}

// Unmaps a claimed entry; it stays busy (the caller refills or empties it).
void unmap_claimed(size_t i) {
    Entry& e = g_table[i];
    size_t len = e.len.load(std::memory_order_relaxed);
    munmap(reinterpret_cast<void*>(e.addr.load(std::memory_order_relaxed)), len);
    g_mapped.fetch_sub(len, std::memory_order_relaxed);
    g_entries.fetch_sub(1, std::memory_order_relaxed);
    stat_add(Counter::cache_evictions);
}

void empty_claimed(size_t i) {
    Entry& e = g_table[i];
    uint64_t w = e.word.load(std::memory_order_relaxed);
    e.word.store(make_word(gen_of(w) + 1, kEmpty, 0), std::memory_order_release);
}

// Unmaps entry i if it is idle (no reference): true if this call did.
bool evict_if_idle(size_t i) {
    uint64_t w = g_table[i].word.load(std::memory_order_acquire);
    if (!claim_idle(i, w)) return false;
    unmap_claimed(i);
    empty_claimed(i);
    return true;
}

// The idle entry unused longest, of the first n: its index, or -1.
long least_recently_used(size_t n, uint32_t now) {
    long best = -1;
    uint32_t best_age = 0;
    for (size_t i = 0; i < n; ++i) {
        uint64_t w = g_table[i].word.load(std::memory_order_relaxed);
        if (state_of(w) != kLive || refs_of(w) != 0) continue;
        uint32_t age = ms_since(now, g_table[i].last_used.load(std::memory_order_relaxed));
        if (best < 0 || age > best_age) {
            best = static_cast<long>(i);
            best_age = age;
        }
    }
    return best;
}

// Room for `len` more mapped bytes, evicting idle entries unused longest
// first. False when the rest is in use.
bool reserve(size_t len, const CacheLimits& lim, uint32_t now) {
    size_t cur = g_mapped.load(std::memory_order_relaxed);
    for (size_t attempts = 0; attempts < 2 * kCacheMaxEntries + 8; ++attempts) {
        if (cur + len <= lim.bytes) {
            if (g_mapped.compare_exchange_weak(cur, cur + len, std::memory_order_relaxed)) {
                size_t peak = g_peak.load(std::memory_order_relaxed);
                while (cur + len > peak && !g_peak.compare_exchange_weak(peak, cur + len, std::memory_order_relaxed)) {
                }
                return true;
            }
            continue;
        }
        long victim = least_recently_used(lim.entries, now);
        if (victim < 0) return false;
        evict_if_idle(static_cast<size_t>(victim));
        cur = g_mapped.load(std::memory_order_relaxed);
    }
    return false;
}

// Drops idle entries unused for idle_ms and (where the system tells) those
// of files unlinked since: at most every kSweepMs, by one caller at a time.
// The idle check looks at every entry; the deletion check, a system call
// each, at kSweepChecks of them in turn.
void sweep(uint32_t now, const CacheLimits& lim) {
    uint32_t last = g_last_sweep.load(std::memory_order_relaxed);
    if (ms_since(now, last) < kSweepMs) return;
    if (!g_last_sweep.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
    if (g_entries.load(std::memory_order_relaxed) == 0) return;
    size_t first = g_sweep_next.load(std::memory_order_relaxed) % lim.entries;
    size_t checks = min_of(kSweepChecks, lim.entries);
    g_sweep_next.store(first + checks, std::memory_order_relaxed);
    for (size_t i = 0; i < lim.entries; ++i) {
        Entry& e = g_table[i];
        uint64_t w = e.word.load(std::memory_order_acquire);
        if (state_of(w) != kLive || refs_of(w) != 0) continue;
        bool idle = ms_since(now, e.last_used.load(std::memory_order_relaxed)) >= lim.idle_ms;
        bool checked = (i + lim.entries - first) % lim.entries < checks;
        if (!idle && !checked) continue;
        if (!idle) {
            // Read while the entry may be claimed by another thread: the word
            // check after the question says whether the answer was about it.
            uintptr_t addr = e.addr.load(std::memory_order_relaxed);
            size_t len = e.len.load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (e.word.load(std::memory_order_relaxed) != w) continue;
            if (platform::mapping_deleted(reinterpret_cast<const void*>(addr), len) != 1) continue;
            // Still the same entry after the (slow) question?
            if (e.word.load(std::memory_order_relaxed) != w) continue;
        }
        if (claim_idle(i, w)) {
            unmap_claimed(i);
            empty_claimed(i);
        }
    }
}

// Entries of this file under other keys (all of an unlinked file's, or
// those of a size or change time it had before), among the first n: dropped
// if idle.
void drop_file(const FileId& id, size_t n, bool all) {
    for (size_t i = 0; i < n; ++i) {
        Entry& e = g_table[i];
        uint64_t w = e.word.load(std::memory_order_acquire);
        if (state_of(w) != kLive || refs_of(w) != 0) continue;
        bool same = e.dev.load(std::memory_order_relaxed) == id.dev && e.ino.load(std::memory_order_relaxed) == id.ino &&
                    (all || e.size.load(std::memory_order_relaxed) != id.size ||
                     e.ctime_ns.load(std::memory_order_relaxed) != id.ctime_ns);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (same && claim_idle(i, w)) {
            unmap_claimed(i);
            empty_claimed(i);
        }
    }
}

}  // namespace

void* map_file(int fd, int64_t offset, size_t len, bool prefault) {
    const Tuning& t = config().tuning;
    void* map = mmap(nullptr, len, PROT_READ, MAP_SHARED | (prefault ? platform::map_prefault_flag() : 0), fd,
                     static_cast<off_t>(offset));
    if (map == MAP_FAILED) return nullptr;
    if (t.mmap_advice != MmapAdvice::none)
        posix_madvise(map, len, t.mmap_advice == MmapAdvice::sequential ? POSIX_MADV_SEQUENTIAL : POSIX_MADV_WILLNEED);
    return map;
}

void MapLease::release() {
    if (entry_ < 0) return;
    g_table[entry_].word.fetch_sub(1, std::memory_order_release);
    t_leases.pop(entry_);
    entry_ = -1;
}

bool MapLease::acquire(int fd, const FileId& id, int64_t pos) {
    release();
    const CacheLimits& lim = limits();
    if (lim.bytes == 0 || lim.entries == 0 || pos < 0 || pos >= id.size) return false;
    uint32_t now = platform::monotonic_ms();
    sweep(now, lim);
    if (id.nlink == 0) {
        // Never kept: the cache would hold the disk space rm freed.
        drop_file(id, lim.entries, true);
        stat_add(Counter::cache_bypasses);
        return false;
    }
    if (!fits(id.size, lim)) {
        // A file larger than half the cap streaming through it would evict
        // every other file for segments used once: it maps its own windows.
        stat_add(Counter::cache_bypasses);
        return false;
    }
    uint64_t segment = static_cast<uint64_t>(pos) / lim.segment;
    int64_t start = static_cast<int64_t>(segment * lim.segment);
    int64_t end = min_of<int64_t>(start + static_cast<int64_t>(lim.segment), id.size);
    size_t len = round_to_page(end - start);
    if (len > lim.bytes) {
        stat_add(Counter::cache_bypasses);
        return false;
    }

    size_t n = lim.entries;
    size_t home = hash_slot(id.dev, id.ino, segment, n);
    size_t probes = min_of<size_t>(8, n);
    for (size_t k = 0; k < probes; ++k) {
        size_t i = (home + k) % n;
        if (take(i, id, segment, now)) {
            stat_add(Counter::cache_hits);
            entry_ = static_cast<int>(i);
            t_leases.push(entry_);
            base_ = reinterpret_cast<const char*>(g_table[i].addr.load(std::memory_order_relaxed));
            start_ = start;
            end_ = end;
            return true;
        }
    }

    // A miss: this file at another size is stale. Then the mapping first, so
    // that a file that cannot be mapped evicts nothing (and is remembered);
    // then a slot of the probe set, empty or idle (unused longest), and room
    // for the bytes, evicting only what the cap needs.
    drop_file(id, n, false);
    if (cache_known_unmappable(id)) {
        stat_add(Counter::cache_bypasses);
        return false;
    }
    void* map = map_file(fd, start, len, /*prefault=*/true);  // made once, read by many calls
    if (map == nullptr) {
        cache_note_unmappable(id, errno);
        stat_add(Counter::cache_bypasses);
        return false;
    }
    auto give_up = [&] {
        munmap(map, len);
        stat_add(Counter::cache_bypasses);
        return false;
    };
    long slot = -1;
    uint32_t slot_age = 0;
    bool slot_empty = false;
    for (size_t k = 0; k < probes && !slot_empty; ++k) {
        size_t i = (home + k) % n;
        uint64_t w = g_table[i].word.load(std::memory_order_relaxed);
        if (state_of(w) == kEmpty) {
            slot = static_cast<long>(i);
            slot_empty = true;
        } else if (state_of(w) == kLive && refs_of(w) == 0) {
            uint32_t age = ms_since(now, g_table[i].last_used.load(std::memory_order_relaxed));
            if (slot < 0 || age > slot_age) {
                slot = static_cast<long>(i);
                slot_age = age;
            }
        }
    }
    if (slot < 0) return give_up();
    size_t i = static_cast<size_t>(slot);
    Entry& e = g_table[i];
    uint64_t w = e.word.load(std::memory_order_acquire);
    if (slot_empty) {
        if (state_of(w) != kEmpty ||
            !e.word.compare_exchange_strong(w, make_word(gen_of(w), kBusy, 0), std::memory_order_acq_rel,
                                            std::memory_order_relaxed))
            return give_up();
        std::atomic_thread_fence(std::memory_order_release);
    } else {
        if (!claim_idle(i, w)) return give_up();
        unmap_claimed(i);
    }
    if (!reserve(len, lim, now)) {
        empty_claimed(i);
        return give_up();
    }
    e.dev.store(id.dev, std::memory_order_relaxed);
    e.ino.store(id.ino, std::memory_order_relaxed);
    e.size.store(id.size, std::memory_order_relaxed);
    e.ctime_ns.store(id.ctime_ns, std::memory_order_relaxed);
    e.segment.store(segment, std::memory_order_relaxed);
    e.addr.store(reinterpret_cast<uintptr_t>(map), std::memory_order_relaxed);
    e.len.store(len, std::memory_order_relaxed);
    e.last_used.store(now, std::memory_order_relaxed);
    g_entries.fetch_add(1, std::memory_order_relaxed);
    uint64_t busy = e.word.load(std::memory_order_relaxed);
    e.word.store(make_word(gen_of(busy) + 1, kLive, 1), std::memory_order_release);  // published, with our reference
    stat_add(Counter::cache_misses);
    entry_ = static_cast<int>(i);
    t_leases.push(entry_);
    base_ = static_cast<const char*>(map);
    start_ = start;
    end_ = end;
    return true;
}

CacheLimits cache_limits() { return limits(); }

void cache_after_fork_child() {
    // Only this thread came along: an entry keeps the references it holds.
    // One that was being filled or emptied (busy: no lease is ever held on
    // it) is let go; its mapping, if it was made, stays unmapped by nobody,
    // one segment's address space at most. The counts are then those of the
    // live entries.
    size_t mapped = 0, entries = 0;
    for (size_t i = 0; i < kCacheMaxEntries; ++i) {
        Entry& e = g_table[i];
        uint64_t w = e.word.load(std::memory_order_relaxed);
        int mine = t_leases.count(static_cast<int>(i));
        if (state_of(w) == kLive) {
            e.word.store(make_word(gen_of(w), kLive, static_cast<uint64_t>(mine)), std::memory_order_relaxed);
            mapped += e.len.load(std::memory_order_relaxed);
            ++entries;
        } else if (state_of(w) == kBusy) {
            e.word.store(make_word(gen_of(w) + 1, kEmpty, 0), std::memory_order_relaxed);
        }
    }
    g_mapped.store(mapped, std::memory_order_relaxed);
    g_entries.store(entries, std::memory_order_relaxed);
}

bool cache_known_unmappable(const FileId& id) {
    uint64_t h = identity_hash(id);
    return g_unmappable[h % kUnmappableSlots].load(std::memory_order_relaxed) == h;
}

void cache_note_unmappable(const FileId& id, int err) {
    if (err == ENOMEM || err == EAGAIN) return;  // short of memory or address space: may pass
    uint64_t h = identity_hash(id);
    g_unmappable[h % kUnmappableSlots].store(h, std::memory_order_relaxed);
}

bool cache_on() {
    const CacheLimits& lim = limits();
    return lim.bytes > 0 && lim.entries > 0;
}

bool cache_keeps(const FileId& id) {
    const CacheLimits& lim = limits();
    return cache_on() && id.nlink > 0 && fits(id.size, lim) && lim.segment <= lim.bytes;
}

sfshim_cache_stats cache_stats() {
    sfshim_cache_stats s{};
    s.hits = stat_get(Counter::cache_hits);
    s.misses = stat_get(Counter::cache_misses);
    s.bypasses = stat_get(Counter::cache_bypasses);
    s.evictions = stat_get(Counter::cache_evictions);
    s.entries = g_entries.load(std::memory_order_relaxed);
    s.mapped_bytes = g_mapped.load(std::memory_order_relaxed);
    s.peak_mapped_bytes = g_peak.load(std::memory_order_relaxed);
    s.cap_bytes = limits().bytes;
    return s;
}

void cache_set_limits_for_tests(const CacheLimits& lim) {
    limits();  // read once first, so that it does not overwrite these later
    for (size_t i = 0; i < kCacheMaxEntries; ++i) evict_if_idle(i);
    g_limits = CacheLimits{lim.bytes, min_of(lim.entries, kCacheMaxEntries),
                           max_of<size_t>(kPageSize, lim.segment & ~(kPageSize - 1)), lim.idle_ms};
    g_peak.store(g_mapped.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

}  // namespace sfshim
