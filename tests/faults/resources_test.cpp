// Resource failures: mmap refused (a low RLIMIT_AS) must fall back to
// read/write with the right bytes; with the descriptor table full (RLIMIT_NOFILE
// at the current count) calls give the kernel's results; and the process's
// memory and mappings stay flat over a long run in each engine, including
// threads that come and go (their read/write buffers are returned).
#include <malloc.h>
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "cases.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

using namespace sffault;

namespace {

constexpr uint64_t kMiB = 1 << 20;
char g_check[1 << 16];

// A full descriptor table for the length of one call: the limit drops to the
// highest open descriptor and the holes below it are filled, so no number is
// left; release() puts both back.
struct FullTable {
    rlimit saved{};
    std::vector<int> fillers;

    // "full" once no descriptor can be opened, else "NOT FULL".
    std::string fill()
    {
        getrlimit(RLIMIT_NOFILE, &saved);
        int highest = 0;
        for (int fd = 0; fd < 65536; ++fd)
            if (fcntl(fd, F_GETFD) >= 0)
                highest = fd;
        rlimit low{static_cast<rlim_t>(highest) + 1, saved.rlim_max};
        setrlimit(RLIMIT_NOFILE, &low);
        for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
            fillers.push_back(fd);
        return errno == EMFILE ? "full" : "NOT FULL";
    }

    void release()
    {
        for (int fd : fillers)
            close(fd);
        fillers.clear();
        setrlimit(RLIMIT_NOFILE, &saved);
    }
};

} // namespace

// ASan and TSan reserve terabytes of address space for their shadow memory:
// a low RLIMIT_AS cannot be combined with them.
TEST_CASE("mmap refused by a low RLIMIT_AS falls back to read/write with the right bytes",
          "[resources][no-asan][no-tsan]")
{
    if (RUNNING_ON_VALGRIND) {
        // Memcheck's own allocations live in the same address space: 64 KiB
        // of headroom limits valgrind, which then may run out of memory at
        // the child's exit ("Valgrind cannot continue"), not the shim.
        WARN("not run under valgrind");
        return;
    }
    for (Via via : {Via::Mmap, Via::Emulate, Via::AutoEnosys}) {
        INFO(name(via));
        ChildResult cr = run_child([via] {
            if (!install_filter(via))
                return std::string("seccomp");
            const uint64_t size = 16 * kMiB + 4321;
            int in = make_file(8080, size, true);
            int out = make_file(0, 0, true);
            // Warm up: the read/write buffer of this thread exists before the limit.
            int64_t z = 0;
            int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
            sfshim_sendfile_mode(SFSHIM_MODE_RW, null_fd, in, &z, 4096);
            sfshim_stats_reset();
            long vm_kb = status_kb("VmSize");
            rlimit rl{static_cast<rlim_t>(vm_kb + 64) * 1024, static_cast<rlim_t>(vm_kb + 64) * 1024};
            if (setrlimit(RLIMIT_AS, &rl) != 0)
                return std::string("setrlimit failed");
            // Prove the limit bites: a 1 MiB mapping is refused now.
            void *probe = mmap(nullptr, kMiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (probe != MAP_FAILED)
                return std::string("the limit does not refuse mmap");
            int64_t off = 0;
            ssize_t r = send_via(via, out, in, &off, size);
            int err = errno;
            sfshim_stats st;
            sfshim_stats_get(&st);
            std::ostringstream s;
            s << "ret " << r << " errno " << (r < 0 ? err : 0) << " offset " << off << " mmap_fallbacks "
              << st.mmap_fallbacks;
            // The output's bytes, checked in place.
            uint64_t at = 0;
            int64_t bad = -1;
            for (;;) {
                ssize_t n = pread(out, g_check, sizeof g_check, static_cast<off_t>(at));
                if (n <= 0)
                    break;
                int64_t m = first_mismatch(g_check, 8080, at, static_cast<size_t>(n));
                if (m >= 0 && bad < 0)
                    bad = m;
                at += static_cast<uint64_t>(n);
            }
            s << " output " << at << " bad_at " << bad;
            return s.str();
        }, 60000);
        REQUIRE(cr.error == "");
        const std::string size = std::to_string(16 * kMiB + 4321);
        INFO(cr.report);
        CHECK(cr.report.find("ret " + size + " errno 0 offset " + size) == 0);
        CHECK(cr.report.find("mmap_fallbacks 0") == std::string::npos);
        CHECK(cr.report.find("output " + size + " bad_at -1") != std::string::npos);
    }
}

namespace {

// Runs the cases through the kernel and through each via, one child each,
// the descriptor table filled up to its limit just before every call (after
// the fixture is built: no descriptor can be opened during the call), and
// wants the kernel's report from each.
void check_full_table(const std::vector<Case> &cases, const std::vector<Via> &vias)
{
    auto run = [&](Via via) {
        return run_child([&, via] {
            std::string err;
            if (!install_filter(via, &err))
                return "cannot enter the kernel: " + err;
            std::string all;
            for (const Case &c : cases) {
                FullTable table;
                std::string proof;
                Obs o = run_case(
                    via, c, [&] { proof = table.fill(); }, [&] { table.release(); });
                all += c.describe() + ": " + proof + " " + o.line() + "\n";
            }
            return all;
        }, 30000);
    };
    ChildResult kernel = run(Via::Kernel);
    REQUIRE(kernel.error == "");
    for (Via via : vias) {
        ChildResult shim = run(via);
        INFO(name(via) << "\nkernel:\n" << kernel.report << "shim:\n" << shim.report);
        REQUIRE(shim.error == "");
        CHECK(shim.report == kernel.report);
    }
}

} // namespace

TEST_CASE("with the descriptor table full every mode gives the kernel's results", "[resources]")
{
    check_full_table({{Kind::File, Kind::UnixStream, Ptr::Good, 0, 10000},
                      {Kind::File, Kind::PipeWrite, Ptr::Good, 100, 10000},
                      {Kind::File, Kind::File, Ptr::Good, 0, 10000},
                      {Kind::Memfd, Kind::DevNull, Ptr::Good, 5, 9000},
                      {Kind::ProcVersion, Kind::PipeWrite, Ptr::Good, 0, 100},
                      {Kind::ProcStatus, Kind::DevNull, Ptr::Good, 0, 100},
                      {Kind::ProcStatus, Kind::PipeWrite, Ptr::Good, 0, 100},
                      {Kind::File, Kind::UnixStream, Ptr::Good, 10000, 0},
                      {Kind::Directory, Kind::DevNull, Ptr::Good, 0, 10},
                      {Kind::PipeRead, Kind::DevNull, Ptr::Null, 0, 10000}},
                     {Via::Emulate, Via::Mmap, Via::Rw, Via::AutoEnosys});
}

// The compat and freebsd profiles take process_vm_readv away, so an offset
// pointer that is not on the stack goes through a pipe; with no descriptor
// left for one, rt_sigprocmask probes the memory instead: still the kernel's
// EFAULT or result, and the kernel's untouched *offset when the store fails.
// In the freebsd profile the layer cannot be learned either (the count-0
// probe needs a socket pair): every call is emulated.
TEST_CASE("with the descriptor table full the compat and freebsd profiles give the kernel's results for every "
          "offset pointer",
          "[resources]")
{
    if (RUNNING_ON_VALGRIND) {
        // Memcheck emulates rt_sigprocmask itself (and needs descriptors of
        // its own): the probe is the kernel's only outside it.
        WARN("not run under valgrind");
        return;
    }
    const Ptr ptrs[] = {Ptr::Good,       Ptr::ReadOnly,  Ptr::WriteOnly, Ptr::ProtNone,        Ptr::Unmapped,
                        Ptr::Misaligned, Ptr::Straddle,  Ptr::NullPlus8, Ptr::StraddleReadOnly};
    const std::pair<Kind, Kind> pairs[] = {{Kind::File, Kind::UnixStream}, {Kind::File, Kind::PipeWrite},
                                           {Kind::Memfd, Kind::DevNull}};
    std::vector<Case> cases;
    for (Ptr p : ptrs)
        for (auto io : pairs)
            cases.push_back({io.first, io.second, p, 100, 5000});
    check_full_table(cases, runnable({Via::AutoCompat, Via::AutoLinuxulator}));
}

namespace {

struct Mem {
    long rss, hwm, maps;
};

Mem sample() { return {status_kb("VmRSS"), status_kb("VmHWM"), mapping_count()}; }

// Mixed calls: successes, partial pipe fills, EAGAIN, EBADF, EFAULT.
void churn(Via via, int in, int null_fd, int sock, int peer, int pipe_w, int pipe_r, int n)
{
    static char sink[1 << 16];
    for (int i = 0; i < n; ++i) {
        int64_t off = i % 7;
        switch (i % 6) {
        case 0: send_via(via, null_fd, in, &off, 80000); break;
        case 1:
            send_via(via, sock, in, &off, 70000);
            while (read(peer, sink, sizeof sink) > 0) {
            }
            break;
        case 2:
            send_via(via, pipe_w, in, &off, 80000); // one fill
            send_via(via, pipe_w, in, &off, 80000); // full: EAGAIN
            while (read(pipe_r, sink, sizeof sink) > 0) {
            }
            break;
        case 3: send_via(via, null_fd, -1, &off, 10); break;                            // EBADF
        case 4: send_via(via, null_fd, in, reinterpret_cast<int64_t *>(8), 10); break; // EFAULT
        case 5:
            lseek(in, 0, SEEK_SET);
            send_via(via, null_fd, in, nullptr, 30000);
            break;
        }
    }
}

std::string leak_run(Via via)
{
    // One malloc arena: glibc otherwise adds arenas (mappings) as threads
    // happen to contend, a count that moves from run to run and would hide,
    // or fake, a leaked mapping per thread.
    mallopt(M_ARENA_MAX, 1);
    if (!install_filter(via))
        return "seccomp";
    const int calls = static_cast<int>(env_u64("SFSHIM_FAULT_LEAK_CALLS", 20000));
    int in = make_file(4, 80000, true);
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int sv[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    pipe2(p, O_CLOEXEC | O_NONBLOCK);
    set_nonblock(sv[1], true);
    // Threads that come and go, each making calls (and so getting a buffer).
    // SFSHIM_FAULT_SIMULATE_LEAK=1 leaks 128 KiB per thread, to show that
    // the check can fail.
    const bool simulate_leak = env_u64("SFSHIM_FAULT_SIMULATE_LEAK", 0) != 0;
    auto thread_churn = [&] {
        for (int round = 0; round < 20; ++round) {
            std::vector<std::thread> ts;
            for (int t = 0; t < 10; ++t)
                ts.emplace_back([&] {
                    int64_t off = 0;
                    send_via(via, null_fd, in, &off, 80000);
                    off = 0;
                    send_via(via, null_fd, in, &off, 1000);
                    if (simulate_leak) {
                        void *m = mmap(nullptr, 128 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                        if (m != MAP_FAILED)
                            std::memset(m, 1, 128 << 10);
                    }
                });
            for (auto &t : ts)
                t.join();
        }
    };
    // Warm up both, so that glibc's stack cache and malloc arenas are filled.
    churn(via, in, null_fd, sv[0], sv[1], p[1], p[0], 1000);
    thread_churn();
    Mem before = sample();
    churn(via, in, null_fd, sv[0], sv[1], p[1], p[0], calls);
    Mem after_calls = sample();
    thread_churn();
    Mem after_threads = sample();
    std::ostringstream s;
    s << before.rss << ' ' << before.hwm << ' ' << before.maps << ' ' << after_calls.rss << ' '
      << after_calls.hwm << ' ' << after_calls.maps << ' ' << after_threads.rss << ' ' << after_threads.hwm
      << ' ' << after_threads.maps;
    return s.str();
}

void check_leaks(Via via)
{
    ChildResult cr = run_child([via] { return leak_run(via); }, 120000);
    REQUIRE(cr.error == "");
    std::istringstream s(cr.report);
    Mem b{}, c{}, t{};
    s >> b.rss >> b.hwm >> b.maps >> c.rss >> c.hwm >> c.maps >> t.rss >> t.hwm >> t.maps;
    INFO(name(via) << ": VmRSS/VmHWM kB and mappings: after warm-up " << b.rss << "/" << b.hwm << "/" << b.maps
                   << ", after the calls " << c.rss << "/" << c.hwm << "/" << c.maps
                   << ", after 200 short threads " << t.rss << "/" << t.hwm << "/" << t.maps);
    CHECK(b.rss > 0);
    CHECK(c.maps <= b.maps);
    CHECK(c.rss - b.rss <= 512);
    CHECK(c.hwm - b.hwm <= 1024);
    // Each thread's stack and its buffer must be gone after join (glibc
    // caches a few stacks: allow a little).
    CHECK(t.maps <= b.maps + 8); // glibc arenas vary a little; a leaked buffer per thread shows in RSS
    CHECK(t.rss - b.rss <= 1024);
}

} // namespace

// Sanitizers keep freed memory in quarantine and their own mappings grow:
// the figures would measure them, not the shim.
TEST_CASE("memory and mappings stay flat over 20k calls in the mmap engine", "[resources][no-asan][no-tsan]")
{
    check_leaks(Via::Mmap);
}

TEST_CASE("memory and mappings stay flat over 20k calls in the read/write engine", "[resources][no-asan][no-tsan]")
{
    check_leaks(Via::Rw);
}

TEST_CASE("memory and mappings stay flat over 20k calls in AUTO without kernel sendfile",
          "[resources][no-asan][no-tsan]")
{
    check_leaks(Via::AutoEnosys);
}
