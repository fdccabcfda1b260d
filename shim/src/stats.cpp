// SPDX-License-Identifier: BSD-2-Clause
#include "stats.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

#include "common.h"
#include "config.h"
#include "log.h"
#include "once.h"
#include "platform/platform.h"
#include "stats_format.h"

namespace sfshim {
namespace {

constexpr size_t kCounters = static_cast<size_t>(Counter::count_);
using Atomic64 = std::atomic<uint64_t>;
// Lock-free: updated from many threads at once, read at exit, and never a
// call into libatomic. Asked for std::atomic's own 8-byte alignment:
// is_always_lock_free is false under clang -m32, which answers for a plain
// uint64_t there (4-byte aligned on i386).
static_assert(alignof(Atomic64) >= sizeof(uint64_t), "counters must be naturally aligned");
static_assert(sizeof(Atomic64) == sizeof(uint64_t), "a counter is a slot's word");
static_assert(__atomic_always_lock_free(sizeof(uint64_t), nullptr), "counters must be lock-free");

// The process's own counters: where it counts until it has a slot in a live
// stats file, and always when it has none.
Atomic64 g_local[kCounters];
// Where the counters are now: g_local, or the slot's words.
std::atomic<Atomic64*> g_active{g_local};

// The live stats file, mapped at load (null: none), and this process's slot
// in it once claimed (null before, and in a fork child until its first call).
sfshim_stats_header* g_file = nullptr;
sfshim_stats_slot* g_slot = nullptr;
Once g_claim_once;
// The kernel's sendfile answered ENOSYS in this process or the parent it
// was forked from (the policy's flag, told to stats_note_kernel_enosys).
std::atomic<bool> g_kernel_enosys{false};

Atomic64& at(Counter c) { return g_active.load(std::memory_order_acquire)[static_cast<size_t>(c)]; }

// The file's words, shared with other processes: atomic views of them.
// (The mapping is page-aligned; every word the layout has is naturally
// aligned within it.)
template <class T>
std::atomic<T>& word(T& w) {
    static_assert(sizeof(std::atomic<T>) == sizeof(T), "same size");
    return *reinterpret_cast<std::atomic<T>*>(&w);
}

sfshim_stats_slot* slot_at(sfshim_stats_header* h, uint32_t i) {
    return reinterpret_cast<sfshim_stats_slot*>(reinterpret_cast<char*>(h) + SFSHIM_STATS_HEADER_SIZE +
                                                size_t{i} * SFSHIM_STATS_SLOT_SIZE);
}

uint64_t now_ns() {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Takes this process's slot: the next free one, or the shared slot 0 when
// every other is taken. Counts made before (by a signal handler that
// interrupted this) move into it.
void claim_slot() {
    sfshim_stats_header* h = g_file;
    if (h == nullptr) return;
    uint32_t n = word(h->claimed).fetch_add(1, std::memory_order_relaxed);
    sfshim_stats_slot* s;
    if (n + 1 < SFSHIM_STATS_SLOTS) {
        s = slot_at(h, n + 1);
        s->pid = static_cast<int32_t>(getpid());
        s->started_ns = now_ns();
        s->mode = static_cast<uint32_t>(config().mode);
        if (g_kernel_enosys.load(std::memory_order_relaxed)) word(s->kernel_enosys).store(1, std::memory_order_relaxed);
        word(s->state).store(SFSHIM_SLOT_LIVE, std::memory_order_release);
        g_slot = s;
    } else {
        s = slot_at(h, 0);
        word(h->shared_processes).fetch_add(1, std::memory_order_relaxed);
        if (g_kernel_enosys.load(std::memory_order_relaxed)) word(s->kernel_enosys).store(1, std::memory_order_relaxed);
        word(s->state).store(SFSHIM_SLOT_SHARED, std::memory_order_release);
        g_slot = nullptr;  // not this process's alone: no exit stamp
    }
    Atomic64* counters = reinterpret_cast<Atomic64*>(s->counters);
    g_active.store(counters, std::memory_order_release);
    for (size_t i = 0; i < kCounters; ++i)
        if (uint64_t v = g_local[i].exchange(0, std::memory_order_relaxed))
            counters[i].fetch_add(v, std::memory_order_relaxed);
}

// A forked child counts from zero, in its own memory until its first call
// takes it a slot of its own (the parent's slot and file mapping stay the
// parent's: a MAP_SHARED mapping is shared across fork).
void after_fork_in_child() {
    g_active.store(g_local, std::memory_order_relaxed);
    for (auto& c : g_local) c.store(0, std::memory_order_relaxed);
    g_slot = nullptr;
    g_claim_once.reset_in_child();
}

// Maps the live stats file when the library loads: before the program can
// chroot or drop privileges, and before a server clears its environment.
__attribute__((constructor)) void map_live_file_at_load() {
    ErrnoGuard keep_errno;
    const Config& cfg = config();
    if (cfg.stats != StatsTarget::live_file) return;
    char path[600];
    if (!expand_stats_path(cfg.stats_path, static_cast<long>(getpid()), path, sizeof path)) {
        SFSHIM_LOG(warn, "SFSHIM_STATS: the path does not fit once %%p is expanded; not counting in a file");
        return;
    }
    int err = 0;
    g_file = map_live_stats_file(path, &err);
    if (g_file == nullptr)
        SFSHIM_LOG(warn, "SFSHIM_STATS: not counting in %s: %s", path,
                   err == EINVAL ? "not a regular file"
                   : err == ELOOP ? "a symbolic link"
                   : err == EEXIST ? "not a stats file of this version (remove it)"
                                   : strerror(err));
}

}  // namespace

namespace {

// Makes the file whole: its blocks allocated (a full disk is an error now,
// never SIGBUS in a write through the mapping later). Processes that find
// it new at once may all do this: neither call changes what is written.
int make_whole(int fd, off_t size) {
    const off_t whole = static_cast<off_t>(SFSHIM_STATS_FILE_SIZE);
    if (size == whole) return 0;
    if (size > whole) return EEXIST;
    if (size > 0) {  // begun: by another process of ours, or something else
        uint64_t magic = 0;
        ssize_t got = pread(fd, &magic, sizeof magic, 0);
        if (got < 0) return errno;
        if (magic != 0 && magic != SFSHIM_STATS_MAGIC) return EEXIST;
    }
    int err = platform::allocate_file(fd, whole);
    // No allocation ahead here (a file system, an old kernel, a compat
    // layer): a sparse file, whose blocks come as the slots are written.
    if (err != 0 && err != EOPNOTSUPP && err != ENOSYS && err != EINVAL) return err;
    // Grown, unless the call did nothing (a layer may take it as a no-op).
    struct stat st;
    if (fstat(fd, &st) != 0) return errno;
    if (st.st_size < whole && ftruncate(fd, whole) != 0) return errno;
    return 0;
}

}  // namespace

sfshim_stats_header* map_live_stats_file(const char* path, int* err) {
    ErrnoGuard keep_errno;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd < 0) {
        *err = errno;
        return nullptr;
    }
    struct stat st;
    int e = fstat(fd, &st) != 0 ? errno : !S_ISREG(st.st_mode) ? EINVAL : make_whole(fd, st.st_size);
    // Made whole just now: as large as it should be (or changed under us).
    if (e == 0 && st.st_size != static_cast<off_t>(SFSHIM_STATS_FILE_SIZE) &&
        (fstat(fd, &st) != 0 || st.st_size != static_cast<off_t>(SFSHIM_STATS_FILE_SIZE)))
        e = EEXIST;
    void* p = MAP_FAILED;
    if (e == 0) {
        p = mmap(nullptr, SFSHIM_STATS_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) e = errno;
    }
    close(fd);
    if (e != 0) {
        *err = e;
        return nullptr;
    }
    auto* h = static_cast<sfshim_stats_header*>(p);
    // The geometry first, the magic last: a reader that sees the magic sees
    // the rest. Every process writes the same values.
    word(h->slot_size).store(SFSHIM_STATS_SLOT_SIZE, std::memory_order_relaxed);
    word(h->slots).store(SFSHIM_STATS_SLOTS, std::memory_order_relaxed);
    uint64_t expected = 0;
    if (!word(h->magic).compare_exchange_strong(expected, SFSHIM_STATS_MAGIC, std::memory_order_release) &&
        expected != SFSHIM_STATS_MAGIC) {
        munmap(p, SFSHIM_STATS_FILE_SIZE);
        *err = EEXIST;
        return nullptr;
    }
    return h;
}

sfshim_stats_header* live_stats_file() { return g_file; }

void stats_claim() {
    if (g_file == nullptr) return;
    // A signal handler that interrupted this thread's own claim counts in
    // g_local; the claim moves those counts into the slot.
    g_claim_once.run(claim_slot);
}

void stats_note_kernel_enosys() {
    g_kernel_enosys.store(true, std::memory_order_relaxed);
    if (g_file == nullptr) return;
    Atomic64* active = g_active.load(std::memory_order_acquire);
    if (active == g_local) return;  // the claim sets it
    // The slot holding these counters.
    auto* s = reinterpret_cast<sfshim_stats_slot*>(reinterpret_cast<char*>(active) -
                                                   offsetof(sfshim_stats_slot, counters));
    word(s->kernel_enosys).store(1, std::memory_order_relaxed);
}

void stat_add(Counter c, uint64_t n) { at(c).fetch_add(n, std::memory_order_relaxed); }
uint64_t stat_get(Counter c) { return at(c).load(std::memory_order_relaxed); }

sfshim_stats stats_snapshot() {
    auto get = [](Counter c) { return at(c).load(std::memory_order_relaxed); };
    sfshim_stats s{};
    s.calls = get(Counter::calls);
    s.native_calls = get(Counter::native_calls);
    s.emulated_calls = get(Counter::emulated_calls);
    s.mmap_calls = get(Counter::mmap_calls);
    s.rw_calls = get(Counter::rw_calls);
    s.bytes = get(Counter::bytes);
    s.native_bytes = get(Counter::native_bytes);
    s.mmap_bytes = get(Counter::mmap_bytes);
    s.rw_bytes = get(Counter::rw_bytes);
    s.fallbacks = get(Counter::fallbacks);
    s.mmap_fallbacks = get(Counter::mmap_fallbacks);
    s.errors = get(Counter::errors);
    s.retries = get(Counter::retries);
    s.kernel_enosys = g_kernel_enosys.load(std::memory_order_relaxed) ? 1 : 0;
    return s;
}

void stats_reset() {
    Atomic64* active = g_active.load(std::memory_order_acquire);
    for (size_t i = 0; i < kCounters; ++i) active[i].store(0, std::memory_order_relaxed);
}

void stats_stamp_exit(const sfshim_cache_stats& c) {
    sfshim_stats_slot* s = g_slot;
    if (s == nullptr) return;
    // The cache's figures first, the state last: a reader that sees
    // "exited" sees the rest.
    s->cache_entries = c.entries;
    s->cache_mapped_bytes = c.mapped_bytes;
    s->cache_peak_mapped_bytes = c.peak_mapped_bytes;
    s->cache_cap_bytes = c.cap_bytes;
    s->ended_ns = now_ns();
    word(s->state).store(SFSHIM_SLOT_EXITED, std::memory_order_release);
}

void stats_init() { pthread_atfork(nullptr, nullptr, after_fork_in_child); }

size_t format_stats_text(const sfshim_stats& s, long pid, char* buf, size_t size, const sfshim_cache_stats* c) {
    char who[32];
    snprintf(who, sizeof who, "sfshim[%ld]", pid);
    return sfshim_format_text(&s, who, buf, size, c);
}

size_t format_stats_json(const sfshim_stats& s, long pid, const char* mode, char* buf, size_t size,
                         const sfshim_cache_stats* c) {
    return sfshim_format_json(&s, pid, mode, buf, size, c, nullptr);
}

}  // namespace sfshim
