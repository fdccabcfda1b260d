// The read/write engine's buffer pool (shim/src/buffer.h): every lease held at
// one time is its own memory, and slots come back.
#include <catch2/catch.hpp>

#include <string.h>

#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "buffer.h"
#include "config.h"

using namespace sfshim;

TEST_CASE("buffer pool: leases held at once never share memory, and the last ones come from the overflow slots and the stack",
          "[buffer]") {
    constexpr int kSlots = kBufferPoolSlots + kBufferOverflowSlots;
    std::vector<std::unique_ptr<BufferLease>> held;
    std::multiset<int> sources;
    std::set<char*> data;
    for (int i = 0; i < kSlots + 2; ++i) {
        held.emplace_back(new BufferLease);
        sources.insert(held.back()->source());
        data.insert(held.back()->data());
        // The overflow slots are taken in order: only as many are ever
        // mapped as leases were held at once.
        if (i >= kBufferPoolSlots && i < kSlots) CHECK(held.back()->source() == i);
    }
    CHECK(data.size() == held.size());
    for (int s = 0; s < kSlots; ++s) CHECK(sources.count(s) == 1);
    CHECK(sources.count(BufferLease::kStack) == 2);
    for (auto& l : held) {
        if (l->source() == BufferLease::kStack) CHECK(l->size() == kStackBufferSize);
        else CHECK(l->size() == config().tuning.rw_buffer);
        memset(l->data(), 0x5a, l->size());  // all of it is writable
    }
}

TEST_CASE("buffer pool: a returned slot is handed out again", "[buffer]") {
    char* first;
    int source;
    {
        BufferLease a;
        first = a.data();
        source = a.source();
    }
    BufferLease b;
    CHECK(b.source() == source);
    CHECK(b.data() == first);
}

TEST_CASE("buffer pool: threads that fill their buffers at once never see each other's bytes", "[buffer]") {
    constexpr int kThreads = 32, kRounds = 300;
    std::vector<std::thread> threads;
    std::vector<int> bad(kThreads, 0);
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([t, &bad] {
            for (int r = 0; r < kRounds; ++r) {
                BufferLease l;
                size_t n = l.size() < 8192 ? l.size() : 8192;
                auto mark = static_cast<char>(t * 7 + r);
                memset(l.data(), mark, n);
                std::this_thread::yield();
                for (size_t i = 0; i < n; ++i)
                    if (l.data()[i] != mark) {
                        ++bad[static_cast<size_t>(t)];
                        break;
                    }
            }
        });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < kThreads; ++t) CHECK(bad[static_cast<size_t>(t)] == 0);
}
