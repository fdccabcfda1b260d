// SPDX-License-Identifier: BSD-2-Clause
#include "buffer.h"

#include <pthread.h>
#include <stdint.h>

#include <atomic>

#include "config.h"
#include "platform/platform.h"

namespace sfshim {
namespace {

struct Slot {
    std::atomic<bool> busy;
    char* data;  // written and read only by the slot's holder
};
// Zero-initialised at load: no constructor runs.
Slot g_pool[kBufferPoolSlots];

pthread_key_t g_thread_key;
bool g_thread_key_ok = false;
pthread_once_t g_thread_once = PTHREAD_ONCE_INIT;
thread_local bool t_thread_buffer_busy = false;

void free_thread_buffer(void* p) { platform::unmap_anonymous(p, config().tuning.rw_buffer); }
void create_thread_key() { g_thread_key_ok = pthread_key_create(&g_thread_key, free_thread_buffer) == 0; }

char* thread_buffer() {
    pthread_once(&g_thread_once, create_thread_key);
    if (!g_thread_key_ok) return nullptr;
    void* p = pthread_getspecific(g_thread_key);
    if (p == nullptr) {
        p = platform::map_anonymous(config().tuning.rw_buffer);
        if (p == nullptr) return nullptr;
        if (pthread_setspecific(g_thread_key, p) != 0) {
            platform::unmap_anonymous(p, config().tuning.rw_buffer);
            return nullptr;
        }
    }
    return static_cast<char*>(p);
}

// Threads start their search at different slots (by where their stack is),
// so that two threads rarely fight over one cache line.
int first_slot() {
    auto sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    return static_cast<int>((sp >> 16) % kBufferPoolSlots);
}

}  // namespace

BufferLease::BufferLease() : data_(stack_), size_(sizeof stack_), source_(kStack) {
    size_t size = config().tuning.rw_buffer;
    int start = first_slot();
    for (int i = 0; i < kBufferPoolSlots; ++i) {
        int s = (start + i) % kBufferPoolSlots;
        Slot& slot = g_pool[s];
        if (slot.busy.load(std::memory_order_relaxed) || slot.busy.exchange(true, std::memory_order_acquire))
            continue;
        if (slot.data == nullptr) slot.data = static_cast<char*>(platform::map_anonymous(size));
        if (slot.data == nullptr) {  // no memory now: another slot will not have any either
            slot.busy.store(false, std::memory_order_release);
            break;
        }
        data_ = slot.data;
        size_ = size;
        source_ = s;
        return;
    }
    if (t_thread_buffer_busy) return;
    if (char* p = thread_buffer()) {
        t_thread_buffer_busy = true;
        data_ = p;
        size_ = size;
        source_ = kThreadBuffer;
    }
}

BufferLease::~BufferLease() {
    if (source_ >= 0)
        g_pool[source_].busy.store(false, std::memory_order_release);
    else if (source_ == kThreadBuffer)
        t_thread_buffer_busy = false;
}

}  // namespace sfshim
