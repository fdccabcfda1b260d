// SPDX-License-Identifier: BSD-2-Clause
// The read/write engine's buffer pool (buffer.h says how it is shared).
#include "buffer.h"

#include <stdint.h>

#include <atomic>

#include "config.h"
#include "held.h"
#include "platform/platform.h"

namespace sfshim {
namespace {

struct Slot {
    std::atomic<bool> busy;
    char* data;  // written and read only by the slot's holder
};
// Zero-initialised at load: no constructor runs.
Slot g_pool[kBufferPoolSlots + kBufferOverflowSlots];
// The slots this thread holds (held.h).
thread_local HeldSet t_slots;

// Threads start their search at different slots (by where their stack is),
// so that two threads rarely fight over one cache line.
int first_slot() {
    auto sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    return static_cast<int>((sp >> 16) % kBufferPoolSlots);
}

// Takes slot s if it is free: 1 taken (its buffer mapped), 0 busy, -1 no memory.
int take(int s, size_t size) {
    Slot& slot = g_pool[s];
    if (slot.busy.load(std::memory_order_relaxed) || slot.busy.exchange(true, std::memory_order_acquire))
        return 0;
    if (slot.data == nullptr) slot.data = static_cast<char*>(platform::map_anonymous(size));
    if (slot.data == nullptr) {
        slot.busy.store(false, std::memory_order_release);
        return -1;
    }
    return 1;
}

}  // namespace

BufferLease::BufferLease() : data_(stack_), size_(sizeof stack_), source_(kStack) {
    size_t size = config().tuning.rw_buffer;
    int start = first_slot();
    int s = -1;
    for (int i = 0; i < kBufferPoolSlots + kBufferOverflowSlots; ++i) {
        int candidate = i < kBufferPoolSlots ? (start + i) % kBufferPoolSlots : i;
        int got = take(candidate, size);
        if (got < 0) break;  // no memory now: another slot will not have any either
        if (got > 0) {
            s = candidate;
            break;
        }
    }
    if (s < 0) return;
    data_ = g_pool[s].data;
    size_ = size;
    source_ = s;
    t_slots.push(s);
}

BufferLease::~BufferLease() {
    if (source_ < 0) return;
    t_slots.pop(source_);
    g_pool[source_].busy.store(false, std::memory_order_release);
}

void buffers_after_fork_child() {
    // Only this thread came along: a slot stays taken if it holds it.
    for (int s = 0; s < kBufferPoolSlots + kBufferOverflowSlots; ++s)
        g_pool[s].busy.store(t_slots.count(s) > 0, std::memory_order_relaxed);
}

}  // namespace sfshim
