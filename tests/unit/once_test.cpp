// The library's one-time initialisation (shim/src/once.h), which replaced
// pthread_once (in libpthread before glibc 2.34): once across racing
// threads, no wait for itself in a signal handler, and again in a child
// forked while another thread was inside it.
#include <catch2/catch.hpp>

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "once.h"

using sfshim::Once;

TEST_CASE("once: racing threads run the function once, and none returns before it has finished", "[once]") {
    static Once once;
    static std::atomic<int> runs{0};
    static std::atomic<bool> finished{false};
    std::atomic<int> ready{0}, early{0}, refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            ++ready;
            while (ready.load() < 8) std::this_thread::yield();
            bool ok = once.run([] {
                ++runs;
                usleep(20000);
                finished = true;
            });
            if (!ok) ++refused;
            if (!finished.load()) ++early;
        });
    }
    for (auto& th : threads) th.join();
    CHECK(runs.load() == 1);
    CHECK(early.load() == 0);
    CHECK(refused.load() == 0);
    CHECK(once.run([] { ++runs; }));
    CHECK(runs.load() == 1);
}

namespace {
Once g_handler_once;
volatile sig_atomic_t g_handler_result = -1, g_handler_ran_it = 0;
void call_from_handler(int) {
    g_handler_result = g_handler_once.run([] { g_handler_ran_it = 1; }) ? 1 : 0;
}
}  // namespace

TEST_CASE("once: a signal handler that interrupts its own thread's run gets false at once, not a deadlock", "[once]") {
    struct sigaction sa = {}, old = {};
    sa.sa_handler = call_from_handler;
    REQUIRE(sigaction(SIGUSR1, &sa, &old) == 0);
    int runs = 0;
    bool ok = g_handler_once.run([&] {
        ++runs;
        raise(SIGUSR1);  // the handler runs here, inside the function
    });
    sigaction(SIGUSR1, &old, nullptr);
    CHECK(ok);
    CHECK(runs == 1);
    CHECK(g_handler_result == 0);
    CHECK(g_handler_ran_it == 0);
    // After it, a handler's call sees it done.
    CHECK(g_handler_once.run([] { g_handler_ran_it = 1; }));
    CHECK(g_handler_ran_it == 0);
}

TEST_CASE("once: a run nested in another once's run still waits for, or runs, its own", "[once]") {
    static Once outer, inner;
    int inner_runs = 0;
    bool inner_ok = false;
    CHECK(outer.run([&] { inner_ok = inner.run([&] { ++inner_runs; }); }));
    CHECK(inner_ok);
    CHECK(inner_runs == 1);
}

TEST_CASE("once: a child forked while another thread is inside the function runs it itself", "[once]") {
    static Once once;
    static std::atomic<bool> inside{false}, release{false};
    // A plain pthread, not std::thread: the child's exit would find the
    // latter's state on the heap, unreachable (a leak to memcheck).
    pthread_t runner;
    REQUIRE(pthread_create(
                &runner, nullptr,
                [](void*) -> void* {
                    once.run([] {
                        inside = true;
                        while (!release.load()) usleep(1000);
                    });
                    return nullptr;
                },
                nullptr) == 0);
    while (!inside.load()) usleep(1000);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // The running thread does not exist here: waiting would be forever.
        int ran = 0;
        bool ok = once.run([&] { ++ran; });
        _exit(ok && ran == 1 ? 0 : 1);
    }
    int status = 0;
    pid_t got = 0;
    for (int ms = 0; ms < 10000 && (got = waitpid(pid, &status, WNOHANG)) == 0; ms += 5) usleep(5000);
    if (got == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    release = true;
    pthread_join(runner, nullptr);
    CHECK(got == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
