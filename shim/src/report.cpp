// What the shim tells at the end of a process: the exit stamp in the live
// stats file (stats.h) and the text report of SFSHIM_STATS=stderr or fd2.
// Silent unless asked; both come only from processes that return through
// exit() (the live file's counts are there however a process ends).
// SPDX-License-Identifier: BSD-2-Clause
#include <unistd.h>

#include "cache.h"
#include "common.h"
#include "config.h"
#include "log.h"
#include "stats.h"

namespace sfshim {
namespace {

__attribute__((destructor)) void report_at_exit() {
    ErrnoGuard keep_errno;
    const Config& cfg = config();
    if (cfg.stats == StatsTarget::live_file) {
        stats_stamp_exit(cache_stats());
        return;
    }
    if (cfg.stats != StatsTarget::text) return;
    sfshim_stats s = stats_snapshot();
    if (s.calls == 0) return;  // a helper process that never sent a file: no noise
    char buf[2048];
    sfshim_cache_stats c = cache_stats();
    size_t n = format_stats_text(s, static_cast<long>(getpid()), buf, sizeof buf, &c);
    write_line(cfg.stats_sink, nullptr, buf, n);
}

}  // namespace
}  // namespace sfshim
