// One-time initialisation without pthread_once, which an old glibc has in
// libpthread.so.0, not libc.so.6 (glibc_floor.h).
//
// Race-free: the first caller runs the function; callers from other threads
// meanwhile wait (yielding) until it has finished, and then see all it wrote.
// Signal-safe: a signal handler that interrupts its own thread's run of the
// function does not wait for it (it would wait forever, as it would in
// pthread_once): run() returns false to it and lets the caller decide. No
// lock, no allocation. A child forked while another thread of its parent was
// running the function (that thread does not exist in the child) runs it
// again.
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <sched.h>
#include <unistd.h>

#include <atomic>

namespace sfshim {

class Once {
public:
    // True when the function has run (now or before); false only to a call
    // made while this thread is itself inside it (a signal handler's).
    template <class F>
    bool run(F&& f) {
        if (state_.load(std::memory_order_acquire) == kDone) return true;
        return run_slow(f);
    }

    // In a fork child (one thread, before anything else runs): to be run
    // again there, for the child's own sake.
    void reset_in_child() { state_.store(kIdle, std::memory_order_relaxed); }

private:
    // kIdle, kDone, or the pid of the process whose thread is running it.
    static constexpr int kIdle = 0, kDone = -1;
    std::atomic<int> state_{kIdle};

    // The runs this thread is in, innermost first, on its stack; `claimed`
    // once it (may) run the function rather than wait for another thread.
    struct Frame {
        const Once* once;
        const Frame* outer;
        volatile bool claimed;
    };
    static const Frame*& top() {
        static thread_local const Frame* t_top = nullptr;
        return t_top;
    }
    bool claimed_by_this_thread(const Frame* f) const {
        for (; f != nullptr; f = f->outer)
            if (f->once == this && f->claimed) return true;
        return false;
    }

    template <class F>
    bool run_slow(F& f) {
        // On the list before the claim, marked claimed before the exchange:
        // a handler interrupting anywhere here either finds the state idle
        // or sees that this thread holds (or may hold) the claim.
        Frame frame{this, top(), false};
        top() = &frame;
        bool done = false;
        for (;;) {
            int s = state_.load(std::memory_order_acquire);
            if (s == kDone) {
                done = true;
                break;
            }
            int self = static_cast<int>(getpid());
            if (s != self) {
                // Idle, or claimed in a parent that forked this process (its
                // thread does not exist here).
                frame.claimed = true;
                if (state_.compare_exchange_strong(s, self, std::memory_order_acquire)) {
                    f();
                    state_.store(kDone, std::memory_order_release);
                    done = true;
                    break;
                }
                frame.claimed = false;
                continue;
            }
            // Another thread of this process runs it, and soon finishes; or
            // this one does, and this is a handler that interrupted it.
            if (claimed_by_this_thread(frame.outer)) break;
            sched_yield();
        }
        top() = frame.outer;
        return done;
    }
};

}  // namespace sfshim
