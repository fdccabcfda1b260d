/*
 * The counters as text and as JSON: the report at exit (SFSHIM_STATS=stderr)
 * and sfshim-doctor's rendering of the live stats file (stats_file.h) are
 * the same words. C and C++ alike, header-only: the library (C++) and
 * sfshim-doctor (C, static) both include it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SFSHIM_STATS_FORMAT_H
#define SFSHIM_STATS_FORMAT_H

#include <stdio.h>
#include <string.h>

#include "sfshim/sfshim.h"
#include "stats_file.h"

/* "512 B", "3.5 KiB", "460.5 MiB": bytes at a glance. */
static inline const char *sfshim_human_bytes(uint64_t bytes, char *text, size_t size) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        ++u;
    }
    if (u == 0)
        snprintf(text, size, "%llu B", (unsigned long long)bytes);
    else
        snprintf(text, size, "%.1f %s", v, units[u]);
    return text;
}

/* snprintf's count, clamped to what the buffer took. */
static inline size_t sfshim_clamp_len(int n, size_t size) {
    if (n < 0 || size == 0) return 0;
    return (size_t)n < size - 1 ? (size_t)n : size - 1;
}

/* The text report: five lines, and a sixth with the cache's figures when
 * `c` is given. `who` heads it ("sfshim[PID]"). Returns the length written
 * (cut to size - 1, always terminated). */
static inline size_t sfshim_format_text(const struct sfshim_stats *s, const char *who, char *buf, size_t size,
                                        const struct sfshim_cache_stats *c) {
    typedef unsigned long long ull;
    char h[5][32];
    int n = snprintf(buf, size,
                     "%s: %llu sendfile calls, %s\n"
                     "  kernel    %8llu calls  %s\n"
                     "  emulated  %8llu calls  mmap-writev %llu (%s), read/write %llu (%s)\n"
                     "  fallbacks %8llu        kernel sendfile %s; mmap to read/write %llu\n"
                     "  errors    %8llu        retries (EAGAIN, EINTR) %llu\n",
                     who, (ull)s->calls, sfshim_human_bytes(s->bytes, h[0], sizeof h[0]), (ull)s->native_calls,
                     sfshim_human_bytes(s->native_bytes, h[1], sizeof h[1]), (ull)s->emulated_calls,
                     (ull)s->mmap_calls, sfshim_human_bytes(s->mmap_bytes, h[2], sizeof h[2]), (ull)s->rw_calls,
                     sfshim_human_bytes(s->rw_bytes, h[3], sizeof h[3]), (ull)s->fallbacks,
                     s->kernel_enosys ? "answered ENOSYS" : "not ENOSYS", (ull)s->mmap_fallbacks,
                     (ull)s->errors, (ull)s->retries);
    size_t len = sfshim_clamp_len(n, size);
    if (c != NULL && len + 1 < size) {
        n = snprintf(buf + len, size - len,
                     "  cache     %8llu hits   misses %llu, bypasses %llu, evictions %llu; %llu entries, %s mapped "
                     "(peak %s, cap %s)\n",
                     (ull)c->hits, (ull)c->misses, (ull)c->bypasses, (ull)c->evictions, (ull)c->entries,
                     sfshim_human_bytes(c->mapped_bytes, h[0], sizeof h[0]),
                     sfshim_human_bytes(c->peak_mapped_bytes, h[1], sizeof h[1]),
                     sfshim_human_bytes(c->cap_bytes, h[2], sizeof h[2]));
        len += sfshim_clamp_len(n, size - len);
    }
    return len;
}

/* One JSON object on one line. `extra`, if not null, is more members
 * ("\"state\":\"exited\"") put before the closing brace. */
static inline size_t sfshim_format_json(const struct sfshim_stats *s, long pid, const char *mode, char *buf,
                                        size_t size, const struct sfshim_cache_stats *c, const char *extra) {
    typedef unsigned long long ull;
    int n = snprintf(buf, size,
                     "{\"pid\":%ld,\"mode\":\"%s\",\"calls\":%llu,\"bytes\":%llu,"
                     "\"native_calls\":%llu,\"native_bytes\":%llu,\"emulated_calls\":%llu,"
                     "\"mmap_calls\":%llu,\"mmap_bytes\":%llu,\"rw_calls\":%llu,\"rw_bytes\":%llu,"
                     "\"fallbacks\":%llu,\"mmap_fallbacks\":%llu,\"errors\":%llu,\"retries\":%llu,"
                     "\"kernel_enosys\":%s",
                     pid, mode, (ull)s->calls, (ull)s->bytes, (ull)s->native_calls, (ull)s->native_bytes,
                     (ull)s->emulated_calls, (ull)s->mmap_calls, (ull)s->mmap_bytes, (ull)s->rw_calls,
                     (ull)s->rw_bytes, (ull)s->fallbacks, (ull)s->mmap_fallbacks, (ull)s->errors,
                     (ull)s->retries, s->kernel_enosys ? "true" : "false");
    size_t len = sfshim_clamp_len(n, size);
    if (c != NULL && len + 1 < size) {
        n = snprintf(buf + len, size - len,
                     ",\"cache_hits\":%llu,\"cache_misses\":%llu,\"cache_bypasses\":%llu,\"cache_evictions\":%llu,"
                     "\"cache_entries\":%llu,\"cache_mapped_bytes\":%llu,\"cache_peak_mapped_bytes\":%llu,"
                     "\"cache_cap_bytes\":%llu",
                     (ull)c->hits, (ull)c->misses, (ull)c->bypasses, (ull)c->evictions, (ull)c->entries,
                     (ull)c->mapped_bytes, (ull)c->peak_mapped_bytes, (ull)c->cap_bytes);
        len += sfshim_clamp_len(n, size - len);
    }
    if (extra != NULL && len + 1 < size) {
        n = snprintf(buf + len, size - len, ",%s", extra);
        len += sfshim_clamp_len(n, size - len);
    }
    if (len + 2 < size) {
        memcpy(buf + len, "}\n", 3);
        len += 2;
    }
    return len;
}

/* A slot's counters as the API's two structures. The slot may be changing
 * under the reader: each word is read once (on i386 a live counter may be
 * read torn; a finished process's never is). */
static inline void sfshim_slot_read(const struct sfshim_stats_slot *slot, struct sfshim_stats *s,
                                    struct sfshim_cache_stats *c) {
    const volatile uint64_t *k = slot->counters;
    memset(s, 0, sizeof *s);
    memset(c, 0, sizeof *c);
    s->calls = k[0];
    s->native_calls = k[1];
    s->emulated_calls = k[2];
    s->mmap_calls = k[3];
    s->rw_calls = k[4];
    s->bytes = k[5];
    s->native_bytes = k[6];
    s->mmap_bytes = k[7];
    s->rw_bytes = k[8];
    s->fallbacks = k[9];
    s->mmap_fallbacks = k[10];
    s->errors = k[11];
    s->retries = k[12];
    s->kernel_enosys = *(const volatile uint32_t *)&slot->kernel_enosys;
    c->hits = k[13];
    c->misses = k[14];
    c->bypasses = k[15];
    c->evictions = k[16];
    c->entries = slot->cache_entries;
    c->mapped_bytes = slot->cache_mapped_bytes;
    c->peak_mapped_bytes = slot->cache_peak_mapped_bytes;
    c->cap_bytes = slot->cache_cap_bytes;
}

#endif /* SFSHIM_STATS_FORMAT_H */
