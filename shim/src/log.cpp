// SPDX-License-Identifier: BSD-2-Clause
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "common.h"

namespace sfshim {

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
    ssize_t ignored = write(STDERR_FILENO, buf, len);  // one write: lines from threads do not mix
    (void)ignored;
}

}  // namespace sfshim
