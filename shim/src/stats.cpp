// SPDX-License-Identifier: BSD-2-Clause
#include "stats.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>

#include "cache.h"
#include "common.h"
#include "config.h"
#include "log.h"
#include "policy.h"

namespace sfshim {
namespace {

constexpr size_t kCounters = static_cast<size_t>(Counter::count_);
std::atomic<uint64_t> g_counters[kCounters];
// Lock-free: updated from many threads at once, read at exit, and never a
// call into libatomic. Asked for std::atomic's own 8-byte alignment:
// is_always_lock_free is false under clang -m32, which answers for a plain
// uint64_t there (4-byte aligned on i386).
static_assert(alignof(std::atomic<uint64_t>) >= sizeof(uint64_t), "counters must be naturally aligned");
static_assert(__atomic_always_lock_free(sizeof(uint64_t), nullptr), "counters must be lock-free");

std::atomic<uint64_t>& at(Counter c) { return g_counters[static_cast<size_t>(c)]; }

// A child starts with its own counts: each process reports what it did.
void reset_counts() {
    for (auto& c : g_counters) c.store(0, std::memory_order_relaxed);
}


// Runs at exit in every process that loaded the library; silent unless asked.
__attribute__((destructor)) void report_at_exit() {
    ErrnoGuard keep_errno;
    const Config& cfg = config();
    if (cfg.stats == StatsTarget::none) return;
    sfshim_stats s = stats_snapshot();
    if (s.calls == 0) return;  // a helper process that never sent a file: no noise
    long pid = static_cast<long>(getpid());
    char buf[2048];
    if (cfg.stats == StatsTarget::text) {
        sfshim_cache_stats c = cache_stats();
        size_t n = format_stats_text(s, pid, buf, sizeof buf, &c);
        write_line(cfg.stats_sink, nullptr, buf, n);
        return;
    }
    char path[600];
    if (!expand_stats_path(cfg.stats_path, pid, path, sizeof path)) {
        SFSHIM_LOG(warn, "SFSHIM_STATS: the path does not fit once %%p is expanded; no report");
        return;
    }
    sfshim_cache_stats c = cache_stats();
    size_t n = format_stats_json(s, pid, mode_name(cfg.mode), buf, sizeof buf, &c);
    // Failing costs the program nothing: a line only when logging is on.
    if (int err = append_stats_line(path, buf, n))
        SFSHIM_LOG(warn, "SFSHIM_STATS: no report written to %s: %s", path,
                   err == EINVAL ? "not a regular file" : err == ELOOP ? "a symbolic link" : strerror(err));
}

}  // namespace

int open_stats_file(const char* path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {  // a FIFO with a reader, a device, a socket...
        close(fd);
        return -EINVAL;
    }
    return fd;
}

int append_stats_line(const char* path, const char* line, size_t len) {
    int fd = open_stats_file(path);
    if (fd < 0) return -fd;
    // One write: O_APPEND places it at the end as a whole. Never resumed
    // after a short count, which would put the rest after another's line.
    ssize_t w;
    do w = write(fd, line, len);
    while (w < 0 && errno == EINTR);
    int err = w < 0 ? errno : static_cast<size_t>(w) < len ? ENOSPC : 0;
    close(fd);
    return err;
}

namespace {

size_t clamp_len(int n, size_t size) {
    if (n < 0 || size == 0) return 0;
    return min_of(static_cast<size_t>(n), size - 1);
}

}  // namespace

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
    s.kernel_enosys = kernel_answered_enosys() ? 1 : 0;  // the policy's own flag, not a copy
    return s;
}

void stats_reset() { reset_counts(); }

void stats_init() { pthread_atfork(nullptr, nullptr, reset_counts); }

namespace {
// "512 B", "3.5 KiB", "460.5 MiB": bytes at a glance.
struct Human {
    char text[32];
    explicit Human(uint64_t bytes) {
        static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = static_cast<double>(bytes);
        int u = 0;
        while (v >= 1024 && u < 5) {
            v /= 1024;
            ++u;
        }
        if (u == 0)
            snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
        else
            snprintf(text, sizeof text, "%.1f %s", v, units[u]);
    }
};
}  // namespace

size_t format_stats_text(const sfshim_stats& s, long pid, char* buf, size_t size, const sfshim_cache_stats* c) {
    using ull = unsigned long long;
    int n = snprintf(buf, size,
                     "sfshim[%ld]: %llu sendfile calls, %s\n"
                     "  kernel    %8llu calls  %s\n"
                     "  emulated  %8llu calls  mmap-writev %llu (%s), read/write %llu (%s)\n"
                     "  fallbacks %8llu        kernel sendfile %s; mmap to read/write %llu\n"
                     "  errors    %8llu        retries (EAGAIN, EINTR) %llu\n",
                     pid, ull(s.calls), Human(s.bytes).text, ull(s.native_calls), Human(s.native_bytes).text,
                     ull(s.emulated_calls), ull(s.mmap_calls), Human(s.mmap_bytes).text, ull(s.rw_calls),
                     Human(s.rw_bytes).text, ull(s.fallbacks),
                     s.kernel_enosys ? "answered ENOSYS" : "not ENOSYS", ull(s.mmap_fallbacks),
                     ull(s.errors), ull(s.retries));
    size_t len = clamp_len(n, size);
    if (c != nullptr && len + 1 < size) {
        n = snprintf(buf + len, size - len,
                     "  cache     %8llu hits   misses %llu, bypasses %llu, evictions %llu; %llu entries, %s mapped "
                     "(peak %s, cap %s)\n",
                     ull(c->hits), ull(c->misses), ull(c->bypasses), ull(c->evictions), ull(c->entries),
                     Human(c->mapped_bytes).text, Human(c->peak_mapped_bytes).text, Human(c->cap_bytes).text);
        len += clamp_len(n, size - len);
    }
    return len;
}

size_t format_stats_json(const sfshim_stats& s, long pid, const char* mode, char* buf, size_t size,
                         const sfshim_cache_stats* c) {
    using ull = unsigned long long;
    int n = snprintf(buf, size,
                     "{\"pid\":%ld,\"mode\":\"%s\",\"calls\":%llu,\"bytes\":%llu,"
                     "\"native_calls\":%llu,\"native_bytes\":%llu,\"emulated_calls\":%llu,"
                     "\"mmap_calls\":%llu,\"mmap_bytes\":%llu,\"rw_calls\":%llu,\"rw_bytes\":%llu,"
                     "\"fallbacks\":%llu,\"mmap_fallbacks\":%llu,\"errors\":%llu,\"retries\":%llu,"
                     "\"kernel_enosys\":%s",
                     pid, mode, ull(s.calls), ull(s.bytes), ull(s.native_calls), ull(s.native_bytes),
                     ull(s.emulated_calls), ull(s.mmap_calls), ull(s.mmap_bytes), ull(s.rw_calls),
                     ull(s.rw_bytes), ull(s.fallbacks), ull(s.mmap_fallbacks), ull(s.errors),
                     ull(s.retries), s.kernel_enosys ? "true" : "false");
    size_t len = clamp_len(n, size);
    if (c != nullptr && len + 1 < size) {
        n = snprintf(buf + len, size - len,
                     ",\"cache_hits\":%llu,\"cache_misses\":%llu,\"cache_bypasses\":%llu,\"cache_evictions\":%llu,"
                     "\"cache_entries\":%llu,\"cache_mapped_bytes\":%llu,\"cache_peak_mapped_bytes\":%llu,"
                     "\"cache_cap_bytes\":%llu",
                     ull(c->hits), ull(c->misses), ull(c->bypasses), ull(c->evictions), ull(c->entries),
                     ull(c->mapped_bytes), ull(c->peak_mapped_bytes), ull(c->cap_bytes));
        len += clamp_len(n, size - len);
    }
    if (len + 2 < size) {
        memcpy(buf + len, "}\n", 3);
        len += 2;
    }
    return len;
}

}  // namespace sfshim
