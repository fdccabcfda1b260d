// SPDX-License-Identifier: BSD-2-Clause
#include "policy.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <atomic>

#include "common.h"
#include "config.h"
#include "held.h"
#include "log.h"
#include "once.h"
#include "platform/platform.h"
#include "stats.h"
#include "transfer.h"
#include "validate.h"

namespace sfshim {
namespace {

// Set once the kernel answered ENOSYS: it will not change its mind.
std::atomic<bool> g_kernel_enosys{false};
// Said once: the kernel's sendfile drops partial counts
// (platform::native_sendfile_keeps_counts).
std::atomic<bool> g_kernel_untrusted_logged{false};
Once g_init_once;

void after_fork_in_child() {
    cache_after_fork_child();
    buffers_after_fork_child();
}

void init() {
    const Config& cfg = config();
    stats_init();
    // No lease or buffer is taken before the first call: registered then.
    pthread_atfork(nullptr, nullptr, after_fork_in_child);
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

bool kernel_answered_enosys() { return g_kernel_enosys.load(std::memory_order_relaxed); }

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

namespace {

// Loads and stores the caller's offset the way the kernel does (get_user and
// put_user): EFAULT instead of a crash. An offset in a live frame of this
// thread's stack (where servers keep it) is used directly.
class CallerOffset {
public:
    CallerOffset(OffsetRef ref, const void* frame)
        : ref_(ref), direct_(ref.ptr != nullptr && platform::on_live_stack(ref.ptr, ref.width, frame)) {}

    bool given() const { return ref_.ptr != nullptr; }

    int load(int64_t* value) const {
        if (ref_.width == 4) {
            int32_t v32 = 0;
            int err = direct_ ? (memcpy(&v32, ref_.ptr, 4), 0) : platform::read_user(ref_.ptr, &v32, 4);
            *value = v32;
            return err;
        }
        return direct_ ? (memcpy(value, ref_.ptr, 8), 0) : platform::read_user(ref_.ptr, value, 8);
    }

    int store(int64_t value) const {
        int32_t v32 = static_cast<int32_t>(value);  // put_user into a 32-bit off_t truncates
        const void* src = ref_.width == 4 ? static_cast<const void*>(&v32) : static_cast<const void*>(&value);
        if (direct_) {
            memcpy(ref_.ptr, src, ref_.width);
            return 0;
        }
        return platform::write_user(ref_.ptr, src, ref_.width);
    }

private:
    OffsetRef ref_;
    bool direct_;
};

}  // namespace

namespace {

// glibc's sendfile is no cancellation point, but the calls the emulation
// makes (poll, writev, sendmsg, pread) are: a thread cancelled in one would
// be unwound past the mapping lease and the buffer it holds (this library
// has no cleanup code for unwinding), leaving them taken for good. So
// cancellation waits for the call's end, as it does with the kernel's.
class NoCancellation {
public:
    NoCancellation() { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_); }
    ~NoCancellation() {
        int ignored;
        pthread_setcancelstate(old_, &ignored);
    }
    NoCancellation(const NoCancellation&) = delete;
    NoCancellation& operator=(const NoCancellation&) = delete;

private:
    int old_ = PTHREAD_CANCEL_ENABLE;
};

}  // namespace

ssize_t emulate(sfshim_mode mode, int out_fd, int in_fd, OffsetRef offset_ref, size_t count, int64_t limit) {
    NoCancellation no_cancel;
    ErrnoGuard guard;
    stat_add(Counter::emulated_calls);

    // The kernel copies *offset in before any other check, and back out after
    // the call whatever its result: an unwritable offset turns any result
    // into EFAULT.
    char frame;  // our own frame: anything above it on this stack is live
    CallerOffset offset(offset_ref, &frame);
    int64_t start = 0;
    if (offset.given() && offset.load(&start) != 0) return finish(guard, -EFAULT);

    Call call{out_fd, in_fd, offset.given(), start, count, offset.given() ? limit : 0};
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
    if (result > 0 && advances && !offset.given()) lseek(in_fd, plan.pos + result, SEEK_SET);
    if (offset.given() && offset.store(result > 0 && advances ? plan.pos + result : start) != 0)
        result = -EFAULT;

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

namespace {

// The kernel's call for this width of offset.
ssize_t native(int out_fd, int in_fd, OffsetRef offset, size_t count) {
    if (offset.width == 4)
        return platform::native_sendfile_off32(out_fd, in_fd, static_cast<int32_t*>(offset.ptr), count);
    return platform::native_sendfile(out_fd, in_fd, static_cast<int64_t*>(offset.ptr), count);
}

ssize_t dispatch_any(sfshim_mode mode, int out_fd, int in_fd, OffsetRef offset, size_t count, int64_t limit) {
    // (A signal handler that interrupted this thread's own init goes on
    // without it: the init only announces the library and sets up the
    // counters' reset in forked children.)
    g_init_once.run(init);
    stats_claim();
    stat_add(Counter::calls);

    // AUTO passes the call to the kernel only where the kernel's answers are
    // Linux's: not where it has none (ENOSYS), and not on a layer that drops
    // the count of bytes it moved before an error (or while that is not
    // known yet: this call is emulated, which gives the same results).
    if (mode == SFSHIM_MODE_AUTO && !g_kernel_enosys.load(std::memory_order_relaxed)) {
        int keeps = platform::native_sendfile_keeps_counts(in_fd);
        if (keeps == 0 && log_enabled(LogLevel::info) &&
            !g_kernel_untrusted_logged.exchange(true, std::memory_order_relaxed)) {
            const char* layer = platform::kernel_layer_name();
            SFSHIM_LOG(info, "the kernel's sendfile drops the count of bytes it moved before an error (%s): "
                       "emulating from now on", layer ? layer : "count 0 refused with EINVAL");
        }
        if (keeps != 1) return emulate(SFSHIM_MODE_EMULATE, out_fd, in_fd, offset, count, limit);
    }
    if (mode == SFSHIM_MODE_NATIVE ||
        (mode == SFSHIM_MODE_AUTO && !g_kernel_enosys.load(std::memory_order_relaxed))) {
        int saved = errno;
        ssize_t r = native(out_fd, in_fd, offset, count);
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
            stats_note_kernel_enosys();
            SFSHIM_LOG(info, "the kernel has no sendfile (ENOSYS): emulating from now on");
        }
        stat_add(Counter::fallbacks);
        SFSHIM_LOG(debug, "kernel sendfile refused (errno %d): emulating this call", err);
        errno = saved;
    }
    return emulate(mode == SFSHIM_MODE_AUTO ? SFSHIM_MODE_EMULATE : mode, out_fd, in_fd, offset, count, limit);
}

// MAX_NON_LFS: the most a 32-bit off_t can say.
constexpr int64_t kMaxNonLfs = 0x7fffffff;

}  // namespace

ssize_t dispatch(sfshim_mode mode, int out_fd, int in_fd, int64_t* offset, size_t count) {
    return dispatch_any(mode, out_fd, in_fd, OffsetRef{offset, 8}, count, 0);
}

ssize_t dispatch_off32(sfshim_mode mode, int out_fd, int in_fd, int32_t* offset, size_t count) {
    return dispatch_any(mode, out_fd, in_fd, OffsetRef{offset, 4}, count, kMaxNonLfs);
}

}  // namespace sfshim
