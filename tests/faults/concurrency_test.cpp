// Many transfers at once: 64 threads each sending its own file over its own
// socket, fork while transfers run in other threads (the child sends too),
// and many short-lived processes each sending. Every byte must be right.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "util.h"

using namespace sffault;

namespace {

// Sends [0, size) of `in` over `out` with a blocking loop; returns "" or what went wrong.
std::string send_all(Via via, int out, int in, uint64_t size, bool use_offset)
{
    int64_t off = 0;
    uint64_t total = 0;
    if (!use_offset)
        lseek(in, 0, SEEK_SET);
    while (total < size) {
        ssize_t r = send_via(via, out, in, use_offset ? &off : nullptr, size - total);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return "ret " + std::to_string(r) + " errno " + std::strerror(errno) + " after " +
                   std::to_string(total);
        total += static_cast<uint64_t>(r);
    }
    if (use_offset && static_cast<uint64_t>(off) != size)
        return "offset " + std::to_string(off);
    return "";
}

struct Job {
    Via via;
    uint64_t seed, size;
    bool tcp, use_offset;
    std::string error;
};

// One thread per job sends; a reader thread per job checks. Runs in the
// calling process.
std::string run_jobs(std::vector<Job> &jobs)
{
    std::vector<std::thread> senders;
    std::vector<std::unique_ptr<Reader>> readers;
    std::vector<int> ins(jobs.size()), outs(jobs.size()), peers(jobs.size());
    for (size_t i = 0; i < jobs.size(); ++i) {
        ins[i] = make_file(jobs[i].seed, jobs[i].size, true);
        if (jobs[i].tcp) {
            if (!tcp_pair(outs[i], peers[i]))
                return "tcp_pair failed";
        } else {
            int sv[2];
            if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
                return "socketpair failed";
            outs[i] = sv[0];
            peers[i] = sv[1];
        }
        readers.emplace_back(new Reader(peers[i], jobs[i].seed, 0, 60000));
        readers.back()->start();
    }
    for (size_t i = 0; i < jobs.size(); ++i)
        senders.emplace_back([&, i] {
            jobs[i].error = send_all(jobs[i].via, outs[i], ins[i], jobs[i].size, jobs[i].use_offset);
            shutdown(outs[i], SHUT_WR);
        });
    std::string bad;
    for (size_t i = 0; i < jobs.size(); ++i) {
        senders[i].join();
        readers[i]->join();
        std::ostringstream s;
        if (!jobs[i].error.empty())
            s << "job " << i << " (" << name(jobs[i].via) << "): " << jobs[i].error << "; ";
        if (readers[i]->received() != jobs[i].size || readers[i]->mismatch_at() >= 0 ||
            readers[i]->timed_out())
            s << "job " << i << " (" << name(jobs[i].via) << "): received " << readers[i]->received()
              << " of " << jobs[i].size << ", first bad byte at " << readers[i]->mismatch_at()
              << (readers[i]->timed_out() ? ", timed out" : "") << "; ";
        bad += s.str();
        close(ins[i]);
        close(outs[i]);
        close(peers[i]);
    }
    return bad;
}

std::vector<Job> make_jobs(size_t n, const std::vector<Via> &vias)
{
    std::vector<Job> jobs;
    for (size_t i = 0; i < n; ++i) {
        Job j;
        j.via = vias[i % vias.size()];
        j.seed = 1000 + i;
        j.size = (i % 4 == 0) ? (3u << 20) + i : (i % 4 == 1) ? 40000 + i : (700u << 10) + i * 13;
        j.tcp = i % 2 == 0;
        j.use_offset = i % 3 != 0;
        jobs.push_back(j);
    }
    return jobs;
}

// The fork test's background transfers, in a thread. Its own function, so
// that toolchain/valgrind.supp can name it: a child forked while it runs
// inherits the blocks of these threads but not their stacks.
std::thread start_fork_test_transfers(std::vector<Job> &jobs, std::string &bad)
{
    return std::thread([&jobs, &bad] { bad = run_jobs(jobs); });
}

} // namespace

TEST_CASE("64 threads sending different files over different sockets at once all deliver the right bytes",
          "[concurrency]")
{
    std::vector<Job> jobs = make_jobs(64, {Via::Emulate, Via::Mmap, Via::Rw, Via::Auto});
    std::string bad = run_jobs(jobs);
    CHECK(bad == "");
}

TEST_CASE("64 threads in a kernel without sendfile all deliver the right bytes through AUTO",
          "[concurrency]")
{
    ChildResult cr = run_child([] {
        if (!install_filter(Via::AutoEnosys))
            return std::string("seccomp failed");
        std::vector<Job> jobs = make_jobs(64, {Via::AutoEnosys});
        std::string bad = run_jobs(jobs);
        sfshim_stats st;
        sfshim_stats_get(&st);
        if (st.emulated_calls == 0 || st.kernel_enosys != 1)
            bad += "the calls were not emulated";
        return bad;
    }, 120000);
    REQUIRE(cr.error == "");
    CHECK(cr.report == "");
}

TEST_CASE("fork while transfers run in other threads leaves a child that sends correctly", "[concurrency][fork]")
{
    std::vector<Job> jobs = make_jobs(8, {Via::Mmap, Via::Rw, Via::Emulate, Via::Auto});
    for (Job &j : jobs)
        j.size = 8u << 20; // long enough to be running during the forks
    std::string bad;
    std::thread background = start_fork_test_transfers(jobs, bad);
    sleep_ms(20);
    int forks = 0, failures = 0;
    std::string child_errors;
    for (int i = 0; i < 12; ++i) {
        Via via = std::vector<Via>{Via::Mmap, Via::Rw, Via::Emulate, Via::Auto}[i % 4];
        // In the child: send a file into another file and check it. No
        // thread is started there (ThreadSanitizer cannot follow new threads
        // in a child forked from a multi-threaded process).
        ChildResult cr = run_child([via, i] {
            const uint64_t size = 300000 + static_cast<uint64_t>(i);
            const uint64_t seed = static_cast<uint64_t>(i) + 555;
            int in = make_file(seed, size, true);
            int out = make_file(0, 0, true);
            if (in < 0 || out < 0)
                return std::string("fixture");
            std::string e = send_all(via, out, in, size, i % 2 == 0);
            std::string got(size + 10, '\0');
            ssize_t n = pread(out, &got[0], got.size(), 0);
            if (n != static_cast<ssize_t>(size) ||
                first_mismatch(got.data(), seed, 0, static_cast<size_t>(n)) >= 0)
                e += " output of " + std::to_string(n) + " bytes, first bad byte at " +
                     std::to_string(first_mismatch(got.data(), seed, 0, n > 0 ? static_cast<size_t>(n) : 0));
            return e;
        }, 60000); // a hang guard only: generous on a loaded machine
        ++forks;
        if (!cr.error.empty() || !cr.report.empty()) {
            ++failures;
            child_errors += cr.error + " " + cr.report + "; ";
        }
        sleep_ms(5);
    }
    background.join();
    CHECK(forks == 12);
    CHECK(child_errors == "");
    CHECK(failures == 0);
    CHECK(bad == "");
}

TEST_CASE("many short-lived processes each sending a file all deliver the right bytes", "[concurrency]")
{
    const int n = static_cast<int>(env_u64("SFSHIM_FAULT_PROCESSES", 200));
    const uint64_t size = 100000;
    int in = make_file(31337, size, true);
    REQUIRE(in >= 0);
    std::vector<Via> vias = {Via::Mmap, Via::Rw, Via::Emulate, Via::Auto};
    int bad = 0;
    std::string first;
    // Up to 8 at a time, each writing into its own pipe that the parent drains.
    for (int base = 0; base < n; base += 8) {
        std::vector<std::pair<pid_t, int>> kids;
        for (int k = base; k < std::min(n, base + 8); ++k) {
            int p[2];
            REQUIRE(pipe2(p, O_CLOEXEC) == 0);
            pid_t pid = fork();
            if (pid == 0) {
                close(p[0]);
                std::string e = send_all(vias[static_cast<size_t>(k) % vias.size()], p[1], in, size, true);
                _exit(e.empty() ? 0 : 1);
            }
            close(p[1]);
            kids.emplace_back(pid, p[0]);
        }
        for (auto &kid : kids) {
            Reader r(kid.second, 31337, 0, 20000);
            r.start();
            r.join();
            int status = 0;
            waitpid(kid.first, &status, 0);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || r.received() != size ||
                r.mismatch_at() >= 0) {
                if (bad++ == 0)
                    first = "status " + std::to_string(status) + " received " +
                            std::to_string(r.received()) + " bad at " + std::to_string(r.mismatch_at());
            }
            close(kid.second);
        }
    }
    INFO(first);
    CHECK(bad == 0);
}
