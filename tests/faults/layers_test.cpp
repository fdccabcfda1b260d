// What the compat layers do with the calls the shim makes besides sendfile
// (docs/platforms.md, "The compatibility layers, call by call"), played by
// the layer profiles of kernel_profile.h: the shim in AUTO there against the
// kernel's own sendfile here. Each case is one the shim got wrong before it
// knew the layer's answer.
#include <catch2/catch.hpp>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <sfshim/sfshim.h>

#include "util.h"

using namespace sffault;

namespace {

// The shim in AUTO under FreeBSD's linuxulator as the freebsd profile plays
// it (with /proc, as linprocfs gives one; uname says FreeBSD), against the
// kernel's own sendfile.
constexpr Via kLayer = Via::AutoLinuxulator;

ChildResult in_child(Via via, const std::function<std::string()> &body)
{
    return run_child(
        [&] {
            std::string err;
            if (!install_filter(via, &err))
                return "the freebsd profile did not start: " + err;
            return body();
        },
        30000);
}

std::string res(ssize_t r) { return r >= 0 ? std::to_string(r) : "-errno " + std::to_string(errno); }

volatile sig_atomic_t g_sigpipes = 0;
void on_sigpipe(int) { g_sigpipes = g_sigpipes + 1; }

// Runs body on both sides and wants the same report.
void same_as_kernel(const std::function<std::string(Via)> &body)
{
    ChildResult k = in_child(Via::Kernel, [&] { return body(Via::Kernel); });
    REQUIRE(k.error == "");
    ChildResult s = in_child(kLayer, [&] { return body(kLayer); });
    INFO("kernel: " << k.report << "\nshim under the freebsd profile: " << s.report);
    REQUIRE(s.error == "");
    CHECK(s.report == k.report);
}

// Valgrind cannot run a program under a seccomp user-notification
// supervisor (it does not know the filter's notify action).
bool layer_unavailable_here()
{
    const char *why = unavailable(kLayer);
    if (why)
        WARN("not run: " << why);
    return why != nullptr;
}

} // namespace

// FreeBSD's sys_pipe.c:pipe_poll answers a write end whose reader is gone
// with POLLHUP, never POLLERR; Linux's pipe_poll says POLLERR. A call that
// moves nothing must still give Linux's EPIPE and SIGPIPE (the kernel's
// splice_file_to_pipe waits for space first, and wait_for_space finds no
// reader). Before, the shim under the layer returned 0.
TEST_CASE("FreeBSD's layer: count 0 into a pipe whose reader is gone gives EPIPE and SIGPIPE", "[layers]")
{
    if (layer_unavailable_here())
        return;
    same_as_kernel([](Via via) {
        signal(SIGPIPE, on_sigpipe);
        int in = make_file(7, 4096);
        int p[2];
        if (in < 0 || pipe2(p, O_CLOEXEC) != 0)
            return std::string("setup");
        close(p[0]);
        int64_t off = 0;
        std::string out = "count 0: " + res(send_via(via, p[1], in, &off, 0));
        out += " sigpipes " + std::to_string(g_sigpipes);
        out += "; count 10: " + res(send_via(via, p[1], in, &off, 10));
        out += " sigpipes " + std::to_string(g_sigpipes) + " offset " + std::to_string(off);
        return out;
    });
}

// FreeBSD's pipe_ioctl answers FIONREAD on a write end with 0, so the queue
// cannot be seen from there; the shim wrote a whole fill into the room it
// believed free and, into a blocking pipe that had less, waited for a reader
// that never came (the program reads after the call). Linux fills the free
// slots and returns. Without the queue the shim fills in writes of 512 bytes
// while poll says room: Linux's poll says none once every slot is in use,
// so the last page can stay partly empty (FreeBSD's own pipes have other
// sizes anyway): the count may fall short of Linux's by less than a page,
// the bytes are the same, and the call returns.
TEST_CASE("FreeBSD's layer: a blocking pipe with data queued takes its free room and the call returns",
          "[layers]")
{
    if (layer_unavailable_here())
        return;
    auto body = [](Via via) {
        int in = make_file(11, 1 << 20);
        int p[2];
        if (in < 0 || pipe2(p, O_CLOEXEC) != 0)
            return std::string("setup");
        std::string queued(4 * 4096, 'x');
        if (write(p[1], queued.data(), queued.size()) != static_cast<ssize_t>(queued.size()))
            return std::string("prefill");
        int64_t off = 0;
        ssize_t r = send_via(via, p[1], in, &off, 1 << 20);
        // What the pipe holds: the 'x's, then the file from offset 0.
        close(p[1]);
        std::string got;
        char buf[65536];
        ssize_t n;
        while ((n = read(p[0], buf, sizeof buf)) > 0)
            got.append(buf, static_cast<size_t>(n));
        bool prefix = got.compare(0, queued.size(), queued) == 0;
        int64_t bad = got.size() < queued.size()
                          ? -2
                          : first_mismatch(got.data() + queued.size(), 11, 0, got.size() - queued.size());
        return std::to_string(r) + " " + std::to_string(off) + " " + std::to_string(got.size()) + " " +
               (prefix ? "x-prefix" : "no-prefix") + " " + std::to_string(bad);
    };
    ChildResult k = in_child(Via::Kernel, [&] { return body(Via::Kernel); });
    REQUIRE(k.error == "");
    ChildResult s = in_child(kLayer, [&] { return body(kLayer); });
    INFO("kernel: " << k.report << "\nshim under the freebsd profile: " << s.report);
    REQUIRE(s.error == "");
    long long kr = 0, ko = 0, kg = 0, sr = 0, so = 0, sg = 0, kbad = 0, sbad = 0;
    char kp[16] = "", sp[16] = "";
    REQUIRE(sscanf(k.report.c_str(), "%lld %lld %lld %15s %lld", &kr, &ko, &kg, kp, &kbad) == 5);
    REQUIRE(sscanf(s.report.c_str(), "%lld %lld %lld %15s %lld", &sr, &so, &sg, sp, &sbad) == 5);
    CHECK(kr == 12 * 4096);
    CHECK(sr > 0);
    CHECK(sr <= kr);
    CHECK(kr - sr < 4096);
    CHECK(so == sr);                // the offset moved by the count
    CHECK(sg == 4 * 4096 + sr);     // the pipe holds what was queued and what the call reported
    CHECK(std::string(sp) == "x-prefix");
    CHECK(sbad == -1);              // every byte the file's, in order
}

// The same with a non-blocking pipe: EAGAIN once full, never a wait.
TEST_CASE("FreeBSD's layer: a non-blocking pipe with data queued takes its free room, then EAGAIN", "[layers]")
{
    if (layer_unavailable_here())
        return;
    same_as_kernel([](Via via) {
        int in = make_file(13, 1 << 20);
        int p[2];
        if (in < 0 || pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
            return std::string("setup");
        std::string queued(3 * 4096, 'x');
        if (write(p[1], queued.data(), queued.size()) != static_cast<ssize_t>(queued.size()))
            return std::string("prefill");
        int64_t off = 0;
        std::string out = "first: " + res(send_via(via, p[1], in, &off, 1 << 20));
        out += "; second: " + res(send_via(via, p[1], in, &off, 1 << 20)) + " offset " + std::to_string(off);
        return out;
    });
}

// Positions from 2^31 - 1 on are checked against the file system's limit on
// a description of the shim's own, opened through /proc/self/fd/N. There
// FreeBSD's linprocfs links to fdescfs, whose open duplicates N: the probe's
// lseek moved the caller's own position, and it stayed there. The caller
// passed an offset, so Linux leaves the position alone.
TEST_CASE("FreeBSD's layer: an offset past 2 GiB leaves the input's file position alone", "[layers]")
{
    if (layer_unavailable_here())
        return;
    same_as_kernel([](Via via) {
        int in = make_file(17, 8192);
        int sv[2];
        if (in < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            return std::string("setup");
        if (lseek(in, 100, SEEK_SET) != 100)
            return std::string("lseek");
        std::string out;
        for (int64_t at : {int64_t{0x7fffffff}, int64_t{3} << 30, int64_t{1} << 40}) {
            int64_t off = at;
            ssize_t r = send_via(via, sv[0], in, &off, 10);
            out += res(r) + " offset " + std::to_string(off) + " position " +
                   std::to_string(lseek(in, 0, SEEK_CUR)) + "; ";
        }
        return out;
    });
}
