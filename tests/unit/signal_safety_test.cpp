// sendfile called from a signal handler, as the kernel's own call can be: the
// handler's call neither disturbs the call it interrupted nor waits on a lock
// the interrupted code holds.
#include <catch2/catch.hpp>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "io.h"
#include "sfshim/sfshim.h"

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

TEST_CASE("signals: sendfile from a signal handler leaves the interrupted transfer's bytes alone", "[signal]") {
    constexpr size_t kSize = 8u << 20;
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
    // The whole file again and again, until the handler has run often
    // enough (however the two threads happen to be scheduled).
    int rounds = 0;
    while (rounds < 2 || (g_side_calls < 50 && rounds < 500)) {
        int64_t off = 0;
        while (static_cast<size_t>(off) < kSize) {
            ssize_t n = sfshim_sendfile_mode(SFSHIM_MODE_RW, sv[0], in, &off, kSize - static_cast<size_t>(off));
            if (n < 0 && errno == EINTR) continue;
            REQUIRE(n > 0);
        }
        ++rounds;
    }
    done = true;
    kicker.join();
    shutdown(sv[0], SHUT_WR);
    reader.join();
    sigaction(SIGUSR1, &old, nullptr);

    CHECK_FALSE(timed_out);
    CHECK(g_side_calls >= 50);
    CHECK(g_side_bad == 0);
    REQUIRE(got.size() == kSize * static_cast<size_t>(rounds));
    int wrong_rounds = 0;
    for (int r = 0; r < rounds; ++r)
        if (memcmp(got.data() + kSize * static_cast<size_t>(r), content.data(), kSize) != 0) ++wrong_rounds;
    CHECK(wrong_rounds == 0);
    struct stat st;
    REQUIRE(fstat(g_side_out, &st) == 0);
    CHECK(static_cast<uint64_t>(st.st_size) == 4096u * static_cast<unsigned>(g_side_calls));
    for (int fd : {in, g_side_in, g_side_out, sv[0], sv[1]}) close(fd);
    for (const std::string& p : {main_path, side_path, copy_path}) unlink(p.c_str());
    rmdir(dir);
}

// A thread's first call learns where its stack is. It once asked
// pthread_getattr_np, which for the main thread reads /proc through stdio and
// so allocates: a handler's call that interrupted the first call while it
// held the allocator's lock waited for it forever (seen in the i386 build).
namespace {
std::atomic<int> g_handler_calls{0}, g_handler_bad{0};

int send_16_to_null() {
    int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int64_t off = 0;  // on this stack: the direct path, once it is known
    auto n = static_cast<int>(sfshim_sendfile_mode(SFSHIM_MODE_RW, out, in, &off, 16));
    close(in);
    close(out);
    return n;
}

void send_from_handler_too(int) {
    int saved = errno;
    if (send_16_to_null() != 16) ++g_handler_bad;
    ++g_handler_calls;
    errno = saved;
}
}  // namespace

// Run by the case below in a fresh process, whose main thread has not called
// sendfile yet: signals rain on it through its first call.
TEST_CASE("signals: child: handlers call sendfile during the main thread's first call", "[.signal-child]") {
    struct sigaction sa = {};
    sa.sa_handler = send_from_handler_too;
    REQUIRE(sigaction(SIGUSR2, &sa, nullptr) == 0);
    pthread_t main_thread = pthread_self();
    std::atomic<bool> stop{false}, kicking{false};
    std::thread kicker([&] {
        while (!stop.load()) {
            pthread_kill(main_thread, SIGUSR2);
            kicking = true;
            usleep(2);
        }
    });
    while (!kicking.load()) sched_yield();
    int first = send_16_to_null();
    stop = true;
    kicker.join();
    CHECK(first == 16);
    CHECK(g_handler_bad.load() == 0);
}

TEST_CASE("signals: handlers' sendfile during the main thread's first call neither deadlocks nor fails", "[signal]") {
    // The file itself, not /proc/self/exe: under valgrind that is the tool.
    char self_path[4096];
    ssize_t len = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    REQUIRE(len > 0);
    self_path[len] = '\0';
    for (int child = 0; child < 40; ++child) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            execl(self_path, "unit_tests", "[.signal-child]", static_cast<char*>(nullptr));
            _exit(127);
        }
        int status = 0;
        pid_t got = 0;
        for (int ms = 0; ms < 20000 && (got = waitpid(pid, &status, WNOHANG)) == 0; ms += 5) usleep(5000);
        if (got == 0) {  // still running: it hangs
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        CAPTURE(child);
        REQUIRE(got == pid);
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
}
