// The read/write engine's copy buffers: a small process-wide pool, so that
// memory follows the number of transfers under way, not the number of
// threads that ever sent a file (a server with hundreds of workers would
// otherwise keep a buffer resident in each).
//
// Taking and returning a buffer is one atomic exchange each: no lock, no
// allocation after a slot's first use. When every slot is taken, the calling
// thread's own buffer serves (made on first need, freed at thread exit), and
// when that is taken too (sendfile from a signal handler that interrupted
// one), a small buffer on the stack. A process forked while other threads
// held slots never gets those back: the pool only shrinks for it.
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <stddef.h>

namespace sfshim {

// A pool slot's size, and the thread buffer's, is Tuning::rw_buffer.
constexpr int kBufferPoolSlots = 16;
constexpr size_t kStackBufferSize = 4096;

class BufferLease {
public:
    BufferLease();
    ~BufferLease();
    BufferLease(const BufferLease&) = delete;
    BufferLease& operator=(const BufferLease&) = delete;

    char* data() const { return data_; }
    size_t size() const { return size_; }
    // Where it came from: a pool slot (0..kBufferPoolSlots-1), or one of these.
    static constexpr int kThreadBuffer = -1;
    static constexpr int kStack = -2;
    int source() const { return source_; }

private:
    char* data_;
    size_t size_;
    int source_;
    char stack_[kStackBufferSize];
};

}  // namespace sfshim
