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
#include <pthread.h>
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

// A Unix stream pair whose sv[0] has room for a part of a large send only
// (Linux doubles SO_SNDBUF: 64 KiB), so that a call fills it while nobody
// reads: EAGAIN when non-blocking, a wait for room when not.
void small_buffer_pair(int sv[2], bool nonblocking)
{
    unix_pair(SOCK_STREAM, sv);
    int sndbuf = 32768;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (nonblocking)
        fcntl(sv[0], F_SETFL, O_NONBLOCK);
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

// A report as the parent reads it: "name value" lines.
inline void write_report(int fd, const Report &r)
{
    std::ostringstream s;
    for (const auto &kv : r)
        s << kv.first << ' ' << kv.second << '\n';
    sftest::write_all(fd, s.str());
}

// ---- the test's side --------------------------------------------------

inline Report parse_report(const std::string &out)
{
    Report r;
    std::istringstream in(out);
    std::string k;
    long long v;
    while (in >> k >> v)
        r[k] = v;
    return r;
}

// What the forked child `who` wrote to fd before it ended (*status its
// wait status); fails the test when it is not over within kChildMs, so that
// a child stuck in a call cannot hang the program.
inline std::string child_report(pid_t pid, int fd, const char *who, int *status)
{
    std::string out;
    sftest::ChildEnd end = sftest::collect_child(pid, fd, kChildMs, &out);
    if (end.timed_out)
        FAIL("timed out: " << who << " gave no report within " << kChildMs << " ms");
    *status = end.status;
    return out;
}

// Forks a child that reports through a pipe: in the child (0 returned)
// *report_fd is the pipe's write end, in the parent its read end.
inline pid_t fork_reporting(int *report_fd)
{
    int p[2];
    REQUIRE(pipe2(p, O_CLOEXEC) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    close(pid == 0 ? p[0] : p[1]);
    *report_fd = pid == 0 ? p[1] : p[0];
    return pid;
}

// No rules but a sendfile errno: Linux's own answer to every other call,
// the control a layer's difference is told from.
inline sfk_rules linux_itself()
{
    sfk_rules bare{};
    bare.sendfile_errno = ENOSYS;
    return bare;
}

struct Options {
    bool hide_proc = false;  // sfk_hide_proc before the profile
    bool install = true;     // install the profile (false: the body does)
};

// Runs body in a forked child under the profile of rules and returns its
// report; fails the test when the child does not report in time.
Report in_profile(const sfk_rules &rules, const std::function<void(Report &, int proc_dir)> &body,
                  Options opt = Options())
{
    int report_fd;
    pid_t pid = fork_reporting(&report_fd);
    if (pid == 0) {
        Report r;
        int proc_dir = -1;
        if (opt.hide_proc)
            r["hide_proc"] = sfk_hide_proc(&proc_dir);
        if (opt.install) {
            r["install"] = sfk_install(&rules);
        }
        if (r["install"] == 0 && r["hide_proc"] == 0)
            body(r, proc_dir);
        write_report(report_fd, r);
        _exit(0);
    }
    int status = 0;
    std::string out = child_report(pid, report_fd, "the child", &status);
    INFO("the child's report:\n" << out);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    Report r = parse_report(out);
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

// The sizes nginx_retry writes, which its checks compare against.
constexpr int kRetryHeader = 48 << 10, kRetryBody = 48 << 10;

void nginx_retry(Report &rep, Sender send)
{
    // The process learns its layer anew (forked from one that may have
    // called the shim in a working kernel).
    sfshim::platform::forget_learned_state();
    const size_t header = kRetryHeader, body = kRetryBody;
    int fd = make_file(body);
    int sv[2];
    // Room for the header and a part of the body only; an empty buffer
    // takes the whole body.
    small_buffer_pair(sv, true);
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

// nginx_retry through the shim in AUTO, with the calls it passed to the
// layer's own sendfile (native_calls).
void nginx_retry_through_shim(Report &rep)
{
    sfshim_stats_reset();
    nginx_retry(rep, shim_auto);
    sfshim_stats st;
    sfshim_stats_get(&st);
    rep["native_calls"] = static_cast<long long>(st.native_calls);
}

// The layer's own sendfile under nginx_retry: the first call fails with
// EAGAIN after moving bytes, the offset unmoved, and the retry from there
// sends those bytes again before the whole body.
inline void check_retry_sent_twice(Report &r)
{
    CHECK(r["header_written"] == kRetryHeader);
    CHECK(r["first"] == -EAGAIN);
    CHECK(r["first_offset"] == 0);
    CHECK(r["timed_out"] == 0);
    CHECK(r["error"] == 0);
    CHECK(r["offset"] == kRetryBody);
    CHECK(r["header_intact"] == 1);
    CHECK(r["duplicated"] > 0);
    CHECK(r["moved_bytes_then_body"] == 1);
}

// The shim under nginx_retry: the whole body arrives once, no call reached
// the layer's sendfile.
inline void check_retry_sent_once(Report &r)
{
    CHECK(r["timed_out"] == 0);
    CHECK(r["error"] == 0);
    CHECK(r["offset"] == kRetryBody);
    CHECK(r["duplicated"] == 0);
    CHECK(r["body_once"] == 1);
    CHECK(r["native_calls"] == 0);
}

// ... and its first call gave Linux's partial count, the offset moved by
// it, behind a header that arrived whole.
inline void check_retry_first_partial(Report &r)
{
    CHECK(r["first"] > 0);
    CHECK(r["first"] < kRetryBody);
    CHECK(r["first_offset"] == r["first"]);
    CHECK(r["header_intact"] == 1);
}

// Sends count bytes of fd (from *off, or from its position when off is
// NULL) into out while peer is read, then reports the result, the offset,
// the file position and whether what arrived is the file from `from` on.
void send_and_read(Report &rep, int out, int peer, int fd, long *off, size_t count, size_t from)
{
    Drain drain(peer);
    rep["r"] = sf(out, fd, off, count);
    if (off)
        rep["offset"] = *off;
    rep["position"] = lseek(fd, 0, SEEK_CUR);
    shutdown(out, SHUT_WR);
    const std::string &got = drain.finish();
    rep["received"] = got.size();
    rep["bytes_match"] = is_pattern(got, 0, got.size(), from);
}

// 150000 bytes of a 200000-byte file from offset 1000 into a Unix stream
// socket that is read, as send_and_read reports them.
void send_to_unix_socket(Report &rep)
{
    int fd = make_file(200000);
    int sv[2];
    unix_pair(SOCK_STREAM, sv);
    long off = 1000;
    send_and_read(rep, sv[0], sv[1], fd, &off, 150000, 1000);
}

// ... all arrived, the count returned and *offset advanced, the file
// position left alone.
inline void check_sent_to_unix_socket(Report &r)
{
    CHECK(r["r"] == 150000);
    CHECK(r["offset"] == 151000);
    CHECK(r["position"] == 0);
    CHECK(r["received"] == 150000);
    CHECK(r["bytes_match"] == 1);
}

// One call for count bytes of fd into sv[0] (a small_buffer_pair) that
// nobody reads; reports under prefix k its result, how much arrived and
// whether it is the file from 0.
void send_into_full(Report &rep, const std::string &k, int sv[2], int fd, long *off, size_t count)
{
    rep[k + "r"] = sf(sv[0], fd, off, count);
    std::string got = drain_now(sv[1]);
    rep[k + "received"] = got.size();
    rep[k + "bytes_match"] = is_pattern(got, 0, got.size(), 0);
}

// A non-blocking send of 1 MiB that filled the socket: -1 EAGAIN with
// the bytes that fitted sent (the file's first), the offset unmoved.
inline void check_eagain_with_bytes_sent(Report &r)
{
    CHECK(r["r"] == -EAGAIN);
    CHECK(r["offset"] == 0);
    CHECK(r["received"] > 0);
    CHECK(r["received"] < 1 << 20);
    CHECK(r["bytes_match"] == 1);
}

// A blocking socket whose reader has stalled; SIGUSR1 (handled with
// sa_flags) from another thread once the call waits for room. Reports the
// call's result, the offset, the handler's runs and what went out.
void signal_while_waiting(Report &rep, int proc_dir, int sa_flags, bool shim = false)
{
    sfshim::platform::forget_learned_state();
    handle(SIGUSR1, sa_flags);
    const size_t size = 4 << 20;
    int fd = make_file(size);
    int sv[2];
    small_buffer_pair(sv, false);
    long tid = gettid_();
    pthread_t self = pthread_self();
    std::thread signaller([&] {
        rep["blocked"] = wait_until_blocked(proc_dir, tid, sv[0], shim);
        pthread_kill(self, SIGUSR1);
    });
    long off = 0;
    rep["r"] = shim ? shim_auto(sv[0], fd, &off, size) : sf(sv[0], fd, &off, size);
    signaller.join();
    rep["offset"] = off;
    rep["handled"] = g_signals.load();
    std::string got = drain_now(sv[1]);
    rep["received"] = got.size();
    rep["bytes_match"] = is_pattern(got, 0, got.size(), 0);
}

// The layer's answer to that signal: -1 EINTR, the bytes sent before it
// lost to the program (the offset unmoved).
inline void check_eintr_with_bytes_sent(Report &r)
{
    INFO("blocked: the call was seen waiting for room before the signal");
    REQUIRE(r["blocked"] == 1);
    CHECK(r["r"] == -EINTR);
    CHECK(r["offset"] == 0);
    CHECK(r["handled"] == 1);
    CHECK(r["received"] > 0);
    CHECK(r["bytes_match"] == 1);
}

// The raw rt_sigprocmask (the kernel's sigset size): 0, or minus its errno.
long long raw_sigprocmask(long how, const void *set, void *old = nullptr)
{
    errno = 0;
    long r = syscall(SYS_rt_sigprocmask, how, set, old, 8);
    return r < 0 ? -errno : r;
}

// A hash of a NUL-terminated name, for a report's numbers.
inline long long name_hash(const char *s)
{
    unsigned h = 0;
    for (; *s; ++s)
        h = h * 31 + static_cast<unsigned char>(*s);
    return static_cast<long long>(h);
}

// uname outside the profile, what the layer's answers are compared with.
inline struct utsname host_uname()
{
    struct utsname here;
    REQUIRE(uname(&here) == 0);
    return here;
}

// In the child: uname's result ("r"), whether sysname is "Linux" (under
// sysname_key) and the host name's hash ("nodename_hash"); *u the answer.
void report_uname(Report &rep, struct utsname *u, const char *sysname_key)
{
    rep["r"] = uname(u);
    rep[sysname_key] = std::strcmp(u->sysname, "Linux") == 0;
    rep["nodename_hash"] = name_hash(u->nodename);
}

// Every layer's uname answers, says "Linux" and keeps the host's name.
inline void check_uname_linux(Report &r, const char *sysname_key, const struct utsname &here)
{
    CHECK(r["r"] == 0);
    CHECK(r[sysname_key] == 1);
    CHECK(r["nodename_hash"] == name_hash(here.nodename));
}


// The supervisor is no child of the program, keeps none of its descriptors
// and leaves when the program is gone: the program (under rules) sends a
// file, makes the calls the supervisor answers itself, and exits.
inline void check_supervisor_leaves(const sfk_rules &the_rules)
{
    // In a process of its own that becomes the subreaper: the supervisor,
    // orphaned by the second fork, is reparented to it and reaped here.
    int report_fd;
    pid_t harness = fork_reporting(&report_fd);
    if (harness == 0) {
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
        write_report(report_fd, rep);
        _exit(0);
    }
    int status = 0;
    std::string out = child_report(harness, report_fd, "the harness", &status);
    INFO("the harness's report:\n" << out);
    Report r = parse_report(out);
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
