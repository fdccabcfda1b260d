// Other broken kernels: besides ENOSYS, a kernel whose sendfile fails with
// EPERM (sandbox profiles) and a FreeBSD-like one (EINVAL when count is 0),
// played by seccomp filters installed after fork. AUTO mode in each must give
// exactly the results of the working kernel, run here in the parent process.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sfshim/sfshim.h>

#include "cases.h"
#include "drain.h"

using namespace sffault;

namespace {

std::vector<Case> ordinary_table()
{
    return offset_grid({Kind::File, Kind::Memfd, Kind::DevZero, Kind::PipeRead, Kind::UnixStream, Kind::Directory,
                        Kind::Closed},
                       {Kind::UnixStream, Kind::PipeWrite, Kind::File, Kind::FileAppend, Kind::DevNull,
                        Kind::TcpUnconnected, Kind::Eventfd},
                       {0, 4095, 9999, 10000, 20000, -5}, {0, 1, 4096, 10000, 100000}, [](const Case &c) {
                           return c.in == Kind::DevZero && c.count > 10000; // endless input into a blocking socket
                       });
}

// The oracle, in this process.
std::vector<Obs> kernel_here(const std::vector<Case> &cases)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &old);
    std::vector<Obs> obs;
    for (const Case &c : cases)
        obs.push_back(run_case(Via::Kernel, c));
    sigprocmask(SIG_SETMASK, &old, nullptr);
    return obs;
}

void check_kernel(Via via)
{
    std::vector<Case> cases = ordinary_table();
    std::vector<Obs> kernel = kernel_here(cases);
    for (const Obs &o : kernel)
        REQUIRE(o.harness == "");
    std::string error;
    std::vector<Obs> shim = run_table(via, cases, error);
    REQUIRE(error == "");
    std::string diff = compare_tables(cases, kernel, shim, name(via));
    INFO(diff);
    CHECK(diff == "");
}

} // namespace

TEST_CASE("AUTO in a kernel whose sendfile gives ENOSYS matches the working kernel on the table", "[kernels]")
{
    check_kernel(Via::AutoEnosys);
}

TEST_CASE("AUTO in a kernel whose sendfile gives EPERM matches the working kernel on the table", "[kernels]")
{
    check_kernel(Via::AutoEperm);
}

TEST_CASE("AUTO in a FreeBSD-like kernel (EINVAL for count 0) matches the working kernel on the table",
          "[kernels]")
{
    check_kernel(Via::AutoFreebsd);
}

// NetBSD's amd64 compat_linux: no sendfile, process_vm_readv/writev, splice,
// vmsplice, tee, copy_file_range, F_GETPIPE_SZ, and no /proc.
TEST_CASE("AUTO in NetBSD's compat_linux profile without /proc matches the working kernel on the table",
          "[kernels]")
{
    check_kernel(Via::AutoCompat);
}

// FreeBSD's linuxulator: its sendfile performed by a supervisor as FreeBSD
// performs it (only into stream sockets, the count dropped after EAGAIN or
// EINTR), the calls it stubs refused, /proc there (linprocfs). AUTO must not
// let any of it show.
TEST_CASE("AUTO in FreeBSD's linuxulator profile matches the working kernel on the table", "[kernels]")
{
    if (const char *why = unavailable(Via::AutoLinuxulator)) {
        WARN("not run: " << why);
        return;
    }
    check_kernel(Via::AutoLinuxulator);
}

// illumos LX: its sendfile performed by a supervisor as lx_sendfile64 and
// the native sendfilev perform it (sockets and files, the count dropped
// after an error, EINVAL at a file output's input end), uname's "BrandZ".
TEST_CASE("AUTO in illumos LX's profile matches the working kernel on the table", "[kernels]")
{
    if (const char *why = unavailable(Via::AutoIllumosLx)) {
        WARN("not run: " << why);
        return;
    }
    check_kernel(Via::AutoIllumosLx);
}

// FreeBSD's Linux layer drops the count of bytes its sendfile moved before
// EAGAIN or EINTR (docs/platforms.md): AUTO must not pass a call to a kernel
// that refuses count 0 with EINVAL, as that layer does first of all. Every
// call, the first included, is emulated there, with the kernel's bytes and
// results; in a working kernel the same calls pass through.
TEST_CASE("AUTO passes no call to a kernel that refuses count 0 (FreeBSD's layer, and its profile), and every call "
          "to Linux",
          "[kernels]")
{
    for (Via via : runnable({Via::AutoFreebsd, Via::AutoLinuxulator, Via::Auto})) {
        ChildResult r = run_child([via] {
            if (!install_filter(via))
                return std::string("seccomp failed");
            sfshim_stats_reset();
            std::string report;
            for (int call = 0; call < 3; ++call) {
                int in = make_file(77, 20000, false);
                int sv[2];
                if (in < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
                    return std::string("fixture failed");
                int64_t off = 1000;
                ssize_t n = send_via(via, sv[0], in, &off, 5000);
                std::string got = sftest::drain_now(sv[1]);
                std::string want(5000, '\0');
                fill_pattern(&want[0], 77, 1000, want.size());
                report += std::to_string(n) + " " + std::to_string(off) + " " + (got == want ? "same" : "DIFFERENT") +
                          "\n";
                close(in);
                close(sv[0]);
                close(sv[1]);
            }
            sfshim_stats st;
            sfshim_stats_get(&st);
            report += "native " + std::to_string(st.native_calls) + " emulated " + std::to_string(st.emulated_calls);
            return report;
        });
        INFO(name(via));
        REQUIRE(r.error == "");
        bool layer = via != Via::Auto;
        CHECK(r.report == std::string("5000 6000 same\n5000 6000 same\n5000 6000 same\nnative ") +
                              (layer ? "0 emulated 3" : "3 emulated 0"));
    }
}
