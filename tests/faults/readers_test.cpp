// Slow and stalled readers: a non-blocking TCP socket, Unix socket or pipe
// whose reader stalls and resumes at random. The sender calls sendfile in a
// loop, waiting for POLLOUT on EAGAIN and advancing the offset (or the file
// position). Every partial count must match the offset's movement, every
// EAGAIN must leave it alone, and the bytes received must be the file's slice.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <sstream>

#include "util.h"

using namespace sffault;

namespace {

struct Tally {
    long long received = 0, mismatch = -1, calls = 0, partials = 0, eagains = 0, bad = 0;
    long long timed_out = 0;
    std::string first_bad;
};

std::string run(Via via, Sink sink, bool use_offset, uint64_t seed)
{
    if (!install_filter(via))
        return "0 0 0 0 0 1 0 seccomp";
    const uint64_t size = env_u64("SFSHIM_FAULT_READER_KIB", 4096) * 1024 + 777;
    const uint64_t file_seed = seed ^ 0x5555;
    int in = make_file(file_seed, size, true);
    int out = -1, peer = -1;
    std::string err;
    if (in < 0 || !make_sink(sink, 16 << 10, out, peer, &err))
        return "0 0 0 0 0 1 0 fixture: " + err;
    set_nonblock(out, true);

    const int64_t start = use_offset ? 4096 + 3 : 11;
    if (!use_offset)
        lseek(in, start, SEEK_SET);
    std::mt19937_64 rng(seed);
    std::mt19937_64 reader_rng(seed * 31 + 7);
    Reader reader(peer, file_seed, static_cast<uint64_t>(start), 60000, [&](uint64_t) -> size_t {
        uint64_t roll = reader_rng() % 12;
        if (roll == 0)
            sleep_ms(static_cast<int>(5 + reader_rng() % 40)); // a stall
        else if (roll < 3)
            sleep_ms(1);
        return 1 + reader_rng() % (96 << 10);
    });
    reader.start();

    Tally t;
    int64_t offset = start;
    uint64_t total = 0;
    const uint64_t want = size - static_cast<uint64_t>(start);
    int64_t deadline = now_ms() + 60000;
    auto complain = [&](const std::string &what) {
        if (t.bad++ == 0)
            t.first_bad = what;
    };
    while (total < want && now_ms() < deadline) {
        int64_t pos_before = lseek(in, 0, SEEK_CUR);
        int64_t off_before = offset;
        // Ask for a random part of the rest, sometimes all of it.
        uint64_t ask = want - total;
        if (rng() % 3 == 0)
            ask = 1 + rng() % ask;
        errno = 0;
        ssize_t r = send_via(via, out, in, use_offset ? &offset : nullptr, ask);
        int err = errno;
        ++t.calls;
        int64_t pos_after = lseek(in, 0, SEEK_CUR);
        std::ostringstream at;
        at << "call " << t.calls << " asked " << ask << " at " << (use_offset ? off_before : pos_before)
           << ": ret " << r << " errno " << err << ", offset " << off_before << "->" << offset
           << ", position " << pos_before << "->" << pos_after;
        if (r > 0) {
            if (static_cast<uint64_t>(r) > ask)
                complain(at.str() + ": more than asked");
            if (static_cast<uint64_t>(r) < ask)
                ++t.partials;
            if (use_offset && (offset != off_before + r || pos_after != pos_before))
                complain(at.str() + ": offset/position do not match the count");
            if (!use_offset && pos_after != pos_before + r)
                complain(at.str() + ": position does not match the count");
            total += static_cast<uint64_t>(r);
            continue;
        }
        if (r == 0) {
            complain(at.str() + ": 0 before the end of the file");
            break;
        }
        if (err != EAGAIN) {
            complain(at.str() + ": an error other than EAGAIN");
            break;
        }
        if (offset != off_before || pos_after != pos_before)
            complain(at.str() + ": EAGAIN moved the offset or position");
        ++t.eagains;
        pollfd pf{out, POLLOUT, 0};
        if (poll(&pf, 1, 10000) != 1)
            complain(at.str() + ": no POLLOUT within 10 s");
    }
    if (total != want)
        complain("sent " + std::to_string(total) + " of " + std::to_string(want));
    if (sink == Sink::Pipe)
        close(out);
    else
        shutdown(out, SHUT_WR);
    reader.join();
    t.received = static_cast<long long>(reader.received());
    t.mismatch = reader.mismatch_at();
    t.timed_out = reader.timed_out();
    std::ostringstream s;
    s << t.received << ' ' << t.mismatch << ' ' << t.calls << ' ' << t.partials << ' ' << t.eagains
      << ' ' << t.bad << ' ' << t.timed_out << ' ' << want << ' ' << t.first_bad;
    return s.str();
}

void check(Sink sink, bool use_offset)
{
    uint64_t seed = env_u64("SFSHIM_SEED", static_cast<uint64_t>(now_ms()));
    INFO("seed " << seed << " (SFSHIM_SEED=" << seed << " repeats this run)");
    long long eagains = 0, partials = 0;
    std::vector<Via> vias = {Via::Kernel, Via::Emulate, Via::Mmap, Via::Rw, Via::AutoEnosys};
    for (Via via : vias) {
        INFO("via " << name(via) << " into a " << sink_name(sink));
        ChildResult cr = run_child([&] { return run(via, sink, use_offset, seed); }, 90000);
        REQUIRE(cr.error == "");
        Tally t;
        long long want = 0;
        std::istringstream s(cr.report);
        s >> t.received >> t.mismatch >> t.calls >> t.partials >> t.eagains >> t.bad >> t.timed_out >> want;
        std::getline(s, t.first_bad);
        if (!t.first_bad.empty() && t.first_bad[0] == ' ')
            t.first_bad.erase(0, 1);
        INFO("calls " << t.calls << ", partial counts " << t.partials << ", EAGAIN " << t.eagains);
        CHECK(t.first_bad == "");
        CHECK(t.bad == 0);
        CHECK(t.timed_out == 0);
        CHECK(t.received == want);
        CHECK(t.mismatch == -1);
        eagains += t.eagains;
        partials += t.partials;
    }
    // The stalls did their job: the output was found full, and calls came up short.
    CHECK(eagains > 0);
    CHECK(partials > 0);
}

} // namespace

TEST_CASE("a stalling TCP reader gets the file's exact bytes through partial counts and EAGAIN, with an offset",
          "[readers]")
{
    check(Sink::Tcp, true);
}

TEST_CASE("a stalling TCP reader gets the file's exact bytes through partial counts and EAGAIN, with the file position",
          "[readers]")
{
    check(Sink::Tcp, false);
}

TEST_CASE("a stalling Unix socket reader gets the file's exact bytes through partial counts and EAGAIN, with an offset",
          "[readers]")
{
    check(Sink::Unix, true);
}

TEST_CASE("a stalling Unix socket reader gets the file's exact bytes through partial counts and EAGAIN, with the file position",
          "[readers]")
{
    check(Sink::Unix, false);
}

TEST_CASE("a stalling pipe reader gets the file's exact bytes through partial counts and EAGAIN, with an offset",
          "[readers]")
{
    check(Sink::Pipe, true);
}

TEST_CASE("a stalling pipe reader gets the file's exact bytes through partial counts and EAGAIN, with the file position",
          "[readers]")
{
    check(Sink::Pipe, false);
}
