// SPDX-License-Identifier: BSD-2-Clause
//
// What the kernel-profile tests share (toolchain/kernel_profile.c): each
// case runs in a forked child that installs a profile and reports numbers
// ("name value" lines) through a pipe; a call's result is its count, or
// minus its errno. Header-only: each test program is one translation unit.
#pragma once

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include <sfshim/sfshim.h>

#include "io.h"
#include "platform/platform.h" // forget_learned_state
#include "kernel_profile.h"

#ifndef SFSHIM_COMPAT_SCRATCH_DIR
#define SFSHIM_COMPAT_SCRATCH_DIR "/tmp"
#endif

namespace sfprofile {

using Report = std::map<std::string, long long>;
using Clock = std::chrono::steady_clock;

constexpr int kChildMs = 60000;

// ---- the child's side -------------------------------------------------

unsigned char pattern(uint64_t pos)
{
    uint64_t x = (pos + 1) * 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    return static_cast<unsigned char>(x);
}

bool is_pattern(const std::string &s, size_t at, size_t len, uint64_t pos)
{
    if (at + len > s.size())
        return false;
    for (size_t i = 0; i < len; ++i)
        if (static_cast<unsigned char>(s[at + i]) != pattern(pos + i))
            return false;
    return true;
}

// An unlinked scratch file of `size` pattern bytes, open for reading and
// writing at position 0.
int make_file(size_t size)
{
    mkdir(SFSHIM_COMPAT_SCRATCH_DIR, 0755);
    std::string path = std::string(SFSHIM_COMPAT_SCRATCH_DIR) + "/kernel-profile-XXXXXX";
    int fd = mkstemp(&path[0]);
    if (fd < 0)
        return -1;
    unlink(path.c_str());
    std::string buf;
    for (size_t done = 0; done < size;) {
        size_t n = std::min<size_t>(size - done, 1 << 16);
        buf.resize(n);
        for (size_t i = 0; i < n; ++i)
            buf[i] = static_cast<char>(pattern(done + i));
        if (!sftest::write_all(fd, buf))
            return -1;
        done += n;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

// The raw syscall: its count, or minus its errno.
long long sf(int out, int in, void *offset, size_t count)
{
    errno = 0;
    long r = syscall(SYS_sendfile, out, in, offset, count);
    return r < 0 ? -errno : r;
}

void unix_pair(int type, int sv[2]) { socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv); }

// A connected loopback TCP pair: sv[0] the client, sv[1] the accepted end.
bool tcp_pair(int sv[2])
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (l < 0 || bind(l, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || listen(l, 1) != 0 ||
        getsockname(l, reinterpret_cast<sockaddr *>(&a), &len) != 0)
        return false;
    sv[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(sv[0], reinterpret_cast<sockaddr *>(&a), sizeof a) != 0)
        return false;
    sv[1] = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    close(l);
    return sv[1] >= 0;
}

// Reads fd until end of file on a thread of its own.
class Drain {
public:
    explicit Drain(int fd) : fd_(fd), thread_([this] { run(); }) {}
    ~Drain()
    {
        if (thread_.joinable())
            thread_.join();
    }
    const std::string &finish()
    {
        thread_.join();
        return data_;
    }

private:
    void run()
    {
        char buf[1 << 16];
        for (;;) {
            ssize_t n = read(fd_, buf, sizeof buf);
            if (n > 0)
                data_.append(buf, static_cast<size_t>(n));
            else if (!(n < 0 && errno == EINTR))
                return;
        }
    }
    int fd_;
    std::string data_;
    std::thread thread_;
};

// What fd holds right now, without waiting.
std::string drain_now(int fd)
{
    std::string out;
    char buf[1 << 16];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0)
            out.append(buf, static_cast<size_t>(n));
        else if (!(n < 0 && errno == EINTR))
            return out;
    }
}

long gettid_() { return syscall(SYS_gettid); }

// Is thread tid inside system call nr (running or asleep in it)?
bool in_syscall(int proc_dir, long tid, long nr)
{
    char path[64], buf[256];
    std::snprintf(path, sizeof path, "self/task/%ld/syscall", tid);
    int fd = proc_dir >= 0 ? openat(proc_dir, path, O_RDONLY | O_CLOEXEC)
                           : open((std::string("/proc/") + path).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return buf[0] >= '0' && buf[0] <= '9' && std::strtol(buf, nullptr, 10) == nr;
}

// Waits until thread tid is inside sendfile and the socket `out` has
// stopped taking bytes: SIOCOUTQ the same, and no room, over five looks
// 10 ms apart. False when 10 s passed first.
bool wait_until_blocked(int proc_dir, long tid, int out, bool shim = false)
{
    auto deadline = Clock::now() + std::chrono::seconds(10);
    int last = -1, same = 0;
    while (Clock::now() < deadline) {
        int queued = 0;
        pollfd p{out, POLLOUT, 0};
        bool full = ioctl(out, SIOCOUTQ, &queued) == 0 && queued > 0 && poll(&p, 1, 0) == 0;
        // The shim's emulation waits for room in poll (or a blocking write).
        bool waiting = shim ? in_syscall(proc_dir, tid, SYS_poll) || in_syscall(proc_dir, tid, SYS_ppoll) ||
                                  in_syscall(proc_dir, tid, SYS_writev) || in_syscall(proc_dir, tid, SYS_sendto) ||
                                  in_syscall(proc_dir, tid, SYS_sendmsg) || in_syscall(proc_dir, tid, SYS_write)
                            : in_syscall(proc_dir, tid, SYS_sendfile);
        if (waiting && full && queued == last) {
            if (++same >= 5)
                return true;
        } else {
            same = 0;
        }
        last = queued;
        usleep(10 * 1000);
    }
    return false;
}

std::atomic<int> g_signals{0};
void count_signal(int) { g_signals++; }

void handle(int sig, int flags)
{
    struct sigaction sa{};
    sa.sa_handler = count_signal;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
}

// ---- the test's side --------------------------------------------------

struct Options {
    bool hide_proc = false;  // sfk_hide_proc before the profile
    bool install = true;     // install the profile (false: the body does)
};

// Runs body in a forked child under the profile of rules and returns its
// report; fails the test when the child does not report in time.
Report in_profile(const sfk_rules &rules, const std::function<void(Report &, int proc_dir)> &body,
                  Options opt = Options())
{
    int p[2];
    REQUIRE(pipe2(p, O_CLOEXEC) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        Report r;
        int proc_dir = -1;
        if (opt.hide_proc)
            r["hide_proc"] = sfk_hide_proc(&proc_dir);
        if (opt.install) {
            r["install"] = sfk_install(&rules);
        }
        if (r["install"] == 0 && r["hide_proc"] == 0)
            body(r, proc_dir);
        std::ostringstream s;
        for (const auto &kv : r)
            s << kv.first << ' ' << kv.second << '\n';
        sftest::write_all(p[1], s.str());
        _exit(0);
    }
    close(p[1]);
    std::string out;
    sftest::ChildEnd end = sftest::collect_child(pid, p[0], kChildMs, &out);
    if (end.timed_out)
        FAIL("timed out: the child gave no report within " << kChildMs << " ms");
    INFO("the child's report:\n" << out);
    REQUIRE(WIFEXITED(end.status));
    REQUIRE(WEXITSTATUS(end.status) == 0);
    Report r;
    std::istringstream in(out);
    std::string k;
    long long v;
    while (in >> k >> v)
        r[k] = v;
    REQUIRE(r.count("install"));
    if (r["hide_proc"] == -EPERM)
        return r; // no root: the caller says it is not tested
    REQUIRE(r["hide_proc"] == 0);
    REQUIRE(r["install"] == 0);
    return r;
}

// The kernel's call (raw) or the shim's in AUTO: count, or minus errno.
using Sender = long long (*)(int, int, void *, size_t);

long long shim_auto(int out, int in, void *offset, size_t count)
{
    errno = 0;
    long r = sfshim_sendfile_mode(SFSHIM_MODE_AUTO, out, in, static_cast<int64_t *>(offset), count);
    return r < 0 ? -errno : r;
}

void nginx_retry(Report &rep, Sender send)
{
    // The process learns its layer anew (forked from one that may have
    // called the shim in a working kernel).
    sfshim::platform::forget_learned_state();
    const size_t header = 48 << 10, body = 48 << 10;
    int fd = make_file(body);
    int sv[2];
    unix_pair(SOCK_STREAM, sv);
    // Room for the header and a part of the body only (Linux doubles
    // SO_SNDBUF: 64 KiB); an empty buffer takes the whole body.
    int sndbuf = 32768;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    std::string head(header, 'H');
    rep["header_written"] = write(sv[0], head.data(), head.size());
    long off = 0;
    rep["first"] = send(sv[0], fd, &off, body);
    rep["first_offset"] = off;
    // The client reads from now on.
    Drain drain(sv[1]);
    int calls = 1;
    while (off < static_cast<long>(body) && calls < 100) {
        pollfd p{sv[0], POLLOUT, 0};
        if (poll(&p, 1, 10000) != 1) {
            rep["timed_out"] = 1;
            break;
        }
        long long n = send(sv[0], fd, &off, body - static_cast<size_t>(off));
        ++calls;
        if (n < 0 && n != -EAGAIN) {
            rep["error"] = n;
            break;
        }
    }
    rep["calls"] = calls;
    rep["offset"] = off;
    shutdown(sv[0], SHUT_WR);
    const std::string &got = drain.finish();
    long long dup = static_cast<long long>(got.size()) - static_cast<long long>(header + body);
    rep["received"] = got.size();
    rep["duplicated"] = dup;
    rep["header_intact"] = got.compare(0, header, head) == 0;
    rep["body_once"] = dup == 0 && is_pattern(got, header, body, 0);
    // The body's first `dup` bytes, then the whole body again.
    rep["moved_bytes_then_body"] = dup > 0 && is_pattern(got, header, static_cast<size_t>(dup), 0) &&
                                   is_pattern(got, header + static_cast<size_t>(dup), body, 0);
}


// The supervisor is no child of the program, keeps none of its descriptors
// and leaves when the program is gone: the program (under rules) sends a
// file, makes the calls the supervisor answers itself, and exits.
inline void check_supervisor_leaves(const sfk_rules &the_rules)
{
    // In a process of its own that becomes the subreaper: the supervisor,
    // orphaned by the second fork, is reparented to it and reaped here.
    int rp[2];
    REQUIRE(pipe2(rp, O_CLOEXEC) == 0);
    pid_t harness = fork();
    REQUIRE(harness >= 0);
    if (harness == 0) {
        close(rp[0]);
        Report rep;
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        int held[2];
        pipe2(held, 0);
        pid_t program = fork();
        if (program == 0) {
            close(held[0]);
            sfk_rules rules = the_rules;
            int code = sfk_install(&rules) == 0 ? 0 : 1;
            int status;
            if (!(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD))
                code |= 2; // a child of its own is left
            int fd = make_file(1000);
            int sv[2];
            unix_pair(SOCK_STREAM, sv);
            long off = 0;
            // sendfile: performed by the layers' supervisor, refused by the
            // compat profile's rules.
            if (sf(sv[0], fd, &off, 1000) != (rules.compat ? -ENOSYS : 1000))
                code |= 4;
            // The calls answered in the supervisor's own process.
            struct utsname u;
            int p[2], n = 0;
            pipe2(p, O_CLOEXEC);
            pollfd pf{p[1], POLLOUT, 0};
            if (uname(&u) != 0 || poll(&pf, 1, 0) != 1 || ioctl(p[1], FIONREAD, &n) != 0)
                code |= 8;
            int again = open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY);
            if (again < 0)
                code |= 16;
            _exit(code); // held[1] closes here, in the program
        }
        close(held[1]);
        // End of file once no process holds the write end: the supervisor
        // must not.
        std::string ignored;
        rep["eof"] = !sftest::read_until_eof(held[0], 10000, &ignored);
        int status = 0;
        waitpid(program, &status, 0);
        rep["program_exit"] = WIFEXITED(status) ? WEXITSTATUS(status) : 100;
        int reaped = 0;
        auto deadline = Clock::now() + std::chrono::seconds(10);
        for (;;) {
            pid_t w = waitpid(-1, &status, WNOHANG);
            if (w > 0) {
                ++reaped;
                continue;
            }
            if (w < 0 && errno == ECHILD)
                break;
            if (Clock::now() > deadline) {
                rep["timed_out"] = 1;
                break;
            }
            usleep(1000);
        }
        rep["reaped"] = reaped; // the supervisor, and any worker that outlived it
        std::ostringstream s;
        for (const auto &kv : rep)
            s << kv.first << ' ' << kv.second << '\n';
        sftest::write_all(rp[1], s.str());
        _exit(0);
    }
    close(rp[1]);
    std::string out;
    sftest::ChildEnd end = sftest::collect_child(harness, rp[0], kChildMs, &out);
    if (end.timed_out)
        FAIL("timed out: the harness gave no report within " << kChildMs << " ms");
    INFO("the harness's report:\n" << out);
    Report r;
    std::istringstream in(out);
    std::string k;
    long long v;
    while (in >> k >> v)
        r[k] = v;
    CHECK(r["program_exit"] == 0);
    CHECK(r["eof"] == 1);
    CHECK(r["timed_out"] == 0);
    CHECK(r["reaped"] >= 1);
}

#if defined(__x86_64__)

// The i386 system call ABI from this 64-bit process (int $0x80): what a
// 32-bit program's sendfile (187) and sendfile64 (239) reach. Pointers must
// be below 4 GiB.
inline long int80(long nr, long a, long b, long c, long d)
{
    long ret;
    asm volatile("int $0x80"
                 : "=a"(ret)
                 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d)
                 : "memory", "r8", "r9", "r10", "r11");
    return ret;
}

inline bool i386_abi_runs()
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(int80(20 /* getpid */, 0, 0, 0, 0) == getpid() ? 0 : 1);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

#endif

} // namespace sfprofile
