// SPDX-License-Identifier: BSD-2-Clause
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

namespace sfshim {
namespace {

// Descriptor 2 as found at load, if it may be written (log.h).
struct StderrAtLoad {
    bool usable;
    dev_t dev;
    ino_t ino;
    dev_t rdev;
};
StderrAtLoad g_stderr;  // zero: never written

void write_once(int fd, const char* buf, size_t len) {
    ssize_t ignored = write(fd, buf, len);  // one write: lines from threads and processes do not mix
    (void)ignored;
}

}  // namespace

void note_stderr_at_load() {
    ErrnoGuard keep_errno;
    StderrAtLoad s{};
    struct stat st;
    int flags = fcntl(STDERR_FILENO, F_GETFL);
    if (flags >= 0 && (flags & O_ACCMODE) != O_RDONLY && fstat(STDERR_FILENO, &st) == 0 &&
        (S_ISREG(st.st_mode) || (S_ISCHR(st.st_mode) && isatty(STDERR_FILENO))))
        s = StderrAtLoad{true, st.st_dev, st.st_ino, st.st_rdev};
    g_stderr = s;
}

bool stderr_checked_ok() {
    if (!g_stderr.usable) return false;
    ErrnoGuard keep_errno;
    struct stat st;
    return fstat(STDERR_FILENO, &st) == 0 && st.st_dev == g_stderr.dev && st.st_ino == g_stderr.ino &&
           st.st_rdev == g_stderr.rdev;
}

void write_line(Sink sink, const char* path, const char* buf, size_t len) {
    ErrnoGuard keep_errno;
    switch (sink) {
        case Sink::fd2: write_once(STDERR_FILENO, buf, len); return;
        case Sink::stderr_checked:
            if (stderr_checked_ok()) write_once(STDERR_FILENO, buf, len);
            return;
        case Sink::file: {
            char expanded[600];
            if (path != nullptr && expand_stats_path(path, static_cast<long>(getpid()), expanded, sizeof expanded))
                (void)append_line_to_file(expanded, buf, len);
            return;
        }
    }
}

int open_line_file(const char* path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {  // a FIFO with a reader, a device, a socket...
        close(fd);
        return -EINVAL;
    }
    return fd;
}

int append_line_to_file(const char* path, const char* line, size_t len) {
    int fd = open_line_file(path);
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

bool log_enabled(LogLevel level) {
    return static_cast<int>(level) <= static_cast<int>(config().log_level);
}

void log_write(LogLevel level, const char* fmt, ...) {
    static const char* const names[] = {"off", "error", "warn", "info", "debug"};
    ErrnoGuard keep_errno;
    char buf[512];
    int head = snprintf(buf, sizeof buf, "sfshim[%ld] %s: ", static_cast<long>(getpid()),
                        names[static_cast<int>(level)]);
    if (head < 0) return;
    va_list ap;
    va_start(ap, fmt);
    int body = vsnprintf(buf + head, sizeof buf - static_cast<size_t>(head) - 1, fmt, ap);
    va_end(ap);
    if (body < 0) return;
    size_t len = min_of(static_cast<size_t>(head) + static_cast<size_t>(body), sizeof buf - 2);
    buf[len++] = '\n';
    const Config& cfg = config();
    write_line(cfg.log_sink, cfg.log_path, buf, len);
}

}  // namespace sfshim
