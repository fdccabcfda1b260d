// The mapping cache under faults: a mapping in use (by another thread, or by
// the call a signal handler interrupted) is never unmapped under it, however
// hard other calls press on a tiny cache; a cached file truncated while it
// is being sent gives a short count, never SIGBUS; unlinked and idle entries
// go at a sweep; SFSHIM_TUNE's cache keys; a forked child's cache. Each
// scenario runs in a child process (its own cache, set with
// cache_set_limits_for_tests), on files that stay linked (an unlinked file
// is never cached): the other fault tests' files are unlinked at once, so
// the cache is not theirs to test. Where a scenario has a kernel equivalent,
// the kernel's sendfile runs it too and must meet the same expectations.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>

#include "buffer.h"
#include "cache.h"
#include "drain.h" // sftest::thread_waits, sftest::drain_now
#include "util.h"

using namespace sffault;

namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint32_t kNeverIdle = 3600u * 1000u; // an hour: nothing goes idle in a test

sfshim::CacheLimits limits(size_t bytes, size_t entries, size_t segment, uint32_t idle_ms = kNeverIdle)
{
    return sfshim::CacheLimits{bytes, entries, segment, idle_ms};
}

sfshim_cache_stats cache_now()
{
    sfshim_cache_stats s;
    sfshim_cache_stats_get(&s);
    return s;
}

std::string show(const sfshim_cache_stats &s)
{
    std::ostringstream o;
    o << "hits " << s.hits << " misses " << s.misses << " bypasses " << s.bypasses << " evictions " << s.evictions
      << " entries " << s.entries << " mapped " << s.mapped_bytes << " peak " << s.peak_mapped_bytes << " cap "
      << s.cap_bytes;
    return o.str();
}

// A directory of one test's linked files (TempDir: made and removed by the
// parent, so that a crashed child leaves nothing behind).
struct Scratch : TempDir {
    const bool on_tmpfs;
    explicit Scratch(bool tmpfs) : TempDir(tmpfs ? scratch_dir_tmpfs() : scratch_dir()), on_tmpfs(tmpfs) {}
    bool tmpfs() const { return on_tmpfs; }
    // A file of pattern bytes that stays linked, here, opened O_RDWR.
    int file(const std::string &name, uint64_t seed, uint64_t size) const
    {
        std::string made;
        int fd = make_file(seed, size, tmpfs(), &made);
        if (fd >= 0 && rename(made.c_str(), path(name).c_str()) != 0) {
            unlink(made.c_str());
            close(fd);
            return -1;
        }
        return fd;
    }
};

struct Identity {
    uint64_t dev = 0, ino = 0;
};
Identity identity(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return {};
    return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}
bool mapped(const Identity &id) { return file_mapped(id.dev, id.ino); }


// Waits (a fact, seen in /proc) until thread `tid` sleeps in a call that
// waits for room; false after 30 s.
bool wait_blocked(long tid)
{
    int64_t until = now_ms() + 30000;
    while (!thread_waits(tid)) {
        if (now_ms() >= until)
            return false;
        sleep_ms(1);
    }
    return true;
}

// Sends [0, size) of `in` over `out` in calls of the given sizes, in turn.
std::string send_in_pieces(Via via, int out, int in, uint64_t size, const std::vector<uint64_t> &pieces)
{
    int64_t off = 0;
    size_t k = 0;
    while (static_cast<uint64_t>(off) < size) {
        uint64_t want = std::min<uint64_t>(pieces[k++ % pieces.size()], size - static_cast<uint64_t>(off));
        int64_t before = off;
        ssize_t r = send_via(via, out, in, &off, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return "ret " + std::to_string(r) + " (" + std::strerror(errno) + ") at " + std::to_string(before);
        if (off != before + r)
            return "offset " + std::to_string(off) + " after " + std::to_string(r) + " from " + std::to_string(before);
    }
    return "";
}

} // namespace

// ---- threads ---------------------------------------------------------------

namespace {

std::string threads_run(const Scratch &scratch, int threads, int rounds)
{
    const sfshim::CacheLimits lim = limits(256 * kKiB, 4, 64 * kKiB);
    sfshim::cache_set_limits_for_tests(lim);
    sfshim_stats_reset();
    struct Job {
        Via via;
        uint64_t seed, size;
        bool tcp;
        int in = -1;
        std::string error;
    };
    std::vector<Job> jobs;
    for (int i = 0; i < threads; ++i) {
        Job j;
        j.via = i % 2 ? Via::Mmap : Via::Emulate;
        j.seed = 900 + static_cast<uint64_t>(i);
        j.size = i % 3 == 0 ? 40000 + static_cast<uint64_t>(i) * 1000
                 : i % 3 == 1 ? 200000 + static_cast<uint64_t>(i) * 517
                              : 600000 + static_cast<uint64_t>(i) * 4099;
        j.tcp = i % 4 < 2;
        j.in = scratch.file("T" + std::to_string(i), j.seed, j.size);
        if (j.in < 0)
            return "fixture failed";
        jobs.push_back(j);
    }
    // Pieces that fit the small-call path (EMULATE takes them from the
    // cache), and larger ones.
    const std::vector<uint64_t> pieces = {1000, 30000, 4096, 61440, 100000, 65536, 7};
    std::atomic<bool> done{false};
    std::string over;
    std::thread monitor([&] {
        while (!done.load()) {
            sfshim_cache_stats s = cache_now();
            if (over.empty() && (s.entries > lim.entries || s.mapped_bytes > lim.bytes))
                over = show(s);
            sleep_ms(1);
        }
    });
    std::vector<std::thread> ts;
    for (Job &j : jobs)
        ts.emplace_back([&j, &pieces, rounds] {
            for (int r = 0; r < rounds && j.error.empty(); ++r) {
                int out = -1, peer = -1;
                if (j.tcp) {
                    if (!tcp_pair(out, peer)) {
                        j.error = "tcp_pair";
                        return;
                    }
                } else {
                    int sv[2];
                    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
                        j.error = "socketpair";
                        return;
                    }
                    out = sv[0];
                    peer = sv[1];
                }
                Reader reader(peer, j.seed, 0, 60000);
                reader.start();
                std::string e = send_in_pieces(j.via, out, j.in, j.size, pieces);
                shutdown(out, SHUT_WR);
                reader.join();
                if (!e.empty() || reader.received() != j.size || reader.mismatch_at() >= 0 || reader.timed_out())
                    j.error = "round " + std::to_string(r) + ": " + e + " received " +
                              std::to_string(reader.received()) + " of " + std::to_string(j.size) +
                              ", first bad byte at " + std::to_string(reader.mismatch_at()) +
                              (reader.timed_out() ? ", timed out" : "");
                close(out);
                close(peer);
            }
        });
    for (auto &t : ts)
        t.join();
    done = true;
    monitor.join();
    std::string bad;
    for (size_t i = 0; i < jobs.size(); ++i)
        if (!jobs[i].error.empty())
            bad += "job " + std::to_string(i) + " (" + name(jobs[i].via) + "): " + jobs[i].error + "; ";
    sfshim_cache_stats s = cache_now();
    std::ostringstream o;
    o << "errors [" << bad << "] over [" << over << "] peak_ok " << (s.peak_mapped_bytes <= lim.bytes)
      << " entries_ok " << (s.entries <= lim.entries) << " misses " << s.misses << " pressed "
      << (s.evictions + s.bypasses > 0) << " | " << show(s);
    return o.str();
}

} // namespace

TEST_CASE("threads sending different cached files through a tiny cache all deliver the right bytes", "[cache][concurrency]")
{
    Scratch scratch(true);
    REQUIRE(!scratch.dir.empty());
    const int threads = static_cast<int>(env_u64("SFSHIM_FAULT_CACHE_THREADS", 12));
    ChildResult cr = run_child([&] { return threads_run(scratch, threads, 2); }, 200000);
    REQUIRE(cr.error == "");
    INFO(cr.report);
    CHECK(cr.report.find("errors [] over [] peak_ok 1 entries_ok 1 ") == 0);
    CHECK(cr.report.find(" misses 0 ") == std::string::npos); // the cache was used
    CHECK(cr.report.find(" pressed 1 ") != std::string::npos); // and was too small for them all
}

// ---- a call blocked on a cached mapping ------------------------------------

namespace {

constexpr uint64_t kXSeed = 500, kXSize = 200000; // one segment of 256 KiB
constexpr int kOthers = 6;
constexpr uint64_t kOtherSize = 60000;

// What the blocked call needs: from the small-call path (EMULATE, one send
// from the mapping) or the mmap engine (a writev from it).
uint64_t blocked_count(Via via) { return via == Via::Mmap ? kXSize : 60000; }

struct Others {
    int in[kOthers];
    int out[kOthers]; // Unix stream sockets with room for a whole file
    int peer[kOthers];
    Identity id[kOthers];
    bool make(const Scratch &s)
    {
        for (int i = 0; i < kOthers; ++i) {
            in[i] = s.file("Y" + std::to_string(i), 700 + static_cast<uint64_t>(i), kOtherSize);
            int sv[2];
            if (in[i] < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
                return false;
            out[i] = sv[0];
            peer[i] = sv[1];
            set_buffers(out[i], 1 << 20, 1 << 20);
            id[i] = identity(in[i]);
        }
        return true;
    }
    // Each one's bytes, exactly, and nothing else.
    std::string check() const
    {
        std::string bad;
        for (int i = 0; i < kOthers; ++i) {
            std::string got = sftest::drain_now(peer[i]);
            if (got.size() != kOtherSize ||
                first_mismatch(got.data(), 700 + static_cast<uint64_t>(i), 0, got.size()) >= 0)
                bad += "Y" + std::to_string(i) + " arrived as " + std::to_string(got.size()) + " bytes, first bad at " +
                       std::to_string(first_mismatch(got.data(), 700 + static_cast<uint64_t>(i), 0, got.size())) + "; ";
        }
        return bad;
    }
};

// The other files, each in one call (the small-call path in EMULATE, the
// mmap engine in MMAP): returns their results.
std::string send_others(Via via, const Others &o)
{
    std::string rets;
    for (int i = 0; i < kOthers; ++i) {
        int64_t off = 0;
        ssize_t r = send_via(via, o.out[i], o.in[i], &off, kOtherSize);
        rets += std::to_string(r) + (i + 1 < kOthers ? "," : "");
    }
    return rets;
}

// Where blocked_run and signal_run start: in the via's kernel, the cache set
// to `lim` (the shim's runs), X made and cached by a first call, the others
// made, and a Unix socket stuffed full. The call that then waits sends X
// into sv[0].
struct Stuffed {
    int x = -1;
    Identity xid;
    uint64_t count = 0; // what the waiting call asks for
    int sv[2] = {-1, -1};
    uint64_t junk = 0; // the bytes that stuffed the socket, ahead of X's

    // "" or what failed.
    std::string make(Via via, sfshim::CacheLimits lim, const Scratch &scratch, Others &others)
    {
        if (!install_filter(via))
            return "seccomp";
        if (via != Via::Kernel) {
            sfshim::cache_set_limits_for_tests(lim);
            sfshim_stats_reset();
        }
        x = scratch.file("X", kXSeed, kXSize);
        if (x < 0 || !others.make(scratch) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            return "fixture failed";
        xid = identity(x);
        count = blocked_count(via);
        // Cached before the waiting call: that call hits it.
        int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        int64_t z = 0;
        send_via(via != Via::Kernel ? Via::Mmap : Via::Kernel, null_fd, x, &z, kXSize);
        junk = fill_until_full(sv[0]);
        return "";
    }

    // What the reader kept past the junk: " received N junk_ok 0|1 first_bad P".
    std::string received(const std::string &kept) const
    {
        size_t first = std::min<size_t>(kept.size(), junk);
        bool junk_ok = kept.find_first_not_of('x', 0) >= first;
        int64_t bad = first_mismatch(kept.data() + first, kXSeed, 0, kept.size() - first);
        return " received " + std::to_string(kept.size() - first) + " junk_ok " + std::to_string(junk_ok) +
               " first_bad " + std::to_string(bad);
    }
};

// Thread A sends X into a stuffed Unix socket and waits there; meanwhile
// this thread sends the other files through the same cache, which cannot
// hold them beside X. Then the reader comes.
std::string blocked_run(Via via, sfshim::CacheLimits lim, const Scratch &scratch)
{
    Others others;
    Stuffed st;
    std::string failed = st.make(via, lim, scratch, others);
    if (!failed.empty())
        return failed;
    const bool shim = via != Via::Kernel;

    std::atomic<long> tid{0};
    std::atomic<long long> ret{-2};
    std::thread a([&] {
        tid = syscall(SYS_gettid);
        int64_t off = 0;
        ret = send_via(via, st.sv[0], st.x, &off, st.count);
    });
    while (tid.load() == 0)
        sleep_ms(1);
    std::ostringstream o;
    if (!wait_blocked(tid.load())) {
        sftest::drain_now(st.sv[1]);
        a.join();
        return "timed out: the call never waited for room in 30 s";
    }
    bool mapped_while_blocked = mapped(st.xid);
    std::string rets = send_others(via, others);
    bool mapped_after_others = mapped(st.xid);
    bool still_blocked = ret.load() == -2;
    sfshim_cache_stats mid = cache_now();

    Reader reader(st.sv[1], 0, 0, 60000, nullptr, true);
    reader.start();
    a.join();
    shutdown(st.sv[0], SHUT_WR);
    reader.join();
    // Compared with the kernel's run: the same for every way.
    o << "ret " << ret.load() << " of " << st.count << st.received(reader.kept()) << " others " << rets
      << " others_bad [" << others.check() << "] blocked " << still_blocked;
    if (shim)
        o << " | mapped while blocked " << mapped_while_blocked << " after the others " << mapped_after_others
          << " | during: " << show(mid) << " | after: " << show(cache_now());
    return o.str();
}

std::string expected_common(Via via)
{
    std::string n = std::to_string(kOtherSize);
    return "ret " + std::to_string(blocked_count(via)) + " of " + std::to_string(blocked_count(via)) + " received " +
           std::to_string(blocked_count(via)) + " junk_ok 1 first_bad -1 others " + n + "," + n + "," + n + "," + n +
           "," + n + "," + n + " others_bad [] blocked 1";
}

// In a run's " | during: ..." part, the counter `key`.
uint64_t during(const std::string &report, const std::string &key)
{
    size_t at = report.find(" | during: ");
    if (at == std::string::npos)
        return UINT64_MAX;
    at = report.find(" " + key + " ", at + 5);
    return at == std::string::npos ? UINT64_MAX : std::strtoull(report.c_str() + at + key.size() + 2, nullptr, 10);
}

// evicts: the others evict each other (at least min_evictions of them), not
// X; else nothing can be evicted and they bypass.
void check_blocked(sfshim::CacheLimits lim, bool evicts, uint64_t min_evictions = kOthers - 1)
{
    Scratch scratch(true);
    REQUIRE(!scratch.dir.empty());
    for (Via via : {Via::Kernel, Via::Mmap, Via::Emulate}) {
        INFO("via " << name(via));
        ChildResult cr = run_child([&] { return blocked_run(via, lim, scratch); }, 120000);
        REQUIRE(cr.error == "");
        INFO(cr.report);
        REQUIRE(cr.report.find("timed out") == std::string::npos);
        CHECK(cr.report.compare(0, expected_common(via).size(), expected_common(via)) == 0);
        if (via == Via::Kernel)
            continue;
        CHECK(cr.report.find("mapped while blocked 1 after the others 1 ") != std::string::npos);
        CHECK(during(cr.report, "hits") >= 1); // the blocked call was a hit
        if (evicts) {
            CHECK(during(cr.report, "evictions") >= min_evictions); // the others evicted each other, not X
        } else {
            CHECK(during(cr.report, "bypasses") >= kOthers); // nothing could be evicted
            CHECK(during(cr.report, "evictions") == 0);
        }
        CHECK(during(cr.report, "peak") <= lim.bytes);
        CHECK(during(cr.report, "entries") <= lim.entries);
    }
}

} // namespace

namespace {

struct CancelArg {
    int out, in;
    uint64_t size;
    Via via = Via::Emulate;
    std::atomic<long> tid{0};
    std::atomic<long long> ret{-2};
};

void *send_then_test_cancel(void *p)
{
    auto *a = static_cast<CancelArg *>(p);
    a->tid = static_cast<long>(syscall(SYS_gettid));
    int64_t off = 0;
    a->ret = send_via(a->via, a->out, a->in, &off, a->size);
    pthread_testcancel(); // the first cancellation point after the call
    return nullptr;
}

// A linked 1 MiB file in a scratch directory, the cache set to 16 MiB, 16
// entries and 4 MiB segments, for the tests whose calls wait on full sockets.
struct MibFile {
    Scratch scratch{false};
    const sfshim::CacheLimits lim = limits(16 * kMiB, 16, 4 * kMiB);
    const uint64_t size = kMiB;
    int fd = -1;
    MibFile(const char *name, uint64_t seed)
    {
        sfshim::cache_set_limits_for_tests(lim);
        if (!scratch.dir.empty())
            fd = scratch.file(name, seed, size);
    }
};

// Reads `want` bytes from fd, or until the deadline, or until nothing came
// for a poll's while after `sender_gone` said so: what arrived.
uint64_t read_count(int fd, uint64_t want, const std::function<bool()> &sender_gone = nullptr)
{
    uint64_t got = 0;
    bool gone = false;
    int64_t until = now_ms() + 60000;
    char buf[65536];
    while (got < want && now_ms() < until) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 50) == 1) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n > 0)
                got += static_cast<uint64_t>(n);
            continue;
        }
        if (gone)
            break;
        gone = sender_gone && sender_gone();
    }
    return got;
}

} // namespace

// glibc's sendfile is no cancellation point: a thread cancelled while the
// call waits finishes it and is cancelled after, as the kernel's own call
// shows here first. Inside the emulation the waits are cancellation points,
// and a thread cancelled there would leave its mapping lease taken for good
// (the entry could never be unmapped).
// Not under AddressSanitizer: it does not follow the cancelled thread's
// unwinding, and reports the unwound frames' stale stack poisoning when the
// thread exits (in sigaltstack, from AsanThread::Destroy).
TEST_CASE("a thread cancelled while its emulated sendfile waits finishes the call and holds no mapping after",
          "[cache][concurrency][no-asan]")
{
    MibFile f("C", 4242);
    REQUIRE(f.fd >= 0);
    for (Via via : {Via::Kernel, Via::Emulate}) {
        INFO(name(via));
        int sv[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        uint64_t junk = fill_until_full(sv[0]);
        CancelArg arg;
        arg.out = sv[0];
        arg.in = f.fd;
        arg.size = f.size;
        arg.via = via;
        pthread_t t;
        REQUIRE(pthread_create(&t, nullptr, send_then_test_cancel, &arg) == 0);
        while (arg.tid.load() == 0)
            sleep_ms(1);
        bool blocked = wait_blocked(arg.tid.load());
        pthread_cancel(t);
        // Read everything; a thread cancelled inside the call sends no more.
        uint64_t got = read_count(sv[1], junk + f.size, [&] {
            return arg.ret.load() != -2 ||
                   access(("/proc/self/task/" + std::to_string(arg.tid.load())).c_str(), F_OK) != 0;
        });
        void *res = nullptr;
        pthread_join(t, &res);
        close(sv[0]);
        close(sv[1]);
        CHECK(blocked);
        CHECK(res == PTHREAD_CANCELED);
        CHECK(arg.ret.load() == static_cast<long long>(f.size));
        CHECK(got == junk + f.size);
    }
    // No reference left: every entry is idle, and dropping idle ones empties the cache.
    sfshim::cache_set_limits_for_tests(f.lim);
    CHECK(cache_now().entries == 0);
    close(f.fd);
}

// A child forked while other threads hold a cache lease and a read/write
// buffer gets both back: those threads are not in the child, and their
// references would keep the entry mapped and the slot taken for good.
TEST_CASE("a child forked while other threads hold a mapping lease and a buffer takes both back", "[cache][fork]")
{
    MibFile f("F", 4343);
    const sfshim::CacheLimits &lim = f.lim;
    const uint64_t size = f.size;
    int x = f.fd;
    REQUIRE(x >= 0);
    int mm[2], rw[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, mm) == 0);
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rw) == 0);
    uint64_t junk_mm = fill_until_full(mm[0]), junk_rw = fill_until_full(rw[0]);
    CancelArg a, b; // a: the mmap engine from the cache; b: read/write through a pooled buffer
    a.out = mm[0], a.in = x, a.size = size, a.via = Via::Mmap;
    b.out = rw[0], b.in = x, b.size = size, b.via = Via::Rw;
    pthread_t ta, tb;
    REQUIRE(pthread_create(&ta, nullptr, send_then_test_cancel, &a) == 0);
    REQUIRE(pthread_create(&tb, nullptr, send_then_test_cancel, &b) == 0);
    while (a.tid.load() == 0 || b.tid.load() == 0)
        sleep_ms(1);
    bool blocked = wait_blocked(a.tid.load()) && wait_blocked(b.tid.load());
    ChildResult cr = run_child([&] {
        // Dropping every idle entry empties the cache only if none is held;
        // every pool slot can be taken only if none is held.
        std::string bad;
        sfshim::cache_set_limits_for_tests(lim);
        if (cache_now().entries != 0)
            bad += "an entry still referenced; ";
        std::vector<std::unique_ptr<sfshim::BufferLease>> all;
        int pooled = 0;
        for (int i = 0; i < sfshim::kBufferPoolSlots + sfshim::kBufferOverflowSlots + 1; ++i) {
            all.emplace_back(new sfshim::BufferLease());
            pooled += all.back()->source() != sfshim::BufferLease::kStack;
        }
        if (pooled != sfshim::kBufferPoolSlots + sfshim::kBufferOverflowSlots)
            bad += "a pool slot still taken; ";
        return bad;
    });
    uint64_t got_mm = read_count(mm[1], junk_mm + size), got_rw = read_count(rw[1], junk_rw + size);
    pthread_join(ta, nullptr);
    pthread_join(tb, nullptr);
    for (int fd : {mm[0], mm[1], rw[0], rw[1], x})
        close(fd);
    CHECK(blocked);
    CHECK(cr.error == "");
    CHECK(cr.report == "");
    CHECK(got_mm == junk_mm + size);
    CHECK(got_rw == junk_rw + size);
}

TEST_CASE("a call blocked on its only cache entry keeps it while other calls bypass the full cache",
          "[cache][concurrency]")
{
    check_blocked(limits(1 * kMiB, 1, 256 * kKiB), false);
}

TEST_CASE("a call blocked on a cached mapping keeps it while other calls fill the byte cap and evict each other",
          "[cache][concurrency]")
{
    // X's 49 pages and three others' 15 each fit in 100 pages (a file is kept
    // only up to half the cap); each of the last three others evicts an idle
    // one, never X.
    check_blocked(limits(400 * kKiB, 8, 256 * kKiB), true, kOthers - 3);
}

TEST_CASE("a call blocked on a cached mapping keeps it while other calls evict each other around it",
          "[cache][concurrency]")
{
    check_blocked(limits(1 * kMiB, 2, 256 * kKiB), true);
}

// ---- a signal handler that sends while the interrupted call holds a mapping --

namespace {

std::atomic<int> g_handled{0};
Via g_handler_via = Via::Kernel;
const Others *g_handler_others = nullptr;
ssize_t g_handler_rets[kOthers];

// Nothing here allocates or locks: the shim's calls take no lock either.
void send_from_handler(int)
{
    int saved = errno;
    for (int i = 0; i < kOthers; ++i) {
        int64_t off = 0;
        g_handler_rets[i] = send_via(g_handler_via, g_handler_others->out[i], g_handler_others->in[i], &off, kOtherSize);
    }
    g_handled.fetch_add(1);
    errno = saved;
}

// This thread sends X into a stuffed Unix socket and waits; a helper sees it
// wait and sends SIGUSR1 (SA_RESTART), whose handler sends the other files
// through the shim, through a cache too small to keep them beside X; once
// the handler is done, the reader comes and the interrupted call finishes.
std::string signal_run(Via via, sfshim::CacheLimits lim, const Scratch &scratch)
{
    static Others others; // the handler sends them
    Stuffed st;
    std::string failed = st.make(via, lim, scratch, others);
    if (!failed.empty())
        return failed;
    const bool shim = via != Via::Kernel;

    g_handler_via = via;
    g_handler_others = &others;
    struct sigaction sa{};
    sa.sa_handler = send_from_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, nullptr);

    Reader reader(st.sv[1], 0, 0, 60000, nullptr, true);
    pthread_t self = pthread_self();
    long self_tid = syscall(SYS_gettid);
    std::atomic<bool> returned{false};
    std::string helper_error;
    bool mapped_after_handler = false;
    sfshim_cache_stats mid{};
    std::thread helper([&] {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, nullptr);
        if (!wait_blocked(self_tid)) {
            helper_error = "timed out: the call never waited for room in 30 s";
        } else {
            pthread_kill(self, SIGUSR1);
            int64_t until = now_ms() + 30000;
            while (g_handled.load() == 0 && now_ms() < until)
                sleep_ms(1);
            if (g_handled.load() == 0)
                helper_error = "timed out: the handler did not run in 30 s";
            mapped_after_handler = mapped(st.xid);
            mid = cache_now();
        }
        reader.start(); // room: the restarted call finishes
    });
    int64_t off = 0;
    uint64_t total = 0;
    long long first_ret = -2, calls = 0;
    while (total < st.count) {
        ssize_t r = send_via(via, st.sv[0], st.x, &off, st.count - total);
        ++calls;
        if (first_ret == -2)
            first_ret = r;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        total += static_cast<uint64_t>(r);
    }
    returned = true;
    helper.join();
    if (!helper_error.empty()) {
        shutdown(st.sv[0], SHUT_WR);
        reader.join();
        return helper_error;
    }
    shutdown(st.sv[0], SHUT_WR);
    reader.join();
    std::ostringstream o;
    o << "sent " << total << " of " << st.count << st.received(reader.kept()) << " handled " << g_handled.load()
      << " others ";
    for (int i = 0; i < kOthers; ++i)
        o << g_handler_rets[i] << (i + 1 < kOthers ? "," : "");
    o << " others_bad ["
      << others.check() << "] offset " << off;
    if (shim)
        o << " | calls " << calls << " first " << first_ret << " | mapped after the handler " << mapped_after_handler
          << " | during: " << show(mid) << " | after: " << show(cache_now());
    return o.str();
}

void check_signal(sfshim::CacheLimits lim, bool evicts)
{
    Scratch scratch(true);
    REQUIRE(!scratch.dir.empty());
    for (Via via : {Via::Kernel, Via::Mmap, Via::Emulate, Via::AutoEnosys}) {
        INFO("via " << name(via));
        ChildResult cr = run_child([&] { return signal_run(via, lim, scratch); }, 120000);
        REQUIRE(cr.error == "");
        INFO(cr.report);
        REQUIRE(cr.report.find("timed out") == std::string::npos);
        const std::string c = std::to_string(blocked_count(via)), n = std::to_string(kOtherSize);
        CHECK(cr.report.find("sent " + c + " of " + c + " received " + c + " junk_ok 1 first_bad -1 handled 1 others " +
                             n + "," + n + "," + n + "," + n + "," + n + "," + n + " others_bad [] offset " + c) == 0);
        if (via == Via::Kernel)
            continue;
        CHECK(cr.report.find("mapped after the handler 1 ") != std::string::npos);
        if (evicts)
            CHECK(during(cr.report, "evictions") >= kOthers - 1);
        else
            CHECK(during(cr.report, "bypasses") >= kOthers);
        CHECK(during(cr.report, "peak") <= lim.bytes);
    }
}

} // namespace

// Not under ThreadSanitizer ([no-tsan]): it runs a signal's handler only once
// the thread leaves a system call that it does not count as blocking (writev,
// the kernel's sendfile through syscall()), so the handler would not come
// while the call waits, and the test would wait for it.
TEST_CASE("a signal handler sending other files while the interrupted call holds the only cache entry leaves it mapped",
          "[cache][signals][no-tsan]")
{
    check_signal(limits(1 * kMiB, 1, 256 * kKiB), false);
}

// Not under ThreadSanitizer: see above.
TEST_CASE("a signal handler whose calls evict each other around the interrupted call's mapping leaves it mapped",
          "[cache][signals][no-tsan]")
{
    check_signal(limits(1 * kMiB, 2, 256 * kKiB), true);
}

// ---- truncation under a cached mapping --------------------------------------

namespace {

enum class Cut { Zero, Mid, Segment };
constexpr uint64_t kTruncSize = 8 * kMiB;
constexpr uint64_t kTrigger = 1 * kMiB; // the reader takes this much slowly, then the file changes
constexpr uint64_t kSlack = 2 * kMiB;   // in flight between sender and reader, generously

uint64_t cut_size(Cut c)
{
    switch (c) {
    case Cut::Zero: return 0;
    case Cut::Mid: return 5 * kMiB + 1000; // mid-page, far ahead of the sender
    case Cut::Segment: return 4 * kMiB;    // on a segment's boundary, far ahead
    }
    return 0;
}

std::string truncation_run(Via via, Cut cut, const Scratch &scratch)
{
    if (!install_filter(via))
        return "seccomp";
    const bool shim = via != Via::Kernel;
    if (shim) {
        sfshim::cache_set_limits_for_tests(limits(64 * kMiB, 16, 1 * kMiB));
        sfshim_stats_reset();
    }
    const uint64_t seed = 77;
    int in = scratch.file("X", seed, kTruncSize);
    int sv[2];
    if (in < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return "fixture failed";
    set_buffers(sv[0], 128 << 10, 0);
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    // Every segment cached first (the mmap engine keeps them), so that the
    // transfer sends from the cache.
    int64_t z = 0;
    ssize_t warm = send_via(via == Via::Kernel ? Via::Kernel : Via::Mmap, null_fd, in, &z, kTruncSize);
    sfshim_cache_stats before = cache_now();

    const uint64_t new_size = cut_size(cut);
    std::atomic<long long> at_change{-1};
    Reader reader(sv[1], seed, 0, 60000, [&](uint64_t got) -> size_t {
        if (at_change.load() >= 0)
            return 1 << 20;
        if (got < kTrigger) {
            sleep_ms(1);
            return 64 << 10;
        }
        if (ftruncate(in, static_cast<off_t>(new_size)) != 0)
            _exit(9);
        at_change = static_cast<long long>(got);
        return 1 << 20;
    });
    reader.start();
    int64_t off = 0;
    errno = 0;
    // 8 MiB into a Unix stream socket: the mmap engine in EMULATE too (from 4 MiB).
    ssize_t r = send_via(via, sv[0], in, &off, kTruncSize);
    int err = r < 0 ? errno : 0;
    shutdown(sv[0], SHUT_WR);
    reader.join();
    int64_t next = off;
    ssize_t next_ret = send_via(via, null_fd, in, &next, kTruncSize);
    int64_t zero = 0;
    ssize_t whole = send_via(via, null_fd, in, &zero, kTruncSize);
    std::ostringstream o;
    o << r << ' ' << err << ' ' << reader.received() << ' ' << reader.mismatch_at() << ' ' << at_change.load() << ' '
      << off << ' ' << next_ret << ' ' << whole << ' ' << reader.timed_out() << ' ' << warm << ' '
      << before.misses << ' ' << cache_now().evictions << ' ' << cache_now().peak_mapped_bytes;
    return o.str();
}

void check_truncation(Cut cut)
{
    Scratch scratch(true);
    REQUIRE(!scratch.dir.empty());
    for (Via via : {Via::Kernel, Via::Mmap, Via::Emulate, Via::AutoEnosys}) {
        INFO("via " << name(via));
        ChildResult cr = run_child([&] { return truncation_run(via, cut, scratch); }, 120000);
        REQUIRE(cr.error == ""); // a SIGBUS lands here
        INFO("ret errno received first_bad reader_at_change offset next_call from_zero timed_out warm-up "
             "misses_before evictions peak: "
             << cr.report);
        std::istringstream s(cr.report);
        long long ret = 0, err = 0, received = 0, bad = 0, at_change = 0, off = 0, next = 0, whole = 0, timed_out = 0,
                  warm = 0, misses = 0, evictions = 0, peak = 0;
        s >> ret >> err >> received >> bad >> at_change >> off >> next >> whole >> timed_out >> warm >> misses >>
            evictions >> peak;
        const long long new_size = static_cast<long long>(cut_size(cut));
        CHECK(warm == static_cast<long long>(kTruncSize));
        CHECK(timed_out == 0);
        CHECK(at_change >= static_cast<long long>(kTrigger)); // the change came mid-transfer
        CHECK(ret >= 0);                                      // a short count, never an error
        CHECK(received == ret);                               // every counted byte arrived
        CHECK(bad == -1);                                     // each the file's byte at its offset
        CHECK(off == ret);
        if (new_size > at_change + static_cast<long long>(kSlack)) {
            CHECK(ret == new_size); // cut far ahead of the sender: exactly up to the new end
        } else {
            CHECK(ret >= at_change); // cut behind it: only bytes sent before
            CHECK(ret <= at_change + static_cast<long long>(kSlack));
        }
        CHECK(next == 0);
        CHECK(whole == new_size);
        if (via != Via::Kernel) {
            CHECK(misses == static_cast<long long>(kTruncSize / kMiB)); // the warm-up mapped every segment
            if (new_size > 0)
                CHECK(evictions >= 1); // the old size's entries went at a call that saw the new one
            CHECK(peak <= static_cast<long long>(64 * kMiB));
        }
    }
}

} // namespace

TEST_CASE("a cached file truncated to zero while it is sent gives a short count, never SIGBUS", "[cache][truncate]")
{
    check_truncation(Cut::Zero);
}

TEST_CASE("a cached file truncated mid-page while it is sent is sent exactly up to its new end", "[cache][truncate]")
{
    check_truncation(Cut::Mid);
}

TEST_CASE("a cached file truncated on a segment boundary while it is sent is sent exactly up to its new end",
          "[cache][truncate]")
{
    check_truncation(Cut::Segment);
}

// ---- the sweep ---------------------------------------------------------------

namespace {

// Calls on another file (kept, hit) until `gone` holds; the sweep runs at
// such a call at most every 250 ms. Returns the calls made, or -1 after 30 s.
long call_until(Via via, int other, const std::function<bool()> &gone)
{
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int64_t until = now_ms() + 30000;
    long calls = 0;
    while (!gone()) {
        if (now_ms() >= until) {
            close(null_fd);
            return -1;
        }
        int64_t off = 0;
        send_via(via, null_fd, other, &off, 4096);
        ++calls;
        sleep_ms(5);
    }
    close(null_fd);
    return calls;
}

enum class Left { Closed, Open };

std::string sweep_unlinked_run(Via via, Left left, const Scratch &scratch)
{
    sfshim::cache_set_limits_for_tests(limits(4 * kMiB, 16, 256 * kKiB));
    sfshim_stats_reset();
    int x = scratch.file("X", 31, 100000);
    int other = scratch.file("Z", 32, 10000);
    int sv[2];
    if (x < 0 || other < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return "fixture failed";
    Identity xid = identity(x);
    // X into a socket through the cache: the small-call path in EMULATE, the engine in MMAP.
    int64_t off = 100;
    ssize_t r = send_via(via, sv[0], x, &off, 30000);
    std::string got = sftest::drain_now(sv[1]);
    bool kept = mapped(xid);
    if (left == Left::Closed)
        close(x);
    unlink(scratch.path("X").c_str());
    // Only the other file is called on from now on (through /dev/null, or a
    // socket in EMULATE, where only sockets take the small-call path).
    long calls = call_until(via == Via::Emulate ? Via::Mmap : via, other, [&] { return !mapped(xid); });
    std::ostringstream o;
    o << "sent " << r << " bytes_ok " << (got.size() == 30000 && first_mismatch(got.data(), 31, 100, got.size()) < 0)
      << " kept " << kept << " swept " << (calls >= 0) << " | calls " << calls << " | " << show(cache_now());
    return o.str();
}

std::string sweep_idle_run(Via via, const Scratch &scratch)
{
    sfshim::cache_set_limits_for_tests(limits(4 * kMiB, 16, 256 * kKiB, 50));
    sfshim_stats_reset();
    int x = scratch.file("X", 41, 100000);
    int other = scratch.file("Z", 42, 10000);
    if (x < 0 || other < 0)
        return "fixture failed";
    Identity xid = identity(x);
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int64_t off = 0;
    ssize_t r = send_via(via, null_fd, x, &off, 100000);
    bool kept = mapped(xid);
    long calls = call_until(via, other, [&] { return !mapped(xid); });
    struct stat st;
    bool linked = fstat(x, &st) == 0 && st.st_nlink == 1;
    std::ostringstream o;
    o << "sent " << r << " kept " << kept << " swept " << (calls >= 0) << " linked " << linked << " | calls " << calls
      << " | " << show(cache_now());
    return o.str();
}

// A linked file used within cache_idle stays through sweeps: calls on
// another file for at least two sweep periods (the sweep runs at the first
// call 250 ms after the last), then it must still be mapped.
std::string sweep_keeps_run(const Scratch &scratch)
{
    sfshim::cache_set_limits_for_tests(limits(4 * kMiB, 16, 256 * kKiB));
    sfshim_stats_reset();
    int x = scratch.file("X", 51, 100000);
    int other = scratch.file("Z", 52, 10000);
    if (x < 0 || other < 0)
        return "fixture failed";
    Identity xid = identity(x);
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int64_t off = 0;
    send_via(Via::Mmap, null_fd, x, &off, 100000);
    int64_t from = now_ms();
    long calls = 0;
    while (now_ms() - from < 2 * static_cast<int64_t>(sfshim::kSweepMs) + 50) {
        int64_t o2 = 0;
        send_via(Via::Mmap, null_fd, other, &o2, 4096);
        ++calls;
        sleep_ms(10);
    }
    std::ostringstream o;
    o << "kept " << mapped(xid) << " | calls " << calls << " | " << show(cache_now());
    return o.str();
}

// In MMAP and EMULATE, on tmpfs or the build tree's file system.
void check_sweep_unlinked(bool tmpfs, Left left)
{
    Scratch scratch(tmpfs);
    REQUIRE(!scratch.dir.empty());
    for (Via via : {Via::Mmap, Via::Emulate}) {
        INFO("via " << name(via));
        ChildResult cr = run_child([&] { return sweep_unlinked_run(via, left, scratch); }, 60000);
        REQUIRE(cr.error == "");
        INFO(cr.report);
        CHECK(cr.report.find("sent 30000 bytes_ok 1 kept 1 swept 1 ") == 0);
        CHECK(cr.report.find(" evictions 0 ") == std::string::npos);
    }
}

} // namespace

TEST_CASE("an unlinked file's cached mapping that nobody uses goes at a sweep, its descriptor closed",
          "[cache]")
{
    check_sweep_unlinked(true, Left::Closed);
}

TEST_CASE("an unlinked file's cached mapping that nobody uses goes at a sweep, its descriptor still open",
          "[cache]")
{
    check_sweep_unlinked(false, Left::Open);
}

TEST_CASE("a cached mapping unused for cache_idle goes at a sweep though its file is linked", "[cache]")
{
    Scratch scratch(true);
    REQUIRE(!scratch.dir.empty());
    ChildResult cr = run_child([&] { return sweep_idle_run(Via::Mmap, scratch); }, 60000);
    REQUIRE(cr.error == "");
    INFO(cr.report);
    CHECK(cr.report.find("sent 100000 kept 1 swept 1 linked 1 ") == 0);
    CHECK(cr.report.find(" evictions 0 ") == std::string::npos);
}

TEST_CASE("a linked file's cached mapping used within cache_idle stays through sweeps", "[cache]")
{
    Scratch scratch(true);
    REQUIRE(!scratch.dir.empty());
    ChildResult cr = run_child([&] { return sweep_keeps_run(scratch); }, 60000);
    REQUIRE(cr.error == "");
    INFO(cr.report);
    CHECK(cr.report.find("kept 1 ") == 0);
    CHECK(cr.report.find(" evictions 0 ") != std::string::npos);
}

// ---- fork --------------------------------------------------------------------

TEST_CASE("a child forked with cached mappings sends the right bytes and its own calls stay within the cap",
          "[cache][concurrency]")
{
    Scratch scratch(true);
    REQUIRE(!scratch.dir.empty());
    ChildResult cr = run_child([&] {
        const sfshim::CacheLimits lim = limits(512 * kKiB, 4, 64 * kKiB);
        sfshim::cache_set_limits_for_tests(lim);
        std::vector<int> files;
        for (int i = 0; i < 4; ++i)
            files.push_back(scratch.file("F" + std::to_string(i), 60 + static_cast<uint64_t>(i), 100000 + static_cast<uint64_t>(i)));
        int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        for (int fd : files) {
            int64_t off = 0;
            send_via(Via::Mmap, null_fd, fd, &off, 200000);
        }
        std::string all;
        for (int round = 0; round < 2; ++round) {
            ChildResult inner = run_child([&] {
                std::string e;
                for (size_t i = 0; i < files.size(); ++i) {
                    int p[2];
                    if (pipe2(p, O_CLOEXEC) != 0 || fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0)
                        return std::string("pipe");
                    int64_t off = 0;
                    ssize_t r = send_via(Via::Mmap, p[1], files[i], &off, 200000);
                    std::string got = sftest::drain_now(p[0]);
                    uint64_t size = 100000 + i;
                    if (r != static_cast<ssize_t>(size) || got.size() != size ||
                        first_mismatch(got.data(), 60 + i, 0, got.size()) >= 0)
                        e += "F" + std::to_string(i) + ": ret " + std::to_string(r) + " got " + std::to_string(got.size()) + "; ";
                    close(p[0]);
                    close(p[1]);
                }
                sfshim_cache_stats s = cache_now();
                if (s.peak_mapped_bytes > 512 * kKiB || s.entries > 4)
                    e += "over the cap: " + show(s);
                return e;
            }, 60000);
            all += inner.error + inner.report;
        }
        return all;
    }, 120000);
    REQUIRE(cr.error == "");
    CHECK(cr.report == "");
}

// ---- SFSHIM_TUNE -------------------------------------------------------------

namespace {

// The probe (cache_probe_main, below), in a new process of this program with
// SFSHIM_TUNE set (the variables are read when the library is loaded): what
// it wrote, and what the process wrote on stderr.
struct Probe {
    std::string out, err, error;
};

Probe probe(const char *tune, const Scratch &scratch)
{
    Probe p;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        p.error = "readlink /proc/self/exe";
        return p;
    }
    exe[n] = '\0';
    std::string out = scratch.path("probe.out"), err = scratch.path("probe.err");
    pid_t pid = fork();
    if (pid == 0) {
        if (tune)
            setenv("SFSHIM_TUNE", tune, 1);
        else
            unsetenv("SFSHIM_TUNE");
        setenv("SFSHIM_CACHE_PROBE_OUT", out.c_str(), 1);
        setenv("SFSHIM_CACHE_PROBE_DIR", scratch.dir.c_str(), 1);
        int devnull = open("/dev/null", O_WRONLY);
        int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(devnull, 1);
        dup2(e, 2);
        execl(exe, exe, static_cast<char *>(nullptr));
        _exit(127);
    }
    int status = 0;
    int64_t until = now_ms() + 60000;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (now_ms() >= until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            p.error = "timed out: the probe ran for 60 s";
            return p;
        }
        sleep_ms(5);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        p.error = "the probe's exit status " + std::to_string(status);
    auto slurp = [](const std::string &path) {
        std::string s;
        int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        char buf[4096];
        for (ssize_t k; fd >= 0 && (k = read(fd, buf, sizeof buf)) > 0;)
            s.append(buf, static_cast<size_t>(k));
        if (fd >= 0)
            close(fd);
        return s;
    };
    p.out = slurp(out);
    p.err = slurp(err);
    return p;
}

} // namespace

// The probe itself: a process of this program that probe() started with
// SFSHIM_CACHE_PROBE_OUT set runs this before main and exits, instead of the
// tests: the limits in force, and two MMAP calls on a linked file.
__attribute__((constructor)) static void cache_probe_main()
{
    const char *out = std::getenv("SFSHIM_CACHE_PROBE_OUT");
    const char *dir = std::getenv("SFSHIM_CACHE_PROBE_DIR");
    if (out == nullptr || dir == nullptr)
        return;
    std::string path = std::string(dir) + "/probe-input";
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || null_fd < 0 || !write_pattern(fd, 3, 0, 100000))
        _exit(2);
    int64_t a = 0, b = 10;
    ssize_t r1 = send_via(Via::Mmap, null_fd, fd, &a, 100000);
    ssize_t r2 = send_via(Via::Mmap, null_fd, fd, &b, 1000);
    sfshim::CacheLimits lim = sfshim::cache_limits();
    sfshim_cache_stats s = cache_now();
    char line[512];
    int n = std::snprintf(line, sizeof line, "limits %zu %zu %zu %u cap %llu calls %zd %zd hits %llu misses %llu entries %llu",
                          lim.bytes, lim.entries, lim.segment, lim.idle_ms, static_cast<unsigned long long>(s.cap_bytes),
                          r1, r2, static_cast<unsigned long long>(s.hits), static_cast<unsigned long long>(s.misses),
                          static_cast<unsigned long long>(s.entries));
    int w = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = w >= 0 && n > 0 && sftest::write_all(w, std::string(line, static_cast<size_t>(n)));
    _exit(ok ? 0 : 3);
}

TEST_CASE("SFSHIM_TUNE sets the cache's bytes, entries, segment and idle time", "[cache]")
{
    Scratch scratch(true);
    REQUIRE(!scratch.dir.empty());
    Probe p = probe("cache_bytes=2M,cache_entries=3,cache_segment=128K,cache_idle=700", scratch);
    REQUIRE(p.error == "");
    INFO("stderr: " << p.err);
    CHECK(p.out == "limits 2097152 3 131072 700 cap 2097152 calls 100000 1000 hits 1 misses 1 entries 1");
    CHECK(p.err.find("SFSHIM_TUNE") == std::string::npos);
    Probe most = probe("cache_entries=256", scratch);
    REQUIRE(most.error == "");
    CHECK(most.out.find("limits ") == 0);
    CHECK(most.out.find(" 256 ") != std::string::npos);
    CHECK(most.err.find("SFSHIM_TUNE") == std::string::npos);
}

TEST_CASE("SFSHIM_TUNE cache_bytes=off or 0 turns the cache off", "[cache]")
{
    Scratch scratch(true);
    REQUIRE(!scratch.dir.empty());
    for (const char *tune : {"cache_bytes=off", "cache_bytes=0"}) {
        INFO(tune);
        Probe p = probe(tune, scratch);
        REQUIRE(p.error == "");
        INFO("stderr: " << p.err);
        CHECK(p.out.find("limits 0 ") == 0);
        CHECK(p.out.find(" cap 0 calls 100000 1000 hits 0 misses 0 entries 0") != std::string::npos);
        CHECK(p.err.find("SFSHIM_TUNE") == std::string::npos);
    }
}

TEST_CASE("SFSHIM_TUNE with more than 256 cache entries gives one line on stderr and the default", "[cache]")
{
    Scratch scratch(true);
    REQUIRE(!scratch.dir.empty());
    Probe defaults = probe(nullptr, scratch);
    REQUIRE(defaults.error == "");
    CHECK(defaults.err == "");
    Probe p = probe("cache_entries=257", scratch);
    REQUIRE(p.error == "");
    INFO("stderr: " << p.err);
    CHECK(p.out == defaults.out);
    CHECK(std::count(p.err.begin(), p.err.end(), '\n') == 1);
    CHECK(p.err.find("SFSHIM_TUNE") != std::string::npos);
}
