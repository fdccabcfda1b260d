// SPDX-License-Identifier: BSD-2-Clause
#include "policy.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>

#include "common.h"
#include "config.h"
#include "log.h"
#include "platform/platform.h"
#include "stats.h"
#include "transfer.h"
#include "validate.h"

namespace sfshim {
namespace {

// Set once the kernel answered ENOSYS: it will not change its mind.
std::atomic<bool> g_kernel_enosys{false};
pthread_once_t g_init_once = PTHREAD_ONCE_INIT;

void init() {
    const Config& cfg = config();
    stats_init();
    SFSHIM_LOG(info, "loaded, mode %s", mode_name(cfg.mode));
}

void count_failure(int err) {
    stat_add(err == EAGAIN || err == EINTR ? Counter::retries : Counter::errors);
}

ssize_t finish(ErrnoGuard& guard, ssize_t result) {
    if (result < 0) {
        count_failure(static_cast<int>(-result));
        guard.set_result(static_cast<int>(-result));
        return -1;
    }
    stat_add(Counter::bytes, static_cast<uint64_t>(result));
    return result;
}

}  // namespace

bool kernel_refused(int err) {
    switch (err) {
        case ENOSYS:
        case EINVAL:
        case ENOTSOCK:
        case EOPNOTSUPP:
        case EPERM: return true;
#if ENOTSUP != EOPNOTSUPP
        case ENOTSUP: return true;
#endif
        default: return false;
    }
}

ssize_t emulate(sfshim_mode mode, int out_fd, int in_fd, int64_t* offset, size_t count) {
    ErrnoGuard guard;
    stat_add(Counter::emulated_calls);

    // The kernel copies *offset in before any other check, and back out after
    // the call whatever its result: an unwritable offset turns any result
    // into EFAULT.
    int64_t start = 0;
    char frame;  // our own frame: anything above it on this stack is live
    bool offset_safe = offset != nullptr && platform::on_live_stack(offset, sizeof *offset, &frame);
    if (offset_safe)
        start = *offset;
    else if (offset != nullptr && platform::read_user_offset(offset, &start) != 0)
        return finish(guard, -EFAULT);

    Call call{out_fd, in_fd, offset != nullptr, start, count};
    Plan plan;
    Outcome outcome;
    if (send_small(call, mode, &plan, &outcome)) {
        // done: a small piece of a file into a socket
    } else if (int err = validate(call, &plan)) {
        outcome.result = -err;
    } else {
        outcome = transfer(plan, mode);
    }
    ssize_t result = outcome.result;

    // Character devices read without moving their offset (copy_splice_read
    // keeps what read_iter left); sockets and pipes have none.
    bool advances = plan.in == InKind::regular || plan.in == InKind::block;
    if (result > 0 && advances && offset == nullptr) lseek(in_fd, plan.pos + result, SEEK_SET);
    if (offset != nullptr) {
        int64_t end = result > 0 && advances ? plan.pos + result : start;
        if (offset_safe)
            *offset = end;
        else if (platform::write_user_offset(offset, end) != 0)
            result = -EFAULT;
    }

    if (outcome.engine == EngineUsed::mmap) {
        stat_add(Counter::mmap_calls);
        if (outcome.result > 0) stat_add(Counter::mmap_bytes, static_cast<uint64_t>(outcome.result));
    } else if (outcome.engine == EngineUsed::rw) {
        stat_add(Counter::rw_calls);
        if (outcome.result > 0) stat_add(Counter::rw_bytes, static_cast<uint64_t>(outcome.result));
    }
    if (outcome.mmap_fallback) stat_add(Counter::mmap_fallbacks);
    SFSHIM_LOG(debug, "emulated out=%d in=%d (%s->%s) pos=%lld count=%zu -> %zd%s", out_fd, in_fd,
               in_kind_name(plan.in), out_kind_name(plan.out), static_cast<long long>(plan.pos),
               count, result,
               outcome.engine == EngineUsed::mmap ? " mmap" : outcome.engine == EngineUsed::rw ? " rw" : "");
    return finish(guard, result);
}

ssize_t dispatch(sfshim_mode mode, int out_fd, int in_fd, int64_t* offset, size_t count) {
    pthread_once(&g_init_once, init);
    stat_add(Counter::calls);

    if (mode == SFSHIM_MODE_NATIVE ||
        (mode == SFSHIM_MODE_AUTO && !g_kernel_enosys.load(std::memory_order_relaxed))) {
        int saved = errno;
        ssize_t r = platform::native_sendfile(out_fd, in_fd, offset, count);
        if (r >= 0 || mode == SFSHIM_MODE_NATIVE || !kernel_refused(errno)) {
            stat_add(Counter::native_calls);
            if (r >= 0) {
                stat_add(Counter::native_bytes, static_cast<uint64_t>(r));
                stat_add(Counter::bytes, static_cast<uint64_t>(r));
            } else {
                count_failure(errno);
            }
            return r;
        }
        int err = errno;
        if (err == ENOSYS && !g_kernel_enosys.exchange(true, std::memory_order_relaxed)) {
            stat_set(Counter::kernel_enosys, 1);
            SFSHIM_LOG(info, "the kernel has no sendfile (ENOSYS): emulating from now on");
        }
        stat_add(Counter::fallbacks);
        SFSHIM_LOG(debug, "kernel sendfile refused (errno %d): emulating this call", err);
        errno = saved;
    }
    return emulate(mode == SFSHIM_MODE_AUTO ? SFSHIM_MODE_EMULATE : mode, out_fd, in_fd, offset, count);
}

}  // namespace sfshim

using sfshim::config;
using sfshim::dispatch;

extern "C" {

SFSHIM_API ssize_t sfshim_sendfile(int out_fd, int in_fd, int64_t* offset, size_t count) {
    return dispatch(config().mode, out_fd, in_fd, offset, count);
}

SFSHIM_API ssize_t sfshim_sendfile_mode(enum sfshim_mode mode, int out_fd, int in_fd,
                                        int64_t* offset, size_t count) {
    return dispatch(mode, out_fd, in_fd, offset, count);
}

SFSHIM_API void sfshim_stats_get(struct sfshim_stats* out) {
    if (out != nullptr) *out = sfshim::stats_snapshot();
}

SFSHIM_API void sfshim_stats_reset(void) { sfshim::stats_reset(); }

SFSHIM_API enum sfshim_mode sfshim_mode_current(void) { return config().mode; }

SFSHIM_API const char* sfshim_version(void) { return SFSHIM_VERSION_STRING; }

}  // extern "C"
