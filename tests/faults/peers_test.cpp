// Closed peers: a pipe without a reader, a Unix socket whose peer is gone, a
// TCP peer that closed with unread data or with SO_LINGER 0 (a reset), and a
// peer that goes away in the middle of a blocking transfer. EPIPE comes with
// SIGPIPE (seen pending while blocked, or through a handler) unless SIGPIPE
// is ignored; a reset gives ECONNRESET first. Every call's result, errno and
// signal are compared with the kernel's in the same setup. And a live peer
// of an event loop: a non-blocking socket that fills, retried when writable.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "util.h"

using namespace sffault;

namespace {

enum class Peer {
    PipeNoReader,     // the read end is closed
    UnixClosed,       // the other end of a Unix stream pair is closed
    TcpClosedUnread,  // the TCP peer closed with data it never read: a reset
    TcpLingerZero,    // the TCP peer closed with SO_LINGER 0: a reset
    TcpClosedClean,   // the TCP peer closed with nothing unread: FIN, then a reset on our data
    TcpResetMidway,   // a blocking transfer is under way when the peer resets
};
enum class Disposition { Blocked, Ignored, Handler };

std::atomic<int> g_handled{0};
void on_sigpipe(int) { g_handled.fetch_add(1); }

constexpr size_t kCount = 64 << 10;

// What the loopback's FIN or reset does to our end is waited for, not slept
// for: a loaded machine can run the network's softirq work late. A wait that
// expires is reported as such (check() fails on it), never as a result.
constexpr int kSettleMs = 20000;
const char *const kTimedOut = "timed out waiting for ";

// Waits until poll reports one of `events` on fd; false after kSettleMs.
bool wait_events(int fd, short events)
{
    int64_t until = now_ms() + kSettleMs;
    for (;;) {
        pollfd p{fd, events, 0};
        int64_t left = until - now_ms();
        if (left <= 0)
            return false;
        int n = poll(&p, 1, static_cast<int>(left));
        if (n > 0 && (p.revents & events) != 0)
            return true;
        if (n < 0 && errno != EINTR)
            return false;
        if (n > 0)
            sleep_ms(1); // POLLERR before the event asked for
    }
}

// Waits until fd has `bytes` to read.
bool wait_readable_bytes(int fd, int bytes)
{
    int64_t until = now_ms() + kSettleMs;
    for (;;) {
        int queued = 0;
        if (ioctl(fd, FIONREAD, &queued) == 0 && queued >= bytes)
            return true;
        if (now_ms() >= until)
            return false;
        sleep_ms(1);
    }
}

std::string run(Via via, Peer peer, Disposition disp)
{
    if (!install_filter(via))
        return "seccomp";
    const uint64_t seed = 99;
    int in = make_file(seed, 64 << 20, true);
    int out = -1, other = -1;

    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (disp == Disposition::Blocked) {
        sigprocmask(SIG_BLOCK, &pipe_set, nullptr);
    } else if (disp == Disposition::Ignored) {
        signal(SIGPIPE, SIG_IGN);
    } else {
        struct sigaction sa{};
        sa.sa_handler = on_sigpipe;
        sigaction(SIGPIPE, &sa, nullptr);
    }

    std::string result;
    if (peer == Peer::PipeNoReader) {
        int p[2];
        pipe2(p, O_CLOEXEC);
        out = p[1];
        close(p[0]);
    } else if (peer == Peer::UnixClosed) {
        int sv[2];
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
        out = sv[0];
        close(sv[1]);
    } else {
        tcp_pair(out, other);
        if (peer == Peer::TcpClosedUnread) {
            (void)!write(out, "unread", 6);
            if (!wait_readable_bytes(other, 6))
                return std::string(kTimedOut) + "the peer to receive its unread bytes";
            close(other);
        } else if (peer == Peer::TcpLingerZero) {
            linger l{1, 0};
            setsockopt(other, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            close(other);
        } else if (peer == Peer::TcpClosedClean) {
            close(other);
        }
        // The FIN (POLLRDHUP) or the reset (POLLHUP) has arrived.
        if (peer != Peer::TcpResetMidway &&
            !wait_events(out, peer == Peer::TcpClosedClean ? POLLRDHUP : POLLHUP))
            return std::string(kTimedOut) + "the peer's FIN or reset";
    }

    if (peer == Peer::TcpResetMidway) {
        set_buffers(out, 64 << 10, 0);
        set_buffers(other, 0, 64 << 10);
        // The peer reads 1 MiB, then resets the connection with data unread.
        std::thread resetter([&] {
            sigset_t all;
            sigfillset(&all);
            pthread_sigmask(SIG_BLOCK, &all, nullptr);
            std::vector<char> buf(64 << 10);
            uint64_t got = 0;
            while (got < (1u << 20)) {
                ssize_t n = read(other, buf.data(), buf.size());
                if (n <= 0)
                    break;
                got += static_cast<uint64_t>(n);
            }
            sleep_ms(50);
            linger l{1, 0};
            setsockopt(other, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            close(other);
        });
        int64_t off = 0;
        errno = 12345;
        ssize_t r = send_via(via, out, in, &off, 32 << 20);
        int err = errno;
        resetter.join();
        if (!wait_events(out, POLLHUP))
            return std::string(kTimedOut) + "the reset";
        std::ostringstream s;
        // The first call's count depends on timing: report its kind.
        s << (r < 0 ? "error " + std::to_string(err) : (r > 0 && r < (32 << 20)) ? "partial" : "other")
          << (off == (r > 0 ? r : 0) ? "" : " offset-mismatch") << ';';
        result += s.str();
    }

    int64_t off = 0;
    for (int i = 0; i < 3; ++i) {
        int64_t before = off;
        errno = 12345;
        g_handled = 0;
        ssize_t r = send_via(via, out, in, &off, kCount);
        int err = errno;
        int sig = 0;
        if (disp == Disposition::Blocked) {
            sigset_t pend;
            sigpending(&pend);
            sig = sigismember(&pend, SIGPIPE);
            if (sig) {
                timespec zero{0, 0};
                sigtimedwait(&pipe_set, nullptr, &zero); // consume it for the next call
            }
        } else if (disp == Disposition::Handler) {
            sig = g_handled.load();
        } else {
            sigset_t pend;
            sigpending(&pend);
            sig = sigismember(&pend, SIGPIPE);
        }
        std::ostringstream s;
        s << "ret " << r << " errno " << (r < 0 ? err : 0) << " sigpipe " << sig << " offset +"
          << (off - before) << ';';
        result += s.str();
        // Bytes sent to a closed TCP peer provoke a reset: it has arrived
        // before the next call.
        bool tcp = peer != Peer::PipeNoReader && peer != Peer::UnixClosed;
        if (tcp && r > 0 && !wait_events(out, POLLHUP))
            return result + kTimedOut + "the reset after call " + std::to_string(i);
    }
    return result;
}

void check(Peer peer, Disposition disp)
{
    ChildResult kernel = run_child([&] { return run(Via::Kernel, peer, disp); }, 3 * kSettleMs);
    REQUIRE(kernel.error == "");
    INFO("kernel: " << kernel.report);
    REQUIRE(kernel.report.find(kTimedOut) == std::string::npos);
    // Sanity of the oracle: the calls end in EPIPE or ECONNRESET.
    CHECK((kernel.report.find("errno " + std::to_string(EPIPE)) != std::string::npos ||
           kernel.report.find("errno " + std::to_string(ECONNRESET)) != std::string::npos));
    // The freebsd profile's sendfile gives EPIPE for a reset and never
    // raises SIGPIPE: AUTO there must give the kernel's errors and signals.
    std::vector<Via> vias = runnable({Via::Emulate, Via::Mmap, Via::Rw, Via::AutoEnosys, Via::AutoEperm,
                                      Via::AutoLinuxulator});
    for (Via via : vias) {
        ChildResult shim = run_child([&] { return run(via, peer, disp); }, 3 * kSettleMs);
        INFO(name(via) << ": " << shim.report);
        REQUIRE(shim.error == "");
        REQUIRE(shim.report.find(kTimedOut) == std::string::npos);
        CHECK(shim.report == kernel.report);
    }
}

// An event-loop server's socket (nginx, lighttpd): non-blocking, filled
// partway through a call. The call returns the bytes it moved; the server
// waits for room and calls again from the offset it got back, EAGAIN
// meaning "nothing moved, wait again". Every byte must arrive once and in
// order. FreeBSD's layer fails such a call with EAGAIN after sending its
// bytes (the count dropped): passed through, the retry sends them twice.
// What may differ between runs (how much fits, how many calls) is not
// reported; the kinds of results and the bytes are.
std::string event_loop(Via via, bool tcp)
{
    if (!install_filter(via))
        return "seccomp";
    const uint64_t seed = 515;
    const uint64_t size = 8 << 20;
    int in = make_file(seed, size, true);
    int out = -1, peer = -1;
    if (tcp) {
        if (!tcp_pair(out, peer))
            return "tcp_pair failed";
        set_buffers(peer, 0, 64 << 10);
    } else {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            return "socketpair failed";
        out = sv[0];
        peer = sv[1];
    }
    set_buffers(out, 64 << 10, 0);
    set_nonblock(out, true);
    // The client reads nothing until the first call has returned.
    std::atomic<bool> reading{false};
    Reader reader(peer, seed, 0, 60000, [&](uint64_t) -> size_t { return reading.load() ? 1 << 20 : 0; });
    reader.start();

    std::ostringstream s;
    int64_t off = 0;
    errno = 12345;
    ssize_t r = send_via(via, out, in, &off, size);
    s << "first call: " << (r > 0 && static_cast<uint64_t>(r) < size ? "partial" : "ret " + std::to_string(r))
      << (r < 0 ? " errno " + std::to_string(errno) : std::string()) << (off == (r > 0 ? r : 0) ? "" : " offset-mismatch")
      << ';';
    reading = true;
    int64_t until = now_ms() + 60000;
    bool wrong_offset = false;
    long long other_error = 0;
    while (static_cast<uint64_t>(off) < size) {
        if (now_ms() >= until)
            return s.str() + " timed out: the retries did not finish in 60 s";
        pollfd p{out, POLLOUT, 0};
        if (poll(&p, 1, 1000) <= 0)
            continue;
        int64_t before = off;
        errno = 12345;
        r = send_via(via, out, in, &off, size - static_cast<uint64_t>(off));
        if (r < 0 && errno == EAGAIN) {
            wrong_offset = wrong_offset || off != before;
            continue;
        }
        if (r <= 0) {
            other_error = r < 0 ? errno : -1;
            break;
        }
        wrong_offset = wrong_offset || off != before + r;
    }
    shutdown(out, SHUT_WR);
    reader.join();
    s << " offset " << off << (wrong_offset ? " offset-mismatch" : "") << " error " << other_error << " received "
      << reader.received() << " first bad byte " << reader.mismatch_at() << (reader.timed_out() ? " timed out" : "")
      << (reader.eof() ? "" : " no EOF");
    return s.str();
}

void check_event_loop(bool tcp)
{
    ChildResult kernel = run_child([&] { return event_loop(Via::Kernel, tcp); }, 90000);
    REQUIRE(kernel.error == "");
    INFO("kernel: " << kernel.report);
    REQUIRE(kernel.report.find("timed out") == std::string::npos);
    CHECK(kernel.report == "first call: partial; offset 8388608 error 0 received 8388608 first bad byte -1");
    for (Via via : runnable({Via::Emulate, Via::Mmap, Via::Rw, Via::Auto, Via::AutoEnosys, Via::AutoLinuxulator})) {
        ChildResult shim = run_child([&] { return event_loop(via, tcp); }, 90000);
        INFO(name(via) << ": " << shim.report);
        REQUIRE(shim.error == "");
        REQUIRE(shim.report.find("timed out") == std::string::npos);
        CHECK(shim.report == kernel.report);
    }
}

} // namespace

TEST_CASE("an event loop's non-blocking TCP socket: a partial count when it fills, every byte once after the "
          "retries, like the kernel",
          "[peers]")
{
    check_event_loop(true);
}

TEST_CASE("an event loop's non-blocking Unix socket: a partial count when it fills, every byte once after the "
          "retries, like the kernel",
          "[peers]")
{
    check_event_loop(false);
}

TEST_CASE("a pipe without a reader gives EPIPE and a pending SIGPIPE, like the kernel", "[peers]")
{
    check(Peer::PipeNoReader, Disposition::Blocked);
}

TEST_CASE("a pipe without a reader gives EPIPE and no signal when SIGPIPE is ignored, like the kernel",
          "[peers]")
{
    check(Peer::PipeNoReader, Disposition::Ignored);
}

TEST_CASE("a pipe without a reader runs the SIGPIPE handler once per call, like the kernel", "[peers]")
{
    check(Peer::PipeNoReader, Disposition::Handler);
}

TEST_CASE("a closed Unix socket peer gives EPIPE and a pending SIGPIPE, like the kernel", "[peers]")
{
    check(Peer::UnixClosed, Disposition::Blocked);
}

TEST_CASE("a closed Unix socket peer gives EPIPE and no signal when SIGPIPE is ignored, like the kernel",
          "[peers]")
{
    check(Peer::UnixClosed, Disposition::Ignored);
}

TEST_CASE("a TCP peer that closed with unread data gives ECONNRESET, then EPIPE and SIGPIPE, like the kernel",
          "[peers]")
{
    check(Peer::TcpClosedUnread, Disposition::Blocked);
}

TEST_CASE("a TCP peer that closed with SO_LINGER 0 gives ECONNRESET, then EPIPE and SIGPIPE, like the kernel",
          "[peers]")
{
    check(Peer::TcpLingerZero, Disposition::Handler);
}

TEST_CASE("a TCP peer that closed cleanly takes one call, then EPIPE, like the kernel", "[peers]")
{
    check(Peer::TcpClosedClean, Disposition::Blocked);
}

TEST_CASE("a TCP peer that resets during a blocking transfer gives a partial count, then the kernel's errors",
          "[peers]")
{
    check(Peer::TcpResetMidway, Disposition::Blocked);
}

TEST_CASE("a TCP peer that resets during a blocking transfer with SIGPIPE ignored gives the kernel's errors",
          "[peers]")
{
    check(Peer::TcpResetMidway, Disposition::Ignored);
}
