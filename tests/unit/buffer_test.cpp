// The read/write engine's buffer pool (shim/src/buffer.h): every lease held at
// one time is its own memory, slots come back, and a sendfile made from a
// signal handler that interrupted another cannot scribble over its buffer.
#include <catch2/catch.hpp>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "buffer.h"
#include "io.h"
#include "sfshim/sfshim.h"

using namespace sfshim;

TEST_CASE("buffer pool: leases held at once never share memory, and the last ones come from the thread and the stack",
          "[buffer]") {
    std::vector<std::unique_ptr<BufferLease>> held;
    std::set<int> sources;
    std::set<char*> data;
    for (int i = 0; i < kBufferPoolSlots + 2; ++i) {
        held.emplace_back(new BufferLease);
        sources.insert(held.back()->source());
        data.insert(held.back()->data());
    }
    CHECK(data.size() == held.size());
    for (int s = 0; s < kBufferPoolSlots; ++s) CHECK(sources.count(s) == 1);
    CHECK(sources.count(BufferLease::kThreadBuffer) == 1);
    CHECK(sources.count(BufferLease::kStack) == 1);
    for (auto& l : held) {
        if (l->source() == BufferLease::kStack) CHECK(l->size() == kStackBufferSize);
        else CHECK(l->size() == kRwBufferSize);
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

// Before the pool, a handler's call took the interrupted call's own
// per-thread buffer, and the interrupted stream carried the handler's bytes.
namespace {
int g_side_in = -1, g_side_out = -1;
volatile sig_atomic_t g_side_calls = 0, g_side_bad = 0;

void send_from_handler(int) {
    int saved = errno;
    int64_t off = 0;
    ssize_t n = sfshim_sendfile_mode(SFSHIM_MODE_RW, g_side_out, g_side_in, &off, 4096);
    if (n != 4096) g_side_bad = g_side_bad + 1;
    g_side_calls = g_side_calls + 1;
    errno = saved;
}
}  // namespace

TEST_CASE("buffer pool: sendfile from a signal handler leaves the interrupted transfer's bytes alone", "[buffer]") {
    constexpr size_t kSize = 24u << 20;
    char dir[] = "/tmp/sfshim-buffer-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    std::string main_path = std::string(dir) + "/main", side_path = std::string(dir) + "/side",
                copy_path = std::string(dir) + "/copies";
    std::vector<char> content(kSize);
    for (size_t i = 0; i < kSize; ++i) content[i] = static_cast<char>((i * 131) >> 8);
    int in = open(main_path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    REQUIRE(in >= 0);
    REQUIRE(sftest::write_all(in, std::string(content.data(), kSize)));
    g_side_in = open(side_path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    std::string side(4096, '\xee');
    REQUIRE(sftest::write_all(g_side_in, side));
    g_side_out = open(copy_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(g_side_out >= 0);

    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    struct sigaction sa = {}, old = {};
    sa.sa_handler = send_from_handler;
    sa.sa_flags = SA_RESTART;
    REQUIRE(sigaction(SIGUSR1, &sa, &old) == 0);

    std::string got;
    bool timed_out = true;
    std::thread reader([&] { timed_out = sftest::read_until_eof(sv[1], 60000, &got); });
    pthread_t sender = pthread_self();
    std::atomic<bool> done{false};
    std::thread kicker([&] {
        while (!done.load()) {
            pthread_kill(sender, SIGUSR1);
            usleep(50);
        }
    });
    int64_t off = 0;
    while (static_cast<size_t>(off) < kSize) {
        ssize_t n = sfshim_sendfile_mode(SFSHIM_MODE_RW, sv[0], in, &off, kSize - static_cast<size_t>(off));
        if (n < 0 && errno == EINTR) continue;
        REQUIRE(n > 0);
    }
    done = true;
    kicker.join();
    shutdown(sv[0], SHUT_WR);
    reader.join();
    sigaction(SIGUSR1, &old, nullptr);

    CHECK_FALSE(timed_out);
    CHECK(g_side_calls > 10);
    CHECK(g_side_bad == 0);
    REQUIRE(got.size() == kSize);
    CHECK(memcmp(got.data(), content.data(), kSize) == 0);
    struct stat st;
    REQUIRE(fstat(g_side_out, &st) == 0);
    CHECK(static_cast<uint64_t>(st.st_size) == 4096u * static_cast<unsigned>(g_side_calls));
    for (int fd : {in, g_side_in, g_side_out, sv[0], sv[1]}) close(fd);
    for (const std::string& p : {main_path, side_path, copy_path}) unlink(p.c_str());
    rmdir(dir);
}
