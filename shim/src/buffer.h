// The read/write engine's copy buffers: a process-wide pool, so that memory
// follows the number of transfers under way, not the number of threads that
// ever sent a file (a server with hundreds of workers would otherwise keep a
// buffer resident in each).
//
// Taking and returning a buffer is one atomic exchange each: no lock, no
// allocation after a slot's first use. Threads start at different slots of
// the first kBufferPoolSlots (by where their stack is); when those are all
// taken, the overflow slots are taken in order, so that only as many of them
// are ever mapped as transfers ran at once. When every slot is taken (or no
// memory can be mapped), a small buffer on the stack serves. A signal
// handler's call (sendfile from a handler that interrupted one) never gets
// the interrupted call's buffer: that slot is taken. A child forked while
// other threads held slots takes them back (held.h): only the forking
// thread's stay taken. (No per-thread buffer: freeing one at thread exit needs pthread keys,
// which an old glibc has in libpthread, not libc; see glibc_floor.h.)
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <stddef.h>

namespace sfshim {

// A slot's size is Tuning::rw_buffer. At most kBufferPoolSlots +
// kBufferOverflowSlots buffers are ever mapped (the memory's bound).
constexpr int kBufferPoolSlots = 16;
constexpr int kBufferOverflowSlots = 240;
constexpr size_t kStackBufferSize = 4096;

class BufferLease {
public:
    BufferLease();
    ~BufferLease();
    BufferLease(const BufferLease&) = delete;
    BufferLease& operator=(const BufferLease&) = delete;

    char* data() const { return data_; }
    size_t size() const { return size_; }
    // Where it came from: a slot (0..kBufferPoolSlots-1 the first ones, then
    // the overflow slots up to kBufferPoolSlots+kBufferOverflowSlots-1), or the stack.
    static constexpr int kStack = -2;
    int source() const { return source_; }

private:
    char* data_;
    size_t size_;
    int source_;
    char stack_[kStackBufferSize];
};

}  // namespace sfshim
