// The input file changes size while a large transfer to a slow TCP reader is
// under way: truncated (to zero, to the middle of a page, to a page boundary)
// or grown, by another thread or by another process. Every run happens in a
// child process with no SIGBUS handler, so a SIGBUS fails the test instead of
// being hidden. The kernel's own sendfile runs the same scenario and must
// pass the same checks: they describe Linux, not the shim.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "util.h"

using namespace sffault;

namespace {

enum class Change { TruncZero, TruncMid, TruncPage, Grow };
enum class Actor { Thread, Process };

constexpr uint64_t kMiB = 1 << 20;
// The reader takes this much slowly, then the file changes.
constexpr uint64_t kTrigger = 4 * kMiB;
// What can be in flight between sender and reader (socket buffers, doubled by
// the kernel, plus what a writev had copied): a generous bound.
constexpr uint64_t kSlack = 2 * kMiB;

struct Scenario {
    Change change;
    Actor actor;
    bool use_offset; // offset pointer, else the file position
};

struct Outcome {
    long long ret = 0, err = 0, received = 0, mismatch = -1, at_change = -1, new_size = 0;
    long long offset_after = -1, pos_after = -1, next_ret = -2, next_err = 0, whole_ret = -2;
    long long start = 0, timed_out = 0, eof = 0;
};

std::string to_text(const Outcome &o)
{
    std::ostringstream s;
    s << o.ret << ' ' << o.err << ' ' << o.received << ' ' << o.mismatch << ' ' << o.at_change << ' '
      << o.new_size << ' ' << o.offset_after << ' ' << o.pos_after << ' ' << o.next_ret << ' '
      << o.next_err << ' ' << o.whole_ret << ' ' << o.start << ' ' << o.timed_out << ' ' << o.eof;
    return s.str();
}

Outcome from_text(const std::string &t)
{
    Outcome o;
    std::istringstream s(t);
    s >> o.ret >> o.err >> o.received >> o.mismatch >> o.at_change >> o.new_size >> o.offset_after >>
        o.pos_after >> o.next_ret >> o.next_err >> o.whole_ret >> o.start >> o.timed_out >> o.eof;
    return o;
}

std::string describe(const Outcome &o)
{
    std::ostringstream s;
    s << "ret=" << o.ret << " errno=" << o.err << " received=" << o.received
      << " first_bad_byte_at=" << o.mismatch << " reader_at_change=" << o.at_change
      << " new_size=" << o.new_size << " start=" << o.start << " offset_after=" << o.offset_after
      << " pos_after=" << o.pos_after << " next_call=" << o.next_ret << "/" << o.next_err
      << " from_zero=" << o.whole_ret << " reader_timed_out=" << o.timed_out;
    return s.str();
}

uint64_t file_size() { return env_u64("SFSHIM_FAULT_FILE_MIB", 64) * kMiB; }

uint64_t target_size(Change c, uint64_t original)
{
    switch (c) {
    case Change::TruncZero: return 0;
    case Change::TruncMid: return 20 * kMiB + 1000; // mid-page, mid-window
    case Change::TruncPage: return 24 * kMiB;       // on a page (and window) boundary
    case Change::Grow: return original + 8 * kMiB + 123;
    }
    return 0;
}

// The run itself, in a child process.
std::string run(Via via, Scenario sc)
{
    Outcome o;
    if (!install_filter(via))
        return "seccomp failed";
    const uint64_t seed = 77;
    const uint64_t size = sc.change == Change::Grow ? file_size() / 4 : file_size();
    const uint64_t new_size = target_size(sc.change, size);
    int in = make_file(seed, size, true);
    int out = -1, peer = -1;
    if (in < 0 || !tcp_pair(out, peer))
        return "fixture failed";
    set_buffers(out, 128 << 10, 0);
    set_buffers(peer, 0, 128 << 10);

    // Another process does the change when told to.
    int go[2], done[2];
    if (pipe(go) != 0 || pipe(done) != 0)
        return "pipe failed";
    pid_t helper = -1;
    auto change_file = [&] {
        if (sc.change == Change::Grow)
            write_pattern(in, seed, size, new_size);
        else if (ftruncate(in, static_cast<off_t>(new_size)) != 0)
            _exit(9);
    };
    if (sc.actor == Actor::Process) {
        helper = fork();
        if (helper == 0) {
            char c;
            if (read(go[0], &c, 1) == 1)
                change_file();
            (void)!write(done[1], "d", 1);
            _exit(0);
        }
    }

    o.start = sc.use_offset ? 12345 : 3 * 4096 + 7;
    int64_t offset = o.start;
    if (!sc.use_offset)
        lseek(in, o.start, SEEK_SET);

    std::atomic<long long> at_change{-1};
    Reader reader(
        peer, seed, static_cast<uint64_t>(o.start), 60000,
        [&](uint64_t got) -> size_t {
            if (at_change.load() >= 0)
                return 1 << 20;
            if (got < kTrigger) {
                sleep_ms(1);
                return 64 << 10;
            }
            // The reader pauses while the file changes, so everything sent
            // so far is at most `got` plus what is in flight.
            if (sc.actor == Actor::Thread) {
                change_file();
            } else {
                char c;
                (void)!write(go[1], "g", 1);
                (void)!read(done[0], &c, 1);
            }
            at_change = static_cast<long long>(got);
            return 1 << 20;
        });
    reader.start();

    errno = 0;
    ssize_t r = send_via(via, out, in, sc.use_offset ? &offset : nullptr, 256 * kMiB);
    o.ret = r;
    o.err = r < 0 ? errno : 0;
    shutdown(out, SHUT_WR);
    reader.join();
    if (at_change.load() < 0 && helper > 0) // the change never happened: release the helper
        close(go[1]);
    o.received = static_cast<long long>(reader.received());
    o.mismatch = reader.mismatch_at();
    o.at_change = at_change.load();
    o.timed_out = reader.timed_out();
    o.eof = reader.eof();
    o.offset_after = sc.use_offset ? offset : -1;
    o.pos_after = lseek(in, 0, SEEK_CUR);
    o.new_size = static_cast<long long>(new_size);

    // The next call sees the new size: from where this one stopped, then from 0.
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int64_t next = o.start + (r > 0 ? r : 0);
    errno = 0;
    o.next_ret = send_via(via, null_fd, in, &next, 256 * kMiB);
    o.next_err = o.next_ret < 0 ? errno : 0;
    int64_t zero = 0;
    o.whole_ret = send_via(via, null_fd, in, &zero, 256 * kMiB);
    return to_text(o);
}

void check_scenario(Scenario sc)
{
    std::vector<Via> vias = {Via::Kernel};
    for (Via v : engine_vias())
        vias.push_back(v);
    for (Via via : vias) {
        INFO("via " << name(via));
        ChildResult cr = run_child([&] { return run(via, sc); }, 90000);
        REQUIRE(cr.error == ""); // a SIGBUS or a hang lands here
        Outcome o = from_text(cr.report);
        INFO(describe(o) << " (raw: " << cr.report << ")");
        const long long size = static_cast<long long>(
            sc.change == Change::Grow ? file_size() / 4 : file_size());
        CHECK(o.timed_out == 0);
        CHECK(o.at_change >= static_cast<long long>(kTrigger)); // the change happened mid-transfer
        CHECK(o.ret >= 0);                                     // a short count, never an error
        CHECK(o.received == o.ret);                            // every counted byte arrived
        CHECK(o.mismatch == -1);                               // and each is the file's byte at its offset
        if (sc.use_offset) {
            CHECK(o.offset_after == o.start + o.ret);
            CHECK(o.pos_after == 0); // the file position is left alone
        } else {
            CHECK(o.pos_after == o.start + o.ret);
        }
        const long long end = o.start + o.ret;
        if (sc.change == Change::Grow) {
            // At least the original end; at most the new end (the grown part may
            // or may not be seen, as with the kernel). The next call sends the rest.
            CHECK(end >= size);
            CHECK(end <= o.new_size);
            CHECK(o.next_ret == o.new_size - end);
            CHECK(o.whole_ret == o.new_size);
        } else if (o.new_size > o.at_change + static_cast<long long>(kSlack)) {
            // Truncated far ahead of the sender: exactly up to the new end.
            CHECK(end == o.new_size);
            CHECK(o.next_ret == 0);
            CHECK(o.whole_ret == o.new_size);
        } else {
            // Truncated behind the sender: only bytes that were sent before.
            CHECK(end <= o.at_change + o.start + static_cast<long long>(kSlack));
            CHECK(o.ret >= o.at_change);
            CHECK(o.next_ret == 0); // at or past the new end
            CHECK(o.whole_ret == o.new_size);
        }
    }
}

} // namespace

TEST_CASE("a file truncated to zero by another thread mid-transfer gives a short count of bytes sent before",
          "[truncate]")
{
    check_scenario({Change::TruncZero, Actor::Thread, true});
}

TEST_CASE("a file truncated to zero by another process mid-transfer gives a short count of bytes sent before",
          "[truncate]")
{
    check_scenario({Change::TruncZero, Actor::Process, false});
}

TEST_CASE("a file truncated mid-page by another thread mid-transfer is sent exactly up to its new end",
          "[truncate]")
{
    check_scenario({Change::TruncMid, Actor::Thread, true});
}

TEST_CASE("a file truncated mid-page by another process mid-transfer is sent exactly up to its new end",
          "[truncate]")
{
    check_scenario({Change::TruncMid, Actor::Process, false});
}

TEST_CASE("a file truncated to a page boundary by another thread mid-transfer is sent exactly up to its new end",
          "[truncate]")
{
    check_scenario({Change::TruncPage, Actor::Thread, false});
}

TEST_CASE("a file truncated to a page boundary by another process mid-transfer is sent exactly up to its new end",
          "[truncate]")
{
    check_scenario({Change::TruncPage, Actor::Process, true});
}

TEST_CASE("a file grown by another thread mid-transfer sends its original bytes and the next call the rest",
          "[grow]")
{
    check_scenario({Change::Grow, Actor::Thread, true});
}

TEST_CASE("a file grown by another process mid-transfer sends its original bytes and the next call the rest",
          "[grow]")
{
    check_scenario({Change::Grow, Actor::Process, false});
}

// Found by sfshim_fuzz: the kernel reads a file that its own writes extend,
// so copying a file into itself past its end keeps going until count.
TEST_CASE("a file sent into itself past its end grows like the kernel's", "[grow]")
{
    auto run = [](Via via) {
        return run_child([via] {
            if (!install_filter(via))
                return std::string("seccomp");
            int fd = make_file(5, 1000, true);
            lseek(fd, 152733, SEEK_SET);
            int64_t off = 0;
            errno = 0;
            ssize_t r = send_via(via, fd, fd, &off, 200000);
            struct stat st;
            fstat(fd, &st);
            return "ret " + std::to_string(r) + " offset " + std::to_string(off) + " position " +
                   std::to_string(lseek(fd, 0, SEEK_CUR)) + " size " + std::to_string(st.st_size);
        }, 30000);
    };
    ChildResult kernel = run(Via::Kernel);
    REQUIRE(kernel.error == "");
    for (Via via : {Via::Emulate, Via::Mmap, Via::Rw, Via::AutoEnosys}) {
        ChildResult shim = run(via);
        INFO(name(via));
        REQUIRE(shim.error == "");
        CHECK(shim.report == kernel.report);
    }
}
