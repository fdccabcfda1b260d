// What this thread holds of the process-wide tables (mapping-cache leases,
// buffer-pool slots), so that a child forked while other threads held some
// can take back what only they held: in the child those threads are gone,
// and their references would keep entries mapped and slots taken for good.
//
// A stack per thread, in thread-local storage with no destructor (the glibc
// floor has no __cxa_thread_atexit_impl): a call pushes what it takes and
// pops it when done, and a signal handler's nested call does the same on
// top, so the order of push and pop is kept against signals.
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <atomic>

namespace sfshim {

class HeldSet {
public:
    // Records `id`; false when full (more nested calls than kMax: the fork
    // child then drops that one too).
    bool push(int id) {
        if (count_ >= kMax) return false;
        int at = count_;
        count_ = at + 1;  // the slot first: a handler between the two works above it
        std::atomic_signal_fence(std::memory_order_seq_cst);
        ids_[at] = id;
        std::atomic_signal_fence(std::memory_order_seq_cst);
        return true;
    }
    // Forgets the topmost record of `id`.
    void pop(int id) {
        for (int k = count_ - 1; k >= 0; --k) {
            if (ids_[k] != id) continue;
            for (int j = k; j + 1 < count_; ++j) ids_[j] = ids_[j + 1];
            std::atomic_signal_fence(std::memory_order_seq_cst);
            count_ = count_ - 1;
            std::atomic_signal_fence(std::memory_order_seq_cst);
            return;
        }
    }
    int count(int id) const {
        int n = 0;
        for (int k = 0; k < count_; ++k) n += ids_[k] == id;
        return n;
    }

private:
    static constexpr int kMax = 8;
    int ids_[kMax];
    int count_;
};

// In the child after fork (policy.cpp registers them): each table keeps
// what the forking thread holds and frees the rest.
void cache_after_fork_child();
void buffers_after_fork_child();

}  // namespace sfshim
