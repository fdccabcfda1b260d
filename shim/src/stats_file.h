/*
 * The live stats file (SFSHIM_STATS=PATH): its layout, shared by the library,
 * which writes it, and sfshim-doctor, which reads it. C, so that both can
 * include it.
 *
 * A process maps the file (MAP_SHARED) when the library loads, before the
 * program can chroot or drop privileges, and closes the descriptor at once:
 * nothing stays open, and nothing is left across exec. At its first sendfile
 * call the process claims a slot (one atomic increment of `claimed`) and from
 * then on counts in that slot, with the same relaxed atomic adds it makes in
 * its own memory otherwise. The counts are therefore in the file however the
 * process ends: exit, _exit, a fatal signal, exec. A clean exit stamps the
 * slot `exited`, with the cache's figures at that moment. A forked child
 * claims a slot of its own at its first call.
 *
 * The file's size is fixed when it is created (allocated on disk at once, so
 * that a full disk is found then and never as SIGBUS in a write through the
 * mapping). Slot 0 is shared: processes that find every other slot taken
 * count there, together, so that the totals stay whole.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SFSHIM_STATS_FILE_H
#define SFSHIM_STATS_FILE_H

#include <stdint.h>

/* The counters, in the order of the slot's `counters` (and of stats.h's
 * Counter). Only ever appended to: SFSHIM_STATS_VERSION changes otherwise. */
#define SFSHIM_COUNTERS(X) \
    X(calls)               \
    X(native_calls)        \
    X(emulated_calls)      \
    X(mmap_calls)          \
    X(rw_calls)            \
    X(bytes)               \
    X(native_bytes)        \
    X(mmap_bytes)          \
    X(rw_bytes)            \
    X(fallbacks)           \
    X(mmap_fallbacks)      \
    X(errors)              \
    X(retries)             \
    X(cache_hits)          \
    X(cache_misses)        \
    X(cache_bypasses)      \
    X(cache_evictions)

#define SFSHIM_COUNTER_ONE_(name) +1
enum { SFSHIM_COUNTER_COUNT = 0 SFSHIM_COUNTERS(SFSHIM_COUNTER_ONE_) };

/* "SFSHIMs1" read as a little-endian integer: the file's kind and version. */
#define SFSHIM_STATS_MAGIC 0x31734d4948534653ull
#define SFSHIM_STATS_HEADER_SIZE 4096u
#define SFSHIM_STATS_SLOT_SIZE 256u
#define SFSHIM_STATS_SLOTS 4096u /* slot 0 included */
#define SFSHIM_STATS_FILE_SIZE (SFSHIM_STATS_HEADER_SIZE + SFSHIM_STATS_SLOTS * SFSHIM_STATS_SLOT_SIZE)

/* The first page. All fields are naturally aligned 32- and 64-bit words,
 * written with atomic operations by the processes that share the file. */
struct sfshim_stats_header {
    uint64_t magic;      /* SFSHIM_STATS_MAGIC once set up; 0 while new */
    uint32_t slot_size;  /* SFSHIM_STATS_SLOT_SIZE */
    uint32_t slots;      /* SFSHIM_STATS_SLOTS */
    uint32_t claimed;    /* claims made: the n-th (from 0) took slot n + 1, or slot 0
                            once that is past the last; readers walk every slot
                            and skip the FREE ones */
    uint32_t reserved0;
    uint64_t shared_processes; /* processes counted in slot 0 (every slot was taken) */
};

enum sfshim_slot_state {
    SFSHIM_SLOT_FREE = 0,    /* never claimed */
    SFSHIM_SLOT_LIVE = 1,    /* claimed; counting (or ended without exit) */
    SFSHIM_SLOT_EXITED = 2,  /* the process ended through exit(); final */
    SFSHIM_SLOT_SHARED = 3   /* slot 0 once used */
};

struct sfshim_stats_slot {
    uint32_t state;          /* enum sfshim_slot_state */
    int32_t pid;             /* the process's id in its own namespace */
    uint64_t started_ns;     /* CLOCK_REALTIME at the claim */
    uint64_t ended_ns;       /* CLOCK_REALTIME at exit (state EXITED), else 0 */
    uint32_t mode;           /* enum sfshim_mode in force */
    uint32_t kernel_enosys;  /* 1 once the kernel's sendfile answered ENOSYS */
    uint64_t counters[SFSHIM_COUNTER_COUNT];
    /* The cache's state at exit (state EXITED); zero before. */
    uint64_t cache_entries;
    uint64_t cache_mapped_bytes;
    uint64_t cache_peak_mapped_bytes;
    uint64_t cache_cap_bytes;
    uint8_t reserved[SFSHIM_STATS_SLOT_SIZE - 32 - 8 * SFSHIM_COUNTER_COUNT - 32];
};

#ifdef __cplusplus
static_assert(sizeof(sfshim_stats_header) <= SFSHIM_STATS_HEADER_SIZE, "header fits its page");
static_assert(sizeof(sfshim_stats_slot) == SFSHIM_STATS_SLOT_SIZE, "slot size");
#else
_Static_assert(sizeof(struct sfshim_stats_slot) == SFSHIM_STATS_SLOT_SIZE, "slot size");
#endif

#endif /* SFSHIM_STATS_FILE_H */
