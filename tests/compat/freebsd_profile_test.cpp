// SPDX-License-Identifier: BSD-2-Clause
//
// The freebsd kernel profile (toolchain/kernel_profile.c) against the text
// of FreeBSD's linuxulator: sys/compat/linux/linux_socket.c (linux_sendfile,
// linux_sendfile64, linux_sendfile_common) and sys/kern/kern_sendfile.c
// (vn_sendfile, sendfile_getobj, sendfile_getsock, sendfile_wait_generic).
// Each case runs in a forked child that installs the profile and calls the
// raw sendfile syscall; the shim is not involved. The child reports numbers
// ("name value" lines) through a pipe; a call's result is its count, or
// minus its errno.
#include <catch2/catch.hpp>

#include <sfshim/sfshim.h>

#include "platform/platform.h" // forget_learned_state

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "io.h"
#include "kernel_profile.h"
#include "profile_harness.h"


namespace {

using namespace sfprofile;

sfk_rules freebsd_rules()
{
    sfk_rules rules{};
    rules.freebsd = 1;
    return rules;
}

// Runs body in a forked child under the freebsd profile.
Report in_profile(const std::function<void(Report &, int proc_dir)> &body, Options opt = Options())
{
    return sfprofile::in_profile(freebsd_rules(), body, opt);
}

// The same with uname answering as Linux's does (real_uname).
Report in_profile_real_uname(const std::function<void(Report &, int proc_dir)> &body)
{
    sfk_rules rules = freebsd_rules();
    rules.real_uname = 1;
    return sfprofile::in_profile(rules, body);
}

} // namespace

TEST_CASE("count 0 gives EINVAL, after the input's checks and before the output's", "[args]")
{
    Report r = in_profile([](Report &rep, int) {
        int fd = make_file(1000);
        int sv[2], pp[2];
        unix_pair(SOCK_STREAM, sv);
        pipe2(pp, O_CLOEXEC);
        long off = 0;
        rep["count0"] = sf(sv[0], fd, &off, 0);
        rep["count0_null_offset"] = sf(sv[0], fd, nullptr, 0);
        rep["count0_bad_in"] = sf(sv[0], 999, &off, 0);      // fget_read first: EBADF
        rep["count0_pipe_in"] = sf(sv[0], pp[0], nullptr, 0); // then ESPIPE
        rep["count0_bad_out"] = sf(999, fd, &off, 0);        // out is looked at after count
        rep["count0_pipe_out"] = sf(pp[1], fd, &off, 0);
        rep["nothing_sent"] = drain_now(sv[1]).size();
    });
    CHECK(r["count0"] == -EINVAL);
    CHECK(r["count0_null_offset"] == -EINVAL);
    CHECK(r["count0_bad_in"] == -EBADF);
    CHECK(r["count0_pipe_in"] == -ESPIPE);
    CHECK(r["count0_bad_out"] == -EINVAL);
    CHECK(r["count0_pipe_out"] == -EINVAL);
    CHECK(r["nothing_sent"] == 0);
}

TEST_CASE("a negative offset gives EINVAL", "[args]")
{
    Report r = in_profile([](Report &rep, int) {
        int fd = make_file(1000);
        int sv[2];
        unix_pair(SOCK_STREAM, sv);
        long off = -1;
        rep["minus1"] = sf(sv[0], fd, &off, 10);
        rep["minus1_after"] = off;
        off = LONG_MIN;
        rep["min"] = sf(sv[0], fd, &off, 10);
    });
    CHECK(r["minus1"] == -EINVAL);
    CHECK(r["minus1_after"] == -1);
    CHECK(r["min"] == -EINVAL);
}

TEST_CASE("out_fd must be a connected stream socket: EINVAL for the other kinds, ENOTCONN unconnected", "[args]")
{
    Report r = in_profile([](Report &rep, int) {
        int fd = make_file(1000);
        long off = 0;
        int pp[2];
        pipe2(pp, O_CLOEXEC);
        rep["pipe"] = sf(pp[1], fd, &off, 10);
        int file_out = make_file(0);
        rep["regular_file"] = sf(file_out, fd, &off, 10);
        int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        rep["udp"] = sf(udp, fd, &off, 10);
        int dg[2], sp[2];
        unix_pair(SOCK_DGRAM, dg);
        rep["unix_dgram"] = sf(dg[0], fd, &off, 10);
        unix_pair(SOCK_SEQPACKET, sp);
        rep["unix_seqpacket"] = sf(sp[0], fd, &off, 10);
        rep["no_descriptor"] = sf(999, fd, &off, 10);
        int lone = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        rep["unconnected"] = sf(lone, fd, &off, 10);
        int tcp_listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(tcp_listener, reinterpret_cast<sockaddr *>(&a), sizeof a);
        listen(tcp_listener, 1);
        rep["listening"] = sf(tcp_listener, fd, &off, 10);
        // At the end of the file vn_sendfile's loop does not run, and the
        // socket's state is never asked.
        off = 1000;
        rep["unconnected_at_eof"] = sf(lone, fd, &off, 10);
        rep["offset_after"] = off;
    });
    CHECK(r["pipe"] == -EINVAL);
    CHECK(r["regular_file"] == -EINVAL);
    CHECK(r["udp"] == -EINVAL);
    CHECK(r["unix_dgram"] == -EINVAL);
    CHECK(r["unix_seqpacket"] == -EINVAL);
    CHECK(r["no_descriptor"] == -EBADF);
    CHECK(r["unconnected"] == -ENOTCONN);
    CHECK(r["listening"] == -ENOTCONN);
    CHECK(r["unconnected_at_eof"] == 0);
    CHECK(r["offset_after"] == 1000);
}

TEST_CASE("in_fd: ESPIPE for a pipe or socket without an offset, EINVAL with one or for non-files, EBADF "
          "unreadable",
          "[args]")
{
    Report r = in_profile([](Report &rep, int) {
        int sv[2], other[2], pp[2];
        unix_pair(SOCK_STREAM, sv);
        unix_pair(SOCK_STREAM, other);
        pipe2(pp, O_CLOEXEC);
        long off = 0;
        rep["pipe_null"] = sf(sv[0], pp[0], nullptr, 10);
        rep["pipe_offset"] = sf(sv[0], pp[0], &off, 10);
        rep["socket_null"] = sf(sv[0], other[0], nullptr, 10);
        rep["socket_offset"] = sf(sv[0], other[0], &off, 10);
        rep["pipe_write_end"] = sf(sv[0], pp[1], &off, 10); // not open for reading
        std::string path = std::string(SFSHIM_COMPAT_SCRATCH_DIR) + "/freebsd-profile-wronly";
        int wronly = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        sftest::write_all(wronly, "0123456789");
        rep["write_only"] = sf(sv[0], wronly, &off, 10);
        int opath = open(path.c_str(), O_PATH | O_CLOEXEC);
        rep["o_path"] = sf(sv[0], opath, &off, 10);
        unlink(path.c_str());
        int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        rep["directory"] = sf(sv[0], dir, &off, 10);
        rep["directory_null"] = sf(sv[0], dir, nullptr, 10);
        int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        rep["dev_zero"] = sf(sv[0], zero, &off, 10);
        int status = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        rep["proc_file"] = status < 0 ? 1 : sf(sv[0], status, &off, 10);
        rep["no_descriptor"] = sf(sv[0], 999, &off, 10);
        rep["nothing_sent"] = drain_now(sv[1]).size();
    });
    CHECK(r["pipe_null"] == -ESPIPE);
    CHECK(r["pipe_offset"] == -EINVAL);
    CHECK(r["socket_null"] == -ESPIPE);
    CHECK(r["socket_offset"] == -EINVAL);
    CHECK(r["pipe_write_end"] == -EBADF);
    CHECK(r["write_only"] == -EBADF);
    CHECK(r["o_path"] == -EBADF);
    CHECK(r["directory"] == -EINVAL);
    CHECK(r["directory_null"] == -EINVAL);
    CHECK(r["dev_zero"] == -EINVAL);
    CHECK(r["proc_file"] == -EINVAL); // linprocfs: a pseudofs vnode without a VM object
    CHECK(r["no_descriptor"] == -EBADF);
    CHECK(r["nothing_sent"] == 0);
}

TEST_CASE("into a Unix stream socket the bytes arrive, the count is returned and *offset advances", "[data]")
{
    Report r = in_profile([](Report &rep, int) { send_to_unix_socket(rep); });
    check_sent_to_unix_socket(r);
}

TEST_CASE("into a TCP socket the bytes arrive, the count is returned and *offset advances", "[data]")
{
    Report r = in_profile([](Report &rep, int) {
        const size_t size = 3 << 20;
        int fd = make_file(size);
        int sv[2];
        rep["tcp"] = tcp_pair(sv);
        long off = 0;
        send_and_read(rep, sv[0], sv[1], fd, &off, size, 0);
    });
    REQUIRE(r["tcp"] == 1);
    CHECK(r["r"] == 3 << 20);
    CHECK(r["offset"] == 3 << 20);
    CHECK(r["received"] == 3 << 20);
    CHECK(r["bytes_match"] == 1);
}

TEST_CASE("with a NULL offset the file position advances by the count", "[data]")
{
    Report r = in_profile([](Report &rep, int) {
        int fd = make_file(100000);
        int sv[2];
        unix_pair(SOCK_STREAM, sv);
        lseek(fd, 5000, SEEK_SET);
        send_and_read(rep, sv[0], sv[1], fd, nullptr, 10000, 5000);
    });
    CHECK(r["r"] == 10000);
    CHECK(r["position"] == 15000);
    CHECK(r["received"] == 10000);
    CHECK(r["bytes_match"] == 1);
}

TEST_CASE("the end of the file gives a short count, and 0 at or past it", "[data]")
{
    Report r = in_profile([](Report &rep, int) {
        int fd = make_file(1000);
        int sv[2];
        unix_pair(SOCK_STREAM, sv);
        long off = 900;
        rep["short"] = sf(sv[0], fd, &off, 500);
        rep["short_offset"] = off;
        rep["at_end"] = sf(sv[0], fd, &off, 500);
        rep["at_end_offset"] = off;
        off = 5000;
        rep["past_end"] = sf(sv[0], fd, &off, 500);
        rep["past_end_offset"] = off;
        // A count of 2^63 or more is negative in omin(nbytes, ...): no round.
        // (A 64-bit l_size_t only.)
        off = 0;
        rep["huge_count"] = sizeof(size_t) == 8 ? sf(sv[0], fd, &off, (SIZE_MAX >> 1) + 1) : 0;
        std::string got = drain_now(sv[1]);
        rep["received"] = got.size();
        rep["bytes_match"] = is_pattern(got, 0, 100, 900);
    });
    CHECK(r["short"] == 100);
    CHECK(r["short_offset"] == 1000);
    CHECK(r["at_end"] == 0);
    CHECK(r["at_end_offset"] == 1000);
    CHECK(r["past_end"] == 0);
    CHECK(r["past_end_offset"] == 5000);
    CHECK(r["huge_count"] == 0);
    CHECK(r["received"] == 100);
    CHECK(r["bytes_match"] == 1);
}

TEST_CASE("an unreadable offset pointer gives EFAULT first, a read-only one EFAULT after the bytes went out",
          "[args]")
{
    Report r = in_profile([](Report &rep, int) {
        int fd = make_file(1000);
        int sv[2];
        unix_pair(SOCK_STREAM, sv);
        // copyin comes before any descriptor is looked at.
        rep["unmapped_bad_fds"] = sf(999, 998, reinterpret_cast<void *>(8), 10);
        rep["unmapped"] = sf(sv[0], fd, reinterpret_cast<void *>(8), 10);
        // copyout after the move: readable, not writable.
        void *page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        long *off = static_cast<long *>(page);
        *off = 100;
        mprotect(page, 4096, PROT_READ);
        rep["read_only"] = sf(sv[0], fd, off, 10);
        rep["read_only_offset"] = *off;
        std::string got = drain_now(sv[1]);
        rep["received"] = got.size();
        rep["bytes_match"] = is_pattern(got, 0, 10, 100);
    });
    CHECK(r["unmapped_bad_fds"] == -EFAULT);
    CHECK(r["unmapped"] == -EFAULT);
    CHECK(r["read_only"] == -EFAULT);
    CHECK(r["read_only_offset"] == 100);
    CHECK(r["received"] == 10);
    CHECK(r["bytes_match"] == 1);
}

TEST_CASE("a memfd is sent like a file (FreeBSD's shared memory object)", "[data]")
{
    Report r = in_profile([](Report &rep, int) {
        int mfd = static_cast<int>(syscall(SYS_memfd_create, "freebsd-profile", 0));
        std::string data(50000, '\0');
        for (size_t i = 0; i < data.size(); ++i)
            data[i] = static_cast<char>(pattern(i));
        sftest::write_all(mfd, data);
        int sv[2];
        unix_pair(SOCK_STREAM, sv);
        long off = 10;
        send_and_read(rep, sv[0], sv[1], mfd, &off, 40000, 10);
    });
    CHECK(r["r"] == 40000);
    CHECK(r["offset"] == 40010);
    CHECK(r["received"] == 40000);
    CHECK(r["bytes_match"] == 1);
}

TEST_CASE("a closed or reset peer gives EPIPE, and no SIGPIPE", "[peers]")
{
    Report r = in_profile([](Report &rep, int) {
        handle(SIGPIPE, 0);
        int fd = make_file(100000);
        int sv[2];
        unix_pair(SOCK_STREAM, sv);
        close(sv[1]);
        long off = 0;
        rep["unix_closed"] = sf(sv[0], fd, &off, 1000);
        rep["unix_offset"] = off;
        int tv[2];
        rep["tcp"] = tcp_pair(tv);
        linger lg{1, 0};
        setsockopt(tv[1], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(tv[1]); // a reset
        pollfd p{tv[0], POLLRDHUP, 0};
        auto deadline = Clock::now() + std::chrono::seconds(10);
        while (poll(&p, 1, 100) == 0 && Clock::now() < deadline) {
        }
        rep["reset_seen"] = (p.revents & (POLLRDHUP | POLLERR | POLLHUP)) != 0;
        rep["tcp_reset"] = sf(tv[0], fd, &off, 1000);
        int lone[2];
        unix_pair(SOCK_STREAM, lone);
        shutdown(lone[0], SHUT_WR);
        rep["shut_down"] = sf(lone[0], fd, &off, 1000);
        rep["sigpipes"] = g_signals.load();
    });
    CHECK(r["unix_closed"] == -EPIPE);
    CHECK(r["unix_offset"] == 0);
    REQUIRE(r["tcp"] == 1);
    REQUIRE(r["reset_seen"] == 1);
    CHECK(r["tcp_reset"] == -EPIPE);
    CHECK(r["shut_down"] == -EPIPE);
    CHECK(r["sigpipes"] == 0);
}

TEST_CASE("a non-blocking socket that fills after N bytes gives -1 EAGAIN with the N bytes sent and the offset "
          "unmoved",
          "[eagain]")
{
    Report r = in_profile([](Report &rep, int) {
        const size_t size = 1 << 20;
        int fd = make_file(size);
        int sv[2];
        small_buffer_pair(sv, true);
        long off = 0;
        send_into_full(rep, "", sv, fd, &off, size);
        rep["offset"] = off;
        // The same through the file position: it stays where it was.
        send_into_full(rep, "null_", sv, fd, nullptr, size);
        rep["null_position"] = lseek(fd, 0, SEEK_CUR);
    });
    check_eagain_with_bytes_sent(r);
    CHECK(r["null_r"] == -EAGAIN);
    CHECK(r["null_position"] == 0);
    CHECK(r["null_received"] > 0);
    CHECK(r["null_bytes_match"] == 1);
}

// What an event-loop server does with that EAGAIN (nginx's
// ngx_linux_sendfile_chain: the header written, the body by sendfile, on
// EAGAIN wait for the socket to be writable and send from the same offset
// again): the bytes the failed call moved go out twice. The negative
// control for the shim's fix, which must not let this happen
// (profile_harness.h, nginx_retry).

TEST_CASE("negative control: an nginx-style retry after that EAGAIN sends the moved bytes twice", "[eagain]")
{
    Report r = in_profile([](Report &rep, int) { nginx_retry(rep, sf); });
    check_retry_sent_twice(r);
}

// The shim in AUTO on this layer passes no call to its sendfile (it refuses
// count 0: platform::native_sendfile_keeps_counts) and emulates each one
// with Linux's partial count: the same retry sends every byte once.
TEST_CASE("through the shim in auto the same nginx-style retry sends every byte once", "[eagain][shim]")
{
    Report r = in_profile([](Report &rep, int) { nginx_retry_through_shim(rep); });
    CHECK(r["header_written"] == kRetryHeader);
    check_retry_first_partial(r);
    check_retry_sent_once(r);
}

TEST_CASE("a signal while a blocking call waits for room gives -1 EINTR with the bytes sent", "[signals]")
{
    Report r = in_profile([](Report &rep, int proc_dir) { signal_while_waiting(rep, proc_dir, 0); });
    check_eintr_with_bytes_sent(r);
}

TEST_CASE("under SA_RESTART the call still gives EINTR (vn_sendfile turns ERESTART into EINTR)", "[signals]")
{
    Report r = in_profile([](Report &rep, int proc_dir) { signal_while_waiting(rep, proc_dir, SA_RESTART); });
    check_eintr_with_bytes_sent(r);
}

// Through the shim in AUTO: Linux's answer, the partial count of what went
// out (with or without SA_RESTART), never EINTR with bytes lost.
TEST_CASE("through the shim in auto a signal after progress gives Linux's partial count", "[signals][shim]")
{
    for (int flags : {0, SA_RESTART}) {
        Report r = in_profile([flags](Report &rep, int proc_dir) {
            signal_while_waiting(rep, proc_dir, flags, true);
        });
        INFO("sa_flags " << flags);
        CHECK(r["blocked"] == 1);
        CHECK(r["r"] > 0);
        CHECK(r["r"] < 4 << 20);
        CHECK(r["offset"] == r["r"]);
        CHECK(r["received"] == r["r"]);
        CHECK(r["bytes_match"] == 1);
        CHECK(r["handled"] == 1);
    }
}

TEST_CASE("without /proc, Linux's own interruption: EINTR without SA_RESTART, a restart with it", "[signals]")
{
    Options opt;
    opt.hide_proc = true;
    Report r = in_profile([](Report &rep, int proc_dir) { signal_while_waiting(rep, proc_dir, 0); }, opt);
    if (r["hide_proc"] == -EPERM) {
        WARN("covering /proc needs root (CAP_SYS_ADMIN): not tested");
        return;
    }
    check_eintr_with_bytes_sent(r);

    // The limit of that mode: the handler's SA_RESTART restarts the call
    // from the same offset, and the first attempt's bytes go out twice
    // without the program seeing EINTR.
    Report s = in_profile(
        [](Report &rep, int proc_dir) {
            handle(SIGUSR1, SA_RESTART);
            const size_t size = 1 << 20;
            int fd = make_file(size);
            int sv[2];
            small_buffer_pair(sv, false);
            long tid = gettid_();
            pthread_t self = pthread_self();
            std::string got;
            std::thread helper([&] {
                rep["blocked"] = wait_until_blocked(proc_dir, tid, sv[0]);
                pthread_kill(self, SIGUSR1);
                auto deadline = Clock::now() + std::chrono::seconds(10);
                while (g_signals.load() == 0 && Clock::now() < deadline)
                    usleep(1000);
                char buf[1 << 16];
                for (;;) {
                    ssize_t n = read(sv[1], buf, sizeof buf);
                    if (n > 0)
                        got.append(buf, static_cast<size_t>(n));
                    else if (!(n < 0 && errno == EINTR))
                        break;
                }
            });
            long off = 0;
            rep["r"] = sf(sv[0], fd, &off, size);
            rep["offset"] = off;
            shutdown(sv[0], SHUT_WR);
            helper.join();
            long long dup = static_cast<long long>(got.size()) - static_cast<long long>(size);
            rep["handled"] = g_signals.load();
            rep["duplicated"] = dup;
            rep["first_bytes_then_file"] = dup > 0 && is_pattern(got, 0, static_cast<size_t>(dup), 0) &&
                                           is_pattern(got, static_cast<size_t>(dup), size, 0);
        },
        opt);
    REQUIRE(s["blocked"] == 1);
    CHECK(s["r"] == 1 << 20);
    CHECK(s["offset"] == 1 << 20);
    CHECK(s["handled"] == 1);
    CHECK(s["duplicated"] > 0);
    CHECK(s["first_bytes_then_file"] == 1);
}

TEST_CASE("the calls FreeBSD's layer lacks fail as there: ENOSYS for the DUMMY stubs, EINVAL for splice and pipe "
          "sizes",
          "[refusals]")
{
    Report r = in_profile([](Report &rep, int) {
        auto res = [](long v) { return v < 0 ? -static_cast<long long>(errno) : v; };
        char a[8] = {0}, b[8] = {0};
        iovec local{a, sizeof a}, remote{b, sizeof b};
        rep["process_vm_readv"] = res(syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0));
        rep["process_vm_writev"] = res(syscall(SYS_process_vm_writev, getpid(), &local, 1, &remote, 1, 0));
        int p[2], q[2];
        pipe2(p, O_CLOEXEC);
        pipe2(q, O_CLOEXEC);
        sftest::write_all(p[1], "0123456789");
        rep["tee"] = res(syscall(SYS_tee, p[0], q[1], 10, 0));
        rep["vmsplice"] = res(syscall(SYS_vmsplice, q[1], &local, 1, 0));
        rep["splice"] = res(syscall(SYS_splice, p[0], nullptr, q[1], nullptr, 10, 0));
        rep["getpipe_sz"] = res(fcntl(p[0], F_GETPIPE_SZ));
        rep["setpipe_sz"] = res(fcntl(p[0], F_SETPIPE_SZ, 1 << 20));
        rep["pidfd_open"] = res(syscall(SYS_pidfd_open, getpid(), 0));
        rep["preadv2"] = res(syscall(SYS_preadv2, p[0], &local, 1, -1, 0, 0));
        rep["io_uring_setup"] = res(syscall(SYS_io_uring_setup, 1, a));
        // linux_copy_file_range is real there.
        int from = make_file(1000), to = make_file(0);
        rep["copy_file_range"] = res(syscall(SYS_copy_file_range, from, nullptr, to, nullptr, 100, 0));
        rep["fcntl_getfl"] = res(fcntl(p[0], F_GETFL)) >= 0;
    });
    CHECK(r["process_vm_readv"] == -ENOSYS);
    CHECK(r["process_vm_writev"] == -ENOSYS);
    CHECK(r["tee"] == -ENOSYS);
    CHECK(r["vmsplice"] == -ENOSYS);
    CHECK(r["splice"] == -EINVAL);
    CHECK(r["getpipe_sz"] == -EINVAL);
    CHECK(r["setpipe_sz"] == -EINVAL);
    CHECK(r["pidfd_open"] == -ENOSYS);
    CHECK(r["preadv2"] == -ENOSYS);
    CHECK(r["io_uring_setup"] == -ENOSYS);
    CHECK(r["copy_file_range"] == 100);
    CHECK(r["fcntl_getfl"] == 1);
}

TEST_CASE("the profile refuses to be mixed with another's rules", "[args]")
{
    Report r = in_profile(
        [](Report &rep, int) {
            sfk_rules rules{};
            rules.freebsd = 1;
            rules.compat = 1;
            rep["with_compat"] = sfk_install(&rules);
            rules.compat = 0;
            rules.sendfile_errno = ENOSYS;
            rep["with_errno"] = sfk_install(&rules);
        },
        Options{false, false});
    CHECK(r["with_compat"] == -EINVAL);
    CHECK(r["with_errno"] == -EINVAL);
}

TEST_CASE("the supervisor is no child of the program, keeps none of its descriptors and leaves when it is gone",
          "[supervisor]")
{
    check_supervisor_leaves(freebsd_rules());
}

#if defined(__x86_64__)

TEST_CASE("an i386 program: sendfile's 32-bit offset, sendfile64, and EOVERFLOW past 2 GiB after the bytes "
          "went out",
          "[i386]")
{
    if (!i386_abi_runs()) {
        WARN("this kernel runs no i386 programs: not tested");
        return;
    }
    Report r = in_profile([](Report &rep, int) {
        char *low = static_cast<char *>(
            mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0));
        // The last 4 bytes of a page before an inaccessible one: enough
        // for sendfile's l_long, not for sendfile64's l_loff_t.
        mprotect(low + 4096, 4096, PROT_NONE);
        int32_t *off32 = reinterpret_cast<int32_t *>(low + 4096 - 4);
        int64_t *off64 = reinterpret_cast<int64_t *>(low + 4096 - 8);
        int32_t *edge64 = off32; // 8 bytes from here cross into the PROT_NONE page
        int sv[2];
        unix_pair(SOCK_STREAM, sv);
        Drain drain(sv[1]);
        int fd = make_file(10000);
        *off32 = 100;
        rep["sendfile32"] = int80(187, sv[0], fd, reinterpret_cast<long>(off32), 1000);
        rep["sendfile32_offset"] = *off32;
        rep["sendfile64_edge"] = int80(239, sv[0], fd, reinterpret_cast<long>(edge64), 1000);
        rep["count0"] = int80(187, sv[0], fd, reinterpret_cast<long>(off32), 0);
        // A sparse file past 2 GiB.
        int big = make_file(0);
        const int64_t two_gib = int64_t{1} << 31;
        rep["sparse"] = ftruncate(big, two_gib + 8192) == 0;
        *off64 = two_gib + 10;
        rep["sendfile64"] = int80(239, sv[0], big, reinterpret_cast<long>(off64), 100);
        rep["sendfile64_offset_past_2g"] = *off64 - two_gib;
        *off32 = INT32_MAX - 99;
        rep["overflow"] = int80(187, sv[0], big, reinterpret_cast<long>(off32), 200);
        rep["overflow_offset_unmoved"] = *off32 == INT32_MAX - 99;
        shutdown(sv[0], SHUT_WR);
        const std::string &got = drain.finish();
        rep["received"] = got.size();
        rep["first_bytes_match"] = is_pattern(got, 0, 1000, 100);
    });
    CHECK(r["sendfile32"] == 1000);
    CHECK(r["sendfile32_offset"] == 1100);
    CHECK(r["sendfile64_edge"] == -EFAULT);
    CHECK(r["count0"] == -EINVAL);
    REQUIRE(r["sparse"] == 1);
    CHECK(r["sendfile64"] == 100);
    CHECK(r["sendfile64_offset_past_2g"] == 110);
    CHECK(r["overflow"] == -EOVERFLOW);
    CHECK(r["overflow_offset_unmoved"] == 1);
    CHECK(r["received"] == 1000 + 100 + 200); // the overflowing call's bytes went out
    CHECK(r["first_bytes_match"] == 1);
}
#endif

// ---- the layer's other calls -------------------------------------------

// linux_signal.c:linux_rt_sigprocmask: "error = linux_copyin_sigset(...);
// if (error != 0) return (EINVAL);" and linux_do_sigprocmask refuses the
// how: EINVAL either way; Linux copies the set first (EFAULT).
TEST_CASE("rt_sigprocmask with an invalid how gives EINVAL without reading the set (Linux: EFAULT)", "[refusals]")
{
    auto body = [](Report &rep, int) {
        sigset_t set;
        sigemptyset(&set);
        rep["bad_how_unmapped"] = raw_sigprocmask(0x7fff, reinterpret_cast<void *>(8));
        rep["bad_how_readable"] = raw_sigprocmask(0x7fff, &set);
        rep["block_readable"] = raw_sigprocmask(SIG_BLOCK, &set);
    };
    Report r = in_profile(body);
    CHECK(r["bad_how_unmapped"] == -EINVAL);
    CHECK(r["bad_how_readable"] == -EINVAL);
    CHECK(r["block_readable"] == 0);
    Report k = sfprofile::in_profile(linux_itself(), body);
    CHECK(k["bad_how_unmapped"] == -EFAULT);
}

namespace {

long long fionread(int fd, void *where)
{
    errno = 0;
    int r = ioctl(fd, FIONREAD, where);
    return r < 0 ? -errno : r;
}

} // namespace

// sys_pipe.c:pipe_ioctl: "case FIONREAD: if (!(fp->f_flag & FREAD)) {
// *(int *)data = 0; ... return (0); }"; FreeBSD's anonymous pipe ends are
// both FREAD | FWRITE (kern_pipe), the write end's count that of the
// buffer its peer writes into: 0 for a Linux program. Linux counts the
// pipe's bytes on either end.
TEST_CASE("FIONREAD on a pipe's or FIFO's write end gives 0 with bytes queued, other descriptors the count",
          "[ioctl]")
{
    auto body = [](Report &rep, int) {
        int p[2];
        pipe2(p, O_CLOEXEC);
        sftest::write_all(p[1], "0123456789");
        int n = -1;
        rep["pipe_write_end_r"] = fionread(p[1], &n);
        rep["pipe_write_end"] = n;
        n = -1;
        rep["pipe_read_end_r"] = fionread(p[0], &n);
        rep["pipe_read_end"] = n;
        rep["write_end_bad_pointer"] = fionread(p[1], reinterpret_cast<void *>(8));
        std::string fifo = std::string(SFSHIM_COMPAT_SCRATCH_DIR) + "/freebsd-profile-fifo";
        mkdir(SFSHIM_COMPAT_SCRATCH_DIR, 0755);
        unlink(fifo.c_str());
        mkfifo(fifo.c_str(), 0600);
        int rw = open(fifo.c_str(), O_RDWR | O_CLOEXEC);
        int wo = open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
        unlink(fifo.c_str());
        sftest::write_all(wo, "abcd");
        n = -1;
        fionread(wo, &n);
        rep["fifo_write_only"] = n;
        n = -1;
        fionread(rw, &n);
        rep["fifo_read_write"] = n;
        int sv[2];
        unix_pair(SOCK_STREAM, sv);
        sftest::write_all(sv[0], "xyz");
        n = -1;
        fionread(sv[1], &n);
        rep["socket"] = n;
        rep["no_descriptor"] = fionread(999, &n);
    };
    Report r = in_profile(body);
    CHECK(r["pipe_write_end_r"] == 0);
    CHECK(r["pipe_write_end"] == 0);
    CHECK(r["pipe_read_end_r"] == 0);
    CHECK(r["pipe_read_end"] == 10);
    CHECK(r["write_end_bad_pointer"] == -EFAULT);
    CHECK(r["fifo_write_only"] == 0);
    CHECK(r["fifo_read_write"] == 4);
    CHECK(r["socket"] == 3);
    CHECK(r["no_descriptor"] == -EBADF);
    // Linux: the pipe's count on its write end too.
    Report k = sfprofile::in_profile(linux_itself(), body);
    CHECK(k["pipe_write_end"] == 10);
    CHECK(k["fifo_write_only"] == 4);
}

namespace {

struct PollResult {
    long long r;
    short revents[3];
};

// poll (or ppoll) of n pollfds, no waiting.
PollResult poll_now(pollfd *fds, int n, bool use_ppoll)
{
    PollResult out{};
    errno = 0;
    timespec zero{0, 0};
    int r = use_ppoll ? ppoll(fds, static_cast<nfds_t>(n), &zero, nullptr) : poll(fds, static_cast<nfds_t>(n), 0);
    out.r = r < 0 ? -errno : r;
    for (int i = 0; i < n && i < 3; ++i)
        out.revents[i] = fds[i].revents;
    return out;
}

} // namespace

// sys_pipe.c:pipe_poll for a write end whose reader is gone: POLLOUT (the
// peer is not PIPE_ACTIVE) and, the reader's close having set PIPE_EOF,
// POLLIN where asked (FREAD) and POLLHUP, unasked; never POLLERR. Linux
// (fs/pipe.c:pipe_poll): POLLOUT and POLLERR.
TEST_CASE("poll of a pipe's write end whose reader is gone gives POLLOUT|POLLHUP, never POLLERR", "[poll]")
{
    auto body = [](Report &rep, int) {
        for (int pp = 0; pp < 2; ++pp) {
            std::string k = pp ? "ppoll_" : "poll_";
            int p[2], live[2], sv[2];
            pipe2(p, O_CLOEXEC);
            pipe2(live, O_CLOEXEC);
            unix_pair(SOCK_STREAM, sv);
            close(p[0]);
            pollfd a[3] = {{p[1], POLLOUT, 0}, {sv[0], POLLIN, 0}, {live[1], POLLOUT, 0}};
            PollResult x = poll_now(a, 3, pp);
            rep[k + "count"] = x.r;
            rep[k + "widowed"] = x.revents[0];
            rep[k + "socket"] = x.revents[1];
            rep[k + "live_pipe"] = x.revents[2];
            pollfd b[1] = {{p[1], POLLIN | POLLOUT, 0}};
            rep[k + "in_out"] = poll_now(b, 1, pp).revents[0];
            pollfd c[1] = {{p[1], 0, 0}};
            rep[k + "no_events"] = poll_now(c, 1, pp).revents[0];
            // Another descriptor closed: POLLNVAL as Linux says it.
            pollfd d[2] = {{p[1], POLLOUT, 0}, {998, POLLIN, 0}};
            PollResult y = poll_now(d, 2, pp);
            rep[k + "nval_count"] = y.r;
            rep[k + "nval"] = y.revents[1];
            // A blocking poll on another descriptor still waits for it.
            int q[2];
            unix_pair(SOCK_STREAM, q);
            std::thread writer([&] {
                usleep(20 * 1000);
                sftest::write_all(q[1], "x");
            });
            pollfd e[1] = {{q[0], POLLIN, 0}};
            timespec ten{10, 0};
            int r = pp ? ppoll(e, 1, &ten, nullptr) : poll(e, 1, 10000);
            writer.join();
            rep[k + "blocking"] = r;
            rep[k + "blocking_revents"] = e[0].revents;
        }
    };
    Report r = in_profile(body);
    for (std::string k : {"poll_", "ppoll_"}) {
        INFO(k);
        CHECK(r[k + "count"] == 2);
        CHECK(r[k + "widowed"] == (POLLOUT | POLLHUP));
        CHECK(r[k + "socket"] == 0);
        CHECK(r[k + "live_pipe"] == POLLOUT);
        CHECK(r[k + "in_out"] == (POLLIN | POLLOUT | POLLHUP));
        CHECK(r[k + "no_events"] == POLLHUP);
        CHECK(r[k + "nval_count"] == 2);
        CHECK(r[k + "nval"] == POLLNVAL);
        CHECK(r[k + "blocking"] == 1);
        CHECK(r[k + "blocking_revents"] == POLLIN);
    }
    // Linux: POLLERR.
    Report k = sfprofile::in_profile(linux_itself(), body);
    CHECK(k["poll_widowed"] == (POLLOUT | POLLERR));
    CHECK(k["poll_no_events"] == POLLERR);
}

namespace {

long long open_(const std::string &path, int flags)
{
    errno = 0;
    int fd = open(path.c_str(), flags);
    return fd < 0 ? -errno : fd;
}

// Opens fd's /proc/self/fd (or /proc/PID/fd) name and reports whether the
// new descriptor shares fd's offset: a seek on it moves fd.
void reopen(Report &rep, const std::string &k, const std::string &dir)
{
    int fd = make_file(1000);
    lseek(fd, 100, SEEK_SET);
    long long g = open_(dir + std::to_string(fd), O_RDONLY);
    rep[k + "open"] = g >= 0;
    if (g < 0) {
        rep[k + "errno"] = g;
        return;
    }
    rep[k + "new_position"] = lseek(static_cast<int>(g), 0, SEEK_CUR);
    lseek(static_cast<int>(g), 700, SEEK_SET);
    rep[k + "old_position_after_seek"] = lseek(fd, 0, SEEK_CUR);
}

} // namespace

// linprocfs_dofdescfs: /proc/PID/fd is a link to "/dev/fd" for the caller's
// own process ("unknown" for another's); fdescfs's fdesc_open sets
// td_dupfd and returns ENODEV, and kern_openat's dupfdopen installs a
// descriptor sharing N's open file description, with N's fde_flags
// (close-on-exec); EACCES for a mode N lacks, EBADF for no N. Linux opens
// the file anew.
TEST_CASE("opening /proc/self/fd/N duplicates N: the offset is shared, EBADF for no N, EACCES for a mode N lacks",
          "[proc]")
{
    auto body = [](Report &rep, int) {
        reopen(rep, "self_", "/proc/self/fd/");
        reopen(rep, "pid_", "/proc/" + std::to_string(getpid()) + "/fd/");
        reopen(rep, "dev_fd_", "/dev/fd/");
        rep["other_pid"] = open_("/proc/1/fd/0", O_RDONLY);
        rep["no_descriptor"] = open_("/proc/self/fd/999", O_RDONLY);
        int ro = make_file(10);
        fcntl(ro, F_SETFD, FD_CLOEXEC);
        std::string path = std::string(SFSHIM_COMPAT_SCRATCH_DIR) + "/freebsd-profile-ro";
        int rdonly = open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
        unlink(path.c_str());
        rep["write_on_read_only"] = open_("/proc/self/fd/" + std::to_string(rdonly), O_WRONLY);
        rep["read_on_read_write"] = open_("/proc/self/fd/" + std::to_string(ro), O_RDONLY) >= 0;
        // N's close-on-exec flag, whatever O_CLOEXEC says.
        int plain = fcntl(ro, F_DUPFD, 0);
        long long a = open_("/proc/self/fd/" + std::to_string(plain), O_RDONLY | O_CLOEXEC);
        long long b = open_("/proc/self/fd/" + std::to_string(ro), O_RDONLY); // ro is close-on-exec
        rep["cloexec_from_plain"] = a >= 0 ? fcntl(static_cast<int>(a), F_GETFD) & FD_CLOEXEC : -1;
        rep["cloexec_from_cloexec"] = b >= 0 ? fcntl(static_cast<int>(b), F_GETFD) & FD_CLOEXEC : -1;
        // An O_PATH open and a relative path are Linux's.
        rep["o_path_open"] = open_("/proc/self/fd/" + std::to_string(ro), O_PATH) >= 0;
        rep["other_path"] = open_("/etc/hostname", O_RDONLY) >= 0 || errno == ENOENT;
    };
    Report r = in_profile(body);
    for (std::string k : {"self_", "pid_", "dev_fd_"}) {
        INFO(k);
        REQUIRE(r[k + "open"] == 1);
        CHECK(r[k + "new_position"] == 100);
        CHECK(r[k + "old_position_after_seek"] == 700);
    }
    CHECK(r["other_pid"] == -ENOENT);
    CHECK(r["no_descriptor"] == -EBADF);
    CHECK(r["write_on_read_only"] == -EACCES);
    CHECK(r["read_on_read_write"] == 1);
    CHECK(r["cloexec_from_plain"] == 0);
    CHECK(r["cloexec_from_cloexec"] == FD_CLOEXEC);
    CHECK(r["o_path_open"] == 1);
    CHECK(r["other_path"] == 1);

    // Linux: a description of its own.
    Report k = sfprofile::in_profile(linux_itself(), body);
    CHECK(k["self_new_position"] == 0);
    CHECK(k["self_old_position_after_seek"] == 100);
    CHECK(k["no_descriptor"] == -ENOENT);

    // Without /proc there is nothing to open.
    Options opt;
    opt.hide_proc = true;
    Report n = in_profile(body, opt);
    if (n["hide_proc"] == -EPERM) {
        WARN("covering /proc needs root (CAP_SYS_ADMIN): not tested");
        return;
    }
    CHECK(n["self_open"] == 0);
    CHECK(n["self_errno"] == -ENOENT);
}

// linux_misc.c:linux_newuname: "strlcpy(utsname.version, version, ...)",
// FreeBSD's version string cut at its first newline; sysname "Linux"
// (compat.linux.osname). With real_uname the layer's uname says nothing.
TEST_CASE("uname's version starts with \"FreeBSD \", and is Linux's with real_uname", "[uname]")
{
    struct utsname here = host_uname();
    auto body = [](Report &rep, int) {
        struct utsname u;
        report_uname(rep, &u, "linux");
        rep["freebsd"] = std::strncmp(u.version, "FreeBSD ", 8) == 0;
        rep["no_newline"] = std::strchr(u.version, '\n') == nullptr;
        errno = 0;
        rep["bad_pointer"] = syscall(SYS_uname, reinterpret_cast<void *>(8)) < 0 ? -errno : 0;
        sfshim::platform::forget_learned_state();
        const char *layer = sfshim::platform::kernel_layer_name();
        rep["shim_names_freebsd"] = layer && std::strcmp(layer, "FreeBSD linuxulator") == 0;
        rep["version_hash"] = name_hash(u.version);
    };
    Report r = in_profile(body);
    check_uname_linux(r, "linux", here);
    CHECK(r["freebsd"] == 1);
    CHECK(r["no_newline"] == 1);
    CHECK(r["bad_pointer"] == -EFAULT);
    CHECK(r["shim_names_freebsd"] == 1);
    Report q = in_profile_real_uname(body);
    CHECK(q["freebsd"] == 0);
    CHECK(q["version_hash"] == name_hash(here.version));
    CHECK(q["shim_names_freebsd"] == 0);
}

// Where uname says nothing, the shim tells the layer by a call of count 0
// (FreeBSD's "Linux cannot have 0 count": EINVAL, Linux's 0): the nginx-
// style retry still sends every byte once.
TEST_CASE("through the shim in auto with a silent uname the count-0 probe tells the layer: every byte once",
          "[eagain][shim]")
{
    Report r = in_profile_real_uname([](Report &rep, int) {
        nginx_retry_through_shim(rep);
        sfshim::platform::forget_learned_state();
        rep["layer_named"] = sfshim::platform::kernel_layer_name() != nullptr;
    });
    CHECK(r["layer_named"] == 0);
    check_retry_sent_once(r);
}
