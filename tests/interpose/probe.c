/*
 * A plain C program that calls glibc's sendfile and sendfile64 the way servers
 * do, and prints one line per case: what it returned, errno, the offset, the
 * input's position and a checksum of what arrived. Run once on the real kernel
 * and once through the shim in a kernel without sendfile: the outputs must be
 * identical.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

static char g_dir[] = "/tmp/sfshim-probe-XXXXXX";
static char g_src[128];

static uint64_t fnv(const unsigned char *p, size_t n, uint64_t h) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* Reads everything available from fd (non-blocking) and checksums it. */
static void drain(int fd, uint64_t *sum, long long *len) {
    unsigned char buf[65536];
    *sum = 1469598103934665603ull;
    *len = 0;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        *sum = fnv(buf, (size_t)n, *sum);
        *len += n;
    }
}

enum out_kind { OUT_FILE, OUT_PIPE, OUT_SOCKET, OUT_APPEND, OUT_BADFD };

struct probe_case {
    const char *name;
    int use64;
    enum out_kind out;
    int in_dir;      /* the input is a directory */
    int use_offset;
    long long offset;
    long long start_pos; /* input position before the call */
    size_t count;
};

static const struct probe_case kCases[] = {
    {"file to file with offset", 0, OUT_FILE, 0, 1, 100, 0, 200000},
    {"file to file with offset (64)", 1, OUT_FILE, 0, 1, 100, 0, 200000},
    {"file position used and advanced", 0, OUT_FILE, 0, 0, 0, 4000, 5000},
    {"file position used and advanced (64)", 1, OUT_FILE, 0, 0, 0, 4000, 5000},
    {"past the end gives 0", 0, OUT_FILE, 0, 1, 1 << 22, 0, 10},
    {"short file gives a short count (64)", 1, OUT_SOCKET, 0, 1, 250000, 0, 100000},
    {"into a pipe from an unaligned offset", 0, OUT_PIPE, 0, 1, 100, 0, 1 << 20},
    {"into a pipe from an unaligned offset (64)", 1, OUT_PIPE, 0, 1, 100, 0, 1 << 20},
    {"into a socket", 0, OUT_SOCKET, 0, 1, 7, 0, 50000},
    {"into a socket (64)", 1, OUT_SOCKET, 0, 0, 0, 12345, 50000},
    {"count 0", 0, OUT_SOCKET, 0, 1, 5, 0, 0},
    {"bad output fd", 0, OUT_BADFD, 0, 1, 0, 0, 10},
    {"O_APPEND output (64)", 1, OUT_APPEND, 0, 1, 0, 0, 10},
    {"directory input", 0, OUT_FILE, 1, 0, 0, 0, 10},
    {"negative offset (64)", 1, OUT_FILE, 0, 1, -1, 0, 10},
    /* Near 2^31 - 1: where off_t has 32 bits (i386) `sendfile` is the 32-bit
     * call, which stops at MAX_NON_LFS; elsewhere these are past the end. */
    {"offset 2^31-1", 0, OUT_FILE, 0, 1, 0x7fffffff, 0, 10},
    {"offset 2^31-1, count 0", 0, OUT_SOCKET, 0, 1, 0x7fffffff, 0, 0},
    {"offset 2^31-1 (64)", 1, OUT_FILE, 0, 1, 0x7fffffff, 0, 10},
    {"negative offset", 0, OUT_FILE, 0, 1, -5, 0, 10},
    {"offset 2^31 (64)", 1, OUT_SOCKET, 0, 1, 0x80000000ll, 0, 10},
};

static void run(const struct probe_case *c) {
    char path[160];
    snprintf(path, sizeof path, "%s/out", g_dir);
    int in = c->in_dir ? open(g_dir, O_RDONLY | O_DIRECTORY) : open(g_src, O_RDONLY);
    if (!c->in_dir) lseek(in, c->start_pos, SEEK_SET);
    int out = -1, reader = -1, p[2], s[2];
    switch (c->out) {
    case OUT_FILE: out = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600); reader = open(path, O_RDONLY); break;
    case OUT_APPEND: out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600); break;
    case OUT_PIPE: if (pipe(p) == 0) { reader = p[0]; out = p[1]; } break;
    case OUT_SOCKET:
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0) {
            int big = 4 << 20;
            setsockopt(s[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
            setsockopt(s[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
            out = s[0]; reader = s[1];
        }
        break;
    case OUT_BADFD: out = 999; break;
    }
    off_t off = (off_t)c->offset;
    off64_t off64 = (off64_t)c->offset;
    errno = 0;
    ssize_t r = c->use64 ? sendfile64(out, in, c->use_offset ? &off64 : NULL, c->count)
                         : sendfile(out, in, c->use_offset ? &off : NULL, c->count);
    int err = errno;
    long long offset_after = c->use_offset ? (c->use64 ? (long long)off64 : (long long)off) : -1;
    long long pos = c->in_dir ? -1 : (long long)lseek(in, 0, SEEK_CUR);
    uint64_t sum = 0;
    long long len = 0;
    if (reader >= 0) drain(reader, &sum, &len);
    printf("%-45s ret=%zd errno=%s offset=%lld inpos=%lld got=%lld sum=%016llx\n", c->name, r,
           r < 0 ? strerrorname_np(err) : (err ? "CHANGED" : "-"), offset_after, pos, len,
           (unsigned long long)sum);
    if (out != 999) close(out);
    if (reader >= 0 && reader != out) close(reader);
    close(in);
    unlink(path);
}

int main(void) {
    if (!mkdtemp(g_dir)) return 1;
    snprintf(g_src, sizeof g_src, "%s/src", g_dir);
    int fd = open(g_src, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    unsigned char buf[300000];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof buf; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; buf[i] = (unsigned char)x; }
    if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) return 1;
    close(fd);
    for (size_t i = 0; i < sizeof kCases / sizeof kCases[0]; i++) run(&kCases[i]);
    unlink(g_src);
    rmdir(g_dir);
    return 0;
}
