/* Included first into probe.c for the musl build (toolchain/musl.sh):
 * musl has no strerrorname_np. The names the probe prints, else a number.
 * SPDX-License-Identifier: BSD-2-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>

static const char *probe_errno_name(int e) {
    static char other[16];
    switch (e) {
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case EOVERFLOW: return "EOVERFLOW";
    case ESPIPE: return "ESPIPE";
    case EISDIR: return "EISDIR";
    case EFAULT: return "EFAULT";
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    default: snprintf(other, sizeof other, "errno %d", e); return other;
    }
}
#define strerrorname_np probe_errno_name
