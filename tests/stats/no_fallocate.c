/*
 * Preloaded before the shim: fallocate as a layer or file system without it
 * answers. NO_FALLOCATE=enosys fails with ENOSYS (a kernel or layer without
 * the call), eopnotsupp with EOPNOTSUPP (a file system that cannot), noop
 * returns 0 and does nothing (a layer that takes the call as a no-op).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

static int answer(void) {
    const char *m = getenv("NO_FALLOCATE");
    if (m && strcmp(m, "noop") == 0) return 0;
    errno = m && strcmp(m, "eopnotsupp") == 0 ? EOPNOTSUPP : ENOSYS;
    return -1;
}

int fallocate(int fd, int mode, off_t offset, off_t len) {
    (void)fd, (void)mode, (void)offset, (void)len;
    return answer();
}

int fallocate64(int fd, int mode, off64_t offset, off64_t len) {
    (void)fd, (void)mode, (void)offset, (void)len;
    return answer();
}
