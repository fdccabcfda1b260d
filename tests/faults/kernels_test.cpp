// Other broken kernels: besides ENOSYS, a kernel whose sendfile fails with
// EPERM (sandbox profiles) and a FreeBSD-like one (EINVAL when count is 0),
// played by seccomp filters installed after fork. AUTO mode in each must give
// exactly the results of the working kernel, run here in the parent process.
#include <catch2/catch.hpp>

#include <signal.h>

#include "cases.h"

using namespace sffault;

namespace {

std::vector<Case> ordinary_table()
{
    std::vector<Case> cases;
    const Kind ins[] = {Kind::File, Kind::Memfd, Kind::DevZero, Kind::PipeRead, Kind::UnixStream,
                        Kind::Directory, Kind::Closed};
    const Kind outs[] = {Kind::UnixStream, Kind::PipeWrite, Kind::File, Kind::FileAppend, Kind::DevNull,
                         Kind::TcpUnconnected, Kind::Eventfd};
    const int64_t offsets[] = {0, 4095, 9999, 10000, 20000, -5};
    const uint64_t counts[] = {0, 1, 4096, 10000, 100000};
    for (Kind in : ins)
        for (Kind out : outs)
            for (int64_t off : offsets)
                for (uint64_t count : counts)
                    for (bool with_ptr : {true, false}) {
                        if (in == Kind::DevZero && count > 10000)
                            continue; // endless input into a blocking socket
                        Case c;
                        c.in = in;
                        c.out = out;
                        c.count = count;
                        if (with_ptr) {
                            c.ptr = Ptr::Good;
                            c.offset = off;
                        } else {
                            if (off < 0)
                                continue;
                            c.in_pos = off;
                        }
                        cases.push_back(c);
                    }
    return cases;
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
