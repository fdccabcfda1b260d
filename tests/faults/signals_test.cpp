// Signals during a blocking transfer, from another thread (pthread_kill
// SIGUSR1) or from an interval timer (SIGALRM), with handlers installed with
// and without SA_RESTART. After some bytes moved the call returns the partial
// count; before any byte could move (a full blocking socket or pipe) it fails
// with EINTR, or under SA_RESTART carries on once room appears. The kernel
// runs each scenario too, and the shim must give the same kind of result.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/syscall.h>

#include "util.h"

using namespace sffault;

namespace {

enum class Source { Thread, Timer };

struct Scenario {
    Sink sink;
    bool progress; // some bytes can move before the signal
    bool restart;  // SA_RESTART
    Source source;
};

std::atomic<int> g_handled{0};
void on_signal(int) { g_handled.fetch_add(1); }

constexpr uint64_t kMiB = 1 << 20;


// A stuffed TCP socket stays stuffed only once no sent byte awaits its
// acknowledgement (only an acknowledgement frees room in the send buffer):
// the send queue holds unsent bytes only (SIOCOUTQ == SIOCOUTQNSD, the peer's
// window is closed) and one more fill takes nothing. A pause cannot tell:
// a loaded machine runs loopback's softirq work late. Returns false when
// that did not happen within 20 s.
bool stuff_tcp(int fd, uint64_t &junk)
{
    int64_t until = now_ms() + 20000;
    for (;;) {
        int queued = -1, unsent = -1;
        ioctl(fd, SIOCOUTQ, &queued);
        ioctl(fd, SIOCOUTQNSD, &unsent);
        bool nothing_in_flight = queued > 0 && queued == unsent;
        uint64_t more = fill_until_full(fd);
        junk += more;
        if (nothing_in_flight && more == 0)
            return true;
        if (now_ms() >= until)
            return false;
        sleep_ms(1);
    }
}

// ThreadSanitizer takes a signal in a handler of its own and runs the
// program's handler only when the thread leaves the blocking call, which the
// kernel restarts under SA_RESTART: there a signal is taken once it is no
// longer pending, and the count of handled signals catches up only after the
// call returns (waiting for it ran every case into its 20 s deadline).
#if defined(__SANITIZE_THREAD__)
constexpr bool kSignalsDeferred = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kSignalsDeferred = true;
#else
constexpr bool kSignalsDeferred = false;
#endif
#else
constexpr bool kSignalsDeferred = false;
#endif

// True while `signo` is pending for thread `tid` of this process or for the
// process (SigPnd and ShdPnd in the thread's status).
bool pending(long tid, int signo)
{
    std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/status");
    std::string line;
    bool any = false;
    while (std::getline(f, line))
        if (line.compare(0, 7, "SigPnd:") == 0 || line.compare(0, 7, "ShdPnd:") == 0)
            any = any || ((std::strtoull(line.c_str() + 7, nullptr, 16) >> (signo - 1)) & 1) != 0;
    return any;
}

struct Outcome {
    long long ret = 0, err = 0, handled = 0, received = 0, mismatch = -1, offset_after = 0,
              count = 0, timed_out = 0, junk = 0;
};

std::string run(Via via, Scenario sc)
{
    if (!install_filter(via))
        return "seccomp";
    const uint64_t seed = 4242;
    const uint64_t size = 32 * kMiB;
    int in = make_file(seed, size, true);
    int out = -1, peer = -1;
    std::string err;
    if (in < 0 || !make_sink(sc.sink, 64 << 10, out, peer, &err))
        return "fixture: " + err;

    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sa.sa_flags = sc.restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    int signo = sc.source == Source::Thread ? SIGUSR1 : SIGALRM;
    sigaction(signo, &sa, nullptr);

    // Before progress: the output is full of junk ('x') and nobody reads
    // until told to; the file's bytes follow the junk.
    uint64_t junk = 0;
    if (!sc.progress) {
        // TCP keeps moving queued data into the peer's buffer for a while:
        // fill until it has settled (see stuff_tcp).
        if (sc.sink == Sink::Tcp) {
            if (!stuff_tcp(out, junk))
                return "timed out: the TCP socket did not settle stuffed in 20 s";
        } else {
            junk = fill_until_full(out);
        }
    }

    std::atomic<bool> resume{false}, returned{false};
    // The reader: with progress, takes 1 MiB, then stops until the call
    // returned; without, reads nothing until `resume`.
    Reader reader(peer, seed, 0, 60000, [&](uint64_t got) -> size_t {
        if (resume.load())
            return 1 << 20;
        if (sc.progress && got < kMiB)
            return 64 << 10;
        return 0;
    }, !sc.progress);
    std::atomic<bool> started{false};
    auto start_reader = [&] {
        if (!started.exchange(true))
            reader.start();
    };
    if (sc.progress)
        start_reader();

    pthread_t self = pthread_self();
    long self_tid = syscall(SYS_gettid);
    // The signaller: once the sender must be blocked, signal it every 50 ms
    // until the call returns. Under SA_RESTART without progress, room is made
    // after a few signals so that the restarted call can finish.
    std::thread signaller([&] {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, nullptr);
        int64_t until = now_ms() + 20000;
        while (sc.progress && reader.received() < kMiB && now_ms() < until)
            sleep_ms(1);
        sleep_ms(50);
        if (sc.source == Source::Timer) {
            itimerval it{{0, 50000}, {0, 1000}};
            setitimer(ITIMER_REAL, &it, nullptr);
        }
        int rounds = 0, sent = 0;
        while (!returned.load() && now_ms() < until) {
            if (sc.source == Source::Thread) {
                pthread_kill(self, SIGUSR1);
                ++sent;
            }
            sleep_ms(50);
            if (++rounds == 4 && !sc.progress && sc.restart) {
                // Room appears: the restarted call goes on, undisturbed,
                // once no signal is left to disturb it. A signal sent but
                // not yet taken (the sender not yet scheduled) would cut the
                // restarted call short after the room appeared.
                itimerval off{};
                setitimer(ITIMER_REAL, &off, nullptr);
                while ((pending(self_tid, signo) || (!kSignalsDeferred && g_handled.load() < sent)) &&
                       now_ms() < until)
                    sleep_ms(1);
                resume = true;
                start_reader();
                break;
            }
        }
        itimerval off{};
        setitimer(ITIMER_REAL, &off, nullptr);
    });

    int64_t offset = 0;
    errno = 12345;
    ssize_t r = send_via(via, out, in, &offset, size);
    Outcome o;
    o.err = errno;
    o.ret = r;
    returned = true;
    signaller.join();
    o.handled = g_handled.load();
    o.offset_after = offset;
    o.count = static_cast<long long>(size);
    // Drain: what arrived must be the file's bytes from offset 0 (after the junk).
    resume = true;
    start_reader();
    if (sc.sink == Sink::Pipe)
        close(out);
    else
        shutdown(out, SHUT_WR);
    reader.join();
    o.timed_out = reader.timed_out();
    if (sc.progress) {
        o.received = static_cast<long long>(reader.received());
        o.mismatch = reader.mismatch_at();
    } else {
        // Skip the junk, then check the rest.
        const std::string &k = reader.kept();
        size_t first = std::min<size_t>(k.size(), junk);
        o.junk = static_cast<long long>(first);
        o.received = static_cast<long long>(k.size() - first);
        o.mismatch = first_mismatch(k.data() + first, seed, 0, k.size() - first);
    }
    std::ostringstream s;
    s << o.ret << ' ' << o.err << ' ' << o.handled << ' ' << o.received << ' ' << o.mismatch << ' '
      << o.offset_after << ' ' << o.count << ' ' << o.timed_out << ' ' << o.junk;
    return s.str();
}

Outcome parse(const std::string &t)
{
    Outcome o;
    std::istringstream s(t);
    s >> o.ret >> o.err >> o.handled >> o.received >> o.mismatch >> o.offset_after >> o.count >>
        o.timed_out >> o.junk;
    return o;
}

// The kind of result, for comparing with the kernel.
std::string shape(const Outcome &o)
{
    if (o.ret < 0)
        return "error " + std::to_string(o.err);
    if (o.ret == 0)
        return "zero";
    return o.ret < o.count ? "partial count" : "full count";
}

void check(Scenario sc)
{
    std::string kernel_shape;
    long long kernel_ret = -1;
    // The freebsd profile's sendfile fails with EINTR after progress, its
    // count dropped: AUTO there must give Linux's partial count.
    std::vector<Via> vias = runnable({Via::Kernel, Via::Emulate, Via::Mmap, Via::Rw, Via::AutoEnosys,
                                      Via::AutoLinuxulator});
    for (Via via : vias) {
        INFO("via " << name(via));
        ChildResult cr = run_child([&] { return run(via, sc); }, 60000);
        REQUIRE(cr.error == "");
        REQUIRE(cr.report.find("timed out") == std::string::npos);
        Outcome o = parse(cr.report);
        INFO("ret=" << o.ret << " errno=" << o.err << " handled=" << o.handled << " received=" << o.received
                    << " first_bad=" << o.mismatch << " offset_after=" << o.offset_after << " junk=" << o.junk);
        CHECK(o.handled >= 1);
        CHECK(o.timed_out == 0);
        CHECK(o.mismatch == -1);
        if (o.ret >= 0) {
            CHECK(o.err == 12345); // errno untouched on success
            CHECK(o.received == o.ret);
            CHECK(o.offset_after == o.ret);
        } else {
            CHECK(o.offset_after == 0);
            CHECK(o.received == 0);
        }
        bool tcp_stuffed = sc.sink == Sink::Tcp && !sc.progress;
        if (tcp_stuffed) {
            // TCP still takes some bytes into a socket that refused a
            // non-blocking write, however long it was left to settle (its
            // zero-window probes find room the peer made by compacting its
            // queue), so "before progress" cannot be arranged exactly: when
            // the room comes is a matter of time, and the kernel gives either
            // kind in different runs (seen beside two CPU hogs). Each run
            // must be one of the two, consistent with its own bytes (above).
            if (sc.restart)
                CHECK((shape(o) == "full count" || (shape(o) == "partial count" && o.handled >= 1)));
            else
                CHECK((shape(o) == "error " + std::to_string(EINTR) || shape(o) == "partial count"));
        } else if (sc.progress) {
            CHECK(shape(o) == "partial count");
            CHECK(o.ret >= static_cast<long long>(kMiB));
        } else if (!sc.restart) {
            CHECK(shape(o) == "error " + std::to_string(EINTR));
        } else if (sc.sink == Sink::Pipe) {
            // Restarted; once room appeared, one fill of the pipe, as large as the kernel's.
            CHECK(o.ret > 0);
            const sftest::LayerProfile *layer = layer_of(via);
            if (via == Via::Kernel)
                kernel_ret = o.ret;
            else if (layer && layer->pipe_queue_blind)
                // The queue cannot be seen there: the fill stops where poll
                // says the pipe is full, up to a page short of the kernel's
                // (docs/differences.md, D9).
                CHECK((o.ret <= kernel_ret && kernel_ret - o.ret < 4096));
            else
                CHECK(o.ret == kernel_ret);
        } else {
            // Restarted, then ran to the end once room appeared.
            CHECK(shape(o) == "full count");
        }
        if (via == Via::Kernel)
            kernel_shape = shape(o);
        else if (!tcp_stuffed)
            CHECK(shape(o) == kernel_shape);
    }
}

} // namespace

TEST_CASE("a signal from another thread after progress on a blocking TCP socket gives the partial count",
          "[signals]")
{
    check({Sink::Tcp, true, false, Source::Thread});
}

TEST_CASE("a signal from another thread after progress on a blocking TCP socket gives the partial count even with SA_RESTART",
          "[signals]")
{
    check({Sink::Tcp, true, true, Source::Thread});
}

TEST_CASE("a timer signal after progress on a blocking Unix socket gives the partial count",
          "[signals]")
{
    check({Sink::Unix, true, false, Source::Timer});
}

TEST_CASE("a timer signal after progress on a blocking Unix socket gives the partial count even with SA_RESTART",
          "[signals]")
{
    check({Sink::Unix, true, true, Source::Timer});
}

TEST_CASE("a signal from another thread on a stuffed blocking TCP socket gives the kernel's kind of result",
          "[signals]")
{
    check({Sink::Tcp, false, false, Source::Thread});
}

TEST_CASE("a signal from another thread on a stuffed blocking TCP socket under SA_RESTART gives the kernel's kind of result",
          "[signals]")
{
    check({Sink::Tcp, false, true, Source::Thread});
}

TEST_CASE("a timer signal before progress on a full blocking Unix socket gives EINTR", "[signals]")
{
    check({Sink::Unix, false, false, Source::Timer});
}

TEST_CASE("a timer signal before progress on a full blocking Unix socket restarts under SA_RESTART",
          "[signals]")
{
    check({Sink::Unix, false, true, Source::Timer});
}

TEST_CASE("a timer signal on a full blocking pipe gives EINTR", "[signals]")
{
    check({Sink::Pipe, false, false, Source::Timer});
}

TEST_CASE("a signal from another thread on a full blocking pipe restarts under SA_RESTART", "[signals]")
{
    check({Sink::Pipe, false, true, Source::Thread});
}
