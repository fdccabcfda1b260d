/*
 * sfshim: Linux sendfile(2) in user space.
 *
 * Loaded with LD_PRELOAD, libsfshim.so exports `sendfile` and `sendfile64`
 * with glibc's signatures and Linux's semantics. This header is the small C
 * API on top of that, for programs and tests that want to call the shim by
 * its own name, pick an engine, or read its counters.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SFSHIM_SFSHIM_H
#define SFSHIM_SFSHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SFSHIM_VERSION_MAJOR 0
#define SFSHIM_VERSION_MINOR 1
#define SFSHIM_VERSION_PATCH 0

/* How a call is carried out (SFSHIM_MODE in the environment). */
enum sfshim_mode {
    SFSHIM_MODE_AUTO = 0,    /* kernel first; emulate where it refuses */
    SFSHIM_MODE_EMULATE = 1, /* always in user space, engine chosen per call */
    SFSHIM_MODE_MMAP = 2,    /* always in user space, mmap-writev where the input maps */
    SFSHIM_MODE_RW = 3,      /* always in user space, chunked read/write */
    SFSHIM_MODE_NATIVE = 4   /* always the kernel's own call */
};

/*
 * Linux sendfile64(2) under the process's configured mode: same return
 * value, errno, *offset and file-position updates as the kernel. errno is
 * left untouched on success.
 */
ssize_t sfshim_sendfile(int out_fd, int in_fd, int64_t *offset, size_t count);

/* The same with an explicit mode, whatever SFSHIM_MODE says. */
ssize_t sfshim_sendfile_mode(enum sfshim_mode mode, int out_fd, int in_fd,
                             int64_t *offset, size_t count);

/*
 * Counters since start (or the last reset); all updates are lock-free. With
 * SFSHIM_STATS=PATH they are the process's slot in the live stats file (the
 * shared slot when every other was taken: a reset then zeroes the counts of
 * every process there).
 */
struct sfshim_stats {
    uint64_t calls;          /* sendfile/sendfile64 calls seen */
    uint64_t native_calls;   /* calls answered by the kernel's own sendfile */
    uint64_t emulated_calls; /* calls answered in user space */
    uint64_t mmap_calls;     /* emulated calls that used the mmap-writev engine */
    uint64_t rw_calls;       /* emulated calls that used the read/write engine */
    uint64_t bytes;          /* bytes returned to callers, all paths */
    uint64_t native_bytes;
    uint64_t mmap_bytes;
    uint64_t rw_bytes;
    uint64_t fallbacks;      /* kernel refused (ENOSYS, EINVAL, ...) and the call was emulated */
    uint64_t mmap_fallbacks; /* the input could not be mapped; read/write used instead */
    uint64_t errors;         /* calls that returned -1, but for EAGAIN and EINTR */
    uint64_t retries;        /* calls that returned EAGAIN or EINTR: the caller tries again */
    uint64_t kernel_enosys;  /* 1 once the kernel's sendfile answered ENOSYS */
};

void sfshim_stats_get(struct sfshim_stats *out);
void sfshim_stats_reset(void);

/*
 * The mapping cache: read-only shared mappings of regular files kept across
 * calls, threads and descriptors (SFSHIM_TUNE cache_bytes, cache_entries,
 * cache_idle). The counters reset with sfshim_stats_reset; the rest is the
 * cache's state now.
 */
struct sfshim_cache_stats {
    uint64_t hits;              /* a call's piece of a file was found mapped */
    uint64_t misses;            /* mapped anew and kept */
    uint64_t bypasses;          /* not kept: unlinked, too large, cache full or off */
    uint64_t evictions;         /* mappings dropped: cap, idle, changed or deleted files */
    uint64_t entries;           /* mappings held now */
    uint64_t mapped_bytes;      /* bytes they map now */
    uint64_t peak_mapped_bytes; /* the most mapped at once since start */
    uint64_t cap_bytes;         /* the cap in force (cache_bytes) */
};

void sfshim_cache_stats_get(struct sfshim_cache_stats *out);

/* The mode in force for sfshim_sendfile and the interposed symbols. */
enum sfshim_mode sfshim_mode_current(void);

/* "MAJOR.MINOR.PATCH" */
const char *sfshim_version(void);

#ifdef __cplusplus
}
#endif

#endif /* SFSHIM_SFSHIM_H */
