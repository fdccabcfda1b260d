// The mapping cache against the kernel: scripts of calls on files that stay
// linked (an unlinked file is never cached, and every other suite's files are
// unlinked as soon as they are open), between which the files are opened
// through other descriptors, replaced under their name, truncated, regrown,
// grown and unlinked. Each script runs in a child through the kernel's
// sendfile (the oracle) and through the shim in MMAP, EMULATE, RW and AUTO
// in a kernel without sendfile, each on its own copy of the files, and every
// step's observation must be the kernel's: the result, errno, *offset, the
// input's file position, the output's position and the bytes it received.
//
// The shim's runs also say what the cache did: after every call its mapped
// bytes and entries are within the limits the script set, the cached modes
// hit (so that the scripts cannot pass with the cache off), RW never touches
// it, and the steps that the contract pins (a resized file misses and
// evicts, an unlinked one bypasses and is unmapped at once) do what it says.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/sockios.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <sfshim/sfshim.h>

#include "cache.h"
#include "child.h"   // run_child
#include "drain.h"   // drain_now
#include "files.h"   // scratch directories, file_contents
#include "fixture.h" // sfdiff::make_content
#include "io.h"      // tcp_pair
#include "util.h"    // sffault::Reader, now_ms, fnv, file_mapped
#include "via.h"     // Via, send_via, install_filter

using namespace sftest;

namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * 1024;
// An hour: no entry of a script goes idle, whatever the machine's speed.
constexpr uint32_t kNeverIdle = 3600u * 1000u;

enum class Sink { Tcp, Unix, Pipe, File, Null };
const char *name(Sink s)
{
    switch (s) {
    case Sink::Tcp: return "tcp";
    case Sink::Unix: return "unix";
    case Sink::Pipe: return "pipe";
    case Sink::File: return "file";
    case Sink::Null: return "/dev/null";
    }
    return "?";
}

enum class Op { Open, Reopen, Dup, Close, Seek, Send, Truncate, Write, Replace, Unlink, Unmapped };

struct FileDef {
    bool tmpfs;
    uint64_t size;
    uint64_t seed;
};

struct Step {
    Op op = Op::Send;
    int a = 0;           // descriptor slot (file slot for Open/Truncate/Write/Replace/Unlink)
    int b = 0;           // Open: the file; Reopen/Dup: the source slot; Send: the output
    int64_t offset = -1; // Send: *offset, or -1 for NULL; Seek: the position
    uint64_t n = 0;      // Send: count; Truncate/Replace: size; Write: length
    uint64_t seed = 0;   // Write/Replace: content
    uint64_t at = 0;     // Write: where
};

constexpr int kSlots = 16;

// The outputs every script has, by index.
constexpr int kTcp = 0, kUnix = 1, kPipe = 2, kFile = 3, kNull = 4;
const Sink kSinks[] = {Sink::Tcp, Sink::Unix, Sink::Pipe, Sink::File, Sink::Null};
constexpr int kSinkCount = 5;

struct Script {
    sfshim::CacheLimits limits;
    std::vector<FileDef> files;
    std::vector<Step> steps;

    explicit Script(sfshim::CacheLimits l) : limits(l) {}

    int file(bool tmpfs, uint64_t size, uint64_t seed)
    {
        files.push_back({tmpfs, size, seed});
        return static_cast<int>(files.size()) - 1;
    }
    size_t add(Step s)
    {
        steps.push_back(s);
        return steps.size() - 1;
    }
    size_t open(int slot, int f) { return add({Op::Open, slot, f}); }
    // The same file through a new open description (/proc/self/fd).
    size_t reopen(int slot, int from) { return add({Op::Reopen, slot, from}); }
    size_t dup(int slot, int from) { return add({Op::Dup, slot, from}); }
    size_t close(int slot) { return add({Op::Close, slot}); }
    size_t seek(int slot, int64_t pos) { return add({Op::Seek, slot, 0, pos}); }
    size_t send(int out, int slot, int64_t off, uint64_t count) { return add({Op::Send, slot, out, off, count}); }
    size_t send_pos(int out, int slot, uint64_t count) { return add({Op::Send, slot, out, -1, count}); }
    size_t truncate(int f, uint64_t size) { return add({Op::Truncate, f, 0, 0, size}); }
    size_t write(int f, uint64_t at, uint64_t len, uint64_t seed) { return add({Op::Write, f, 0, 0, len, seed, at}); }
    size_t replace(int f, uint64_t size, uint64_t seed) { return add({Op::Replace, f, 0, 0, size, seed}); }
    size_t unlink(int f) { return add({Op::Unlink, f}); }
    // Whether the file open as `slot` is mapped in this process now (the
    // kernel's run never maps it: "no").
    size_t unmapped(int slot) { return add({Op::Unmapped, slot}); }
};

std::string describe(const Step &s)
{
    std::ostringstream o;
    switch (s.op) {
    case Op::Open: o << "d" << s.a << " = open(F" << s.b << ")"; break;
    case Op::Reopen: o << "d" << s.a << " = open(/proc/self/fd/d" << s.b << ")"; break;
    case Op::Dup: o << "d" << s.a << " = dup(d" << s.b << ")"; break;
    case Op::Close: o << "close(d" << s.a << ")"; break;
    case Op::Seek: o << "lseek(d" << s.a << ", " << s.offset << ")"; break;
    case Op::Send:
        o << "sendfile(" << name(kSinks[s.b]) << ", d" << s.a << ", ";
        if (s.offset < 0)
            o << "NULL";
        else
            o << "&" << s.offset;
        o << ", " << s.n << ")";
        break;
    case Op::Truncate: o << "truncate(F" << s.a << ", " << s.n << ")"; break;
    case Op::Write: o << "pwrite(F" << s.a << ", " << s.n << " new bytes (seed " << s.seed << ") at " << s.at << ")"; break;
    case Op::Replace: o << "rename a new F" << s.a << " of " << s.n << " bytes (seed " << s.seed << ") over it"; break;
    case Op::Unlink: o << "unlink(F" << s.a << ")"; break;
    case Op::Unmapped: o << "is d" << s.a << "'s file mapped?"; break;
    }
    return o.str();
}

std::string describe(const Script &s)
{
    std::ostringstream o;
    o << "cache limits: " << s.limits.bytes << " bytes, " << s.limits.entries << " entries, segments of "
      << s.limits.segment << ", idle " << s.limits.idle_ms << " ms\n";
    for (size_t i = 0; i < s.files.size(); ++i)
        o << "  F" << i << ": " << s.files[i].size << " bytes on " << (s.files[i].tmpfs ? "tmpfs" : "ext4")
          << " (seed " << s.files[i].seed << ")\n";
    for (size_t i = 0; i < s.steps.size(); ++i)
        o << "  " << i << ". " << describe(s.steps[i]) << "\n";
    return o.str();
}

// ---- the child's side ------------------------------------------------------

std::string errno_text(int e)
{
    if (e == 12345)
        return "untouched";
    const char *n = strerrorname_np(e);
    return n ? n : std::to_string(e);
}

bool write_file(const std::string &path, uint64_t at, const std::string &content, bool create)
{
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0600);
    if (fd < 0)
        return false;
    size_t done = 0;
    while (done < content.size()) {
        ssize_t w = pwrite(fd, content.data() + done, content.size() - done, static_cast<off_t>(at + done));
        if (w <= 0) {
            ::close(fd);
            return false;
        }
        done += static_cast<size_t>(w);
    }
    return ::close(fd) == 0;
}

struct Output {
    Sink sink;
    int fd = -1;
    int peer = -1;
    uint64_t seen = 0; // bytes of the reader's stream reported so far
    std::unique_ptr<sffault::Reader> reader;
};

// Every byte the call put into a stream socket is with the reader, counted:
// for TCP nothing is left unacknowledged in the send queue (then the bytes
// are in the peer's queue), for both the peer's queue is empty and the reader
// is not inside a read (Reader::caught_up). Facts, not a pause.
bool settled(const Output &o)
{
    int64_t until = sffault::now_ms() + 30000;
    for (;;) {
        int queued = 0;
        bool sent = o.sink != Sink::Tcp || (ioctl(o.fd, SIOCOUTQ, &queued) == 0 && queued == 0);
        if (sent && o.reader->caught_up())
            return true;
        if (sffault::now_ms() >= until)
            return false;
        usleep(100);
    }
}

std::string run_script(Via via, const Script &sc, const std::string &dir_ext4, const std::string &dir_tmpfs)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    sigaddset(&block, SIGXFSZ);
    sigprocmask(SIG_BLOCK, &block, nullptr);
    if (!install_filter(via))
        return "!seccomp failed\n";
    const bool shim = via != Via::Kernel;
    if (shim) {
        sfshim::cache_set_limits_for_tests(sc.limits);
        sfshim_stats_reset();
    }

    std::vector<std::string> paths;
    for (size_t i = 0; i < sc.files.size(); ++i) {
        const FileDef &f = sc.files[i];
        paths.push_back((f.tmpfs ? dir_tmpfs : dir_ext4) + "/F" + std::to_string(i));
        if (!write_file(paths.back(), 0, sfdiff::make_content(f.seed, f.size), true))
            return "!cannot create " + paths.back() + ": " + std::strerror(errno) + "\n";
    }

    std::vector<Output> outs(kSinkCount);
    for (int i = 0; i < kSinkCount; ++i) {
        Output &o = outs[static_cast<size_t>(i)];
        o.sink = kSinks[i];
        std::string err;
        int sv[2];
        switch (o.sink) {
        case Sink::Tcp:
            if (!tcp_pair(o.fd, o.peer, &err))
                return "!" + err + "\n";
            break;
        case Sink::Unix:
            if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
                return "!socketpair failed\n";
            o.fd = sv[0];
            o.peer = sv[1];
            break;
        case Sink::Pipe:
            if (pipe2(sv, O_CLOEXEC) != 0 || fcntl(sv[1], F_SETPIPE_SZ, 1 << 20) < 0)
                return "!pipe failed\n";
            o.fd = sv[1];
            o.peer = sv[0];
            break;
        case Sink::File: {
            std::string p = dir_tmpfs + "/out";
            o.fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            ::unlink(p.c_str());
            break;
        }
        case Sink::Null: o.fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC); break;
        }
        if (o.fd < 0)
            return "!cannot make the " + std::string(name(o.sink)) + " output\n";
        if (o.sink == Sink::Tcp || o.sink == Sink::Unix) {
            // A hang guard far beyond any script: the child's own deadline comes first.
            o.reader.reset(new sffault::Reader(o.peer, 0, 0, 600000, nullptr, true));
            o.reader->start();
        }
    }

    int fds[kSlots];
    for (int &fd : fds)
        fd = -1;
    // A step's line; a stream socket's bytes are looked at only once its
    // reader has ended (while it runs, its buffer is its own).
    struct Line {
        std::string text, stats, violation;
        int out = -1;
        uint64_t from = 0, to = 0;
    };
    std::vector<Line> lines;
    std::string report; // what is sent back when the run cannot go on
    for (size_t i = 0; i < sc.steps.size(); ++i) {
        const Step &s = sc.steps[i];
        std::ostringstream line;
        errno = 0;
        switch (s.op) {
        case Op::Open:
            fds[s.a] = ::open(paths[static_cast<size_t>(s.b)].c_str(), O_RDONLY | O_CLOEXEC);
            line << "open " << (fds[s.a] >= 0 ? "ok" : errno_text(errno));
            break;
        case Op::Reopen:
            fds[s.a] = proc_open("self/fd/" + std::to_string(fds[s.b]), O_RDONLY);
            line << "reopen " << (fds[s.a] >= 0 ? "ok" : errno_text(errno));
            break;
        case Op::Dup:
            fds[s.a] = fcntl(fds[s.b], F_DUPFD_CLOEXEC, 0);
            line << "dup " << (fds[s.a] >= 0 ? "ok" : errno_text(errno));
            break;
        case Op::Close:
            line << "close " << ::close(fds[s.a]);
            fds[s.a] = -1;
            break;
        case Op::Seek: line << "seek " << lseek(fds[s.a], s.offset, SEEK_SET); break;
        case Op::Truncate: line << "truncate " << ::truncate(paths[static_cast<size_t>(s.a)].c_str(), static_cast<off_t>(s.n)); break;
        case Op::Write:
            line << "write " << write_file(paths[static_cast<size_t>(s.a)], s.at, sfdiff::make_content(s.seed, s.n), false);
            break;
        case Op::Replace: {
            const std::string &p = paths[static_cast<size_t>(s.a)];
            bool ok = write_file(p + ".new", 0, sfdiff::make_content(s.seed, s.n), true) &&
                      rename((p + ".new").c_str(), p.c_str()) == 0;
            line << "replace " << ok;
            break;
        }
        case Op::Unlink: line << "unlink " << ::unlink(paths[static_cast<size_t>(s.a)].c_str()); break;
        case Op::Unmapped: {
            struct stat st;
            if (fstat(fds[s.a], &st) != 0)
                return report + "!fstat of d" + std::to_string(s.a) + " failed\n";
            line << "mapped " << (sffault::file_mapped(st.st_dev, st.st_ino) ? "yes" : "no");
            break;
        }
        case Op::Send: {
            Output &o = outs[static_cast<size_t>(s.b)];
            int64_t off = s.offset;
            errno = 12345;
            ssize_t r = send_via(via, o.fd, fds[s.a], s.offset >= 0 ? &off : nullptr, s.n);
            int err = errno;
            line << "ret " << r << " errno " << errno_text(err);
            if (s.offset >= 0)
                line << " offset " << off;
            line << " position " << lseek(fds[s.a], 0, SEEK_CUR);
            std::string got;
            switch (o.sink) {
            case Sink::Tcp:
            case Sink::Unix:
                if (!settled(o))
                    return report + "!timed out after 30 s waiting for the " + name(o.sink) +
                           " reader to take what step " + std::to_string(i) + " sent\n";
                lines.push_back({line.str(), "", "", s.b, o.seen, o.reader->received()});
                o.seen = o.reader->received();
                break;
            case Sink::Pipe: got = drain_now(o.peer); break;
            case Sink::File: {
                line << " output position " << lseek(o.fd, 0, SEEK_CUR);
                std::string why;
                got = file_contents(o.fd, &why);
                if (!why.empty())
                    return report + "!the output file at step " + std::to_string(i) + ": " + why + "\n";
                break;
            }
            case Sink::Null: break;
            }
            if (o.sink == Sink::Pipe || o.sink == Sink::File)
                line << (o.sink == Sink::File ? " output file " : " received ") << got.size() << " bytes #"
                     << std::hex << sffault::fnv(got) << std::dec;
            break;
        }
        }
        if (lines.size() == i) // not a stream socket's
            lines.push_back({line.str(), "", "", -1, 0, 0});
        if (!shim)
            continue;
        sfshim_cache_stats cs;
        sfshim_cache_stats_get(&cs);
        std::ostringstream st;
        st << cs.hits << ' ' << cs.misses << ' ' << cs.bypasses << ' ' << cs.evictions << ' ' << cs.entries << ' '
           << cs.mapped_bytes << ' ' << cs.peak_mapped_bytes << ' ' << cs.cap_bytes;
        lines[i].stats = st.str();
        if (cs.mapped_bytes > sc.limits.bytes || cs.peak_mapped_bytes > sc.limits.bytes ||
            cs.entries > sc.limits.entries || cs.cap_bytes != sc.limits.bytes)
            lines[i].violation = "after step " + std::to_string(i) + ": " + st.str();
    }

    // The whole streams: nothing more arrived after the last step.
    std::vector<std::string> totals;
    for (Output &o : outs) {
        if (!o.reader)
            continue;
        shutdown(o.fd, SHUT_WR);
        o.reader->join();
        if (o.reader->timed_out() || !o.reader->eof())
            return "!the " + std::string(name(o.sink)) + " reader did not see the end of the stream\n";
        totals.push_back(std::string(name(o.sink)) + " stream " + std::to_string(o.reader->kept().size()) +
                         " bytes in all");
    }
    for (int fd : fds)
        if (fd >= 0)
            ::close(fd);
    for (Line &l : lines) {
        if (l.out >= 0) {
            std::string got = outs[static_cast<size_t>(l.out)].reader->kept().substr(l.from, l.to - l.from);
            std::ostringstream t;
            t << " received " << got.size() << " bytes #" << std::hex << sffault::fnv(got);
            l.text += t.str();
        }
        report += "=" + l.text + "\nS " + l.stats + "\n";
        if (!l.violation.empty())
            report += "V " + l.violation + "\n";
    }
    for (const std::string &t : totals)
        report += "=" + t + "\nS\n";
    return report;
}

// ---- the parent's side -----------------------------------------------------

struct Stats {
    uint64_t hits = 0, misses = 0, bypasses = 0, evictions = 0, entries = 0, mapped = 0, peak = 0, cap = 0;
};

struct Run {
    std::string error;
    std::vector<std::string> lines;   // one per step, then the streams' totals
    std::vector<Stats> stats;         // after each line (shim runs)
    std::vector<std::string> violations;
    const Stats &at(size_t step) const { return stats.at(step); }
    Stats delta(size_t step) const
    {
        Stats a = step ? stats.at(step - 1) : Stats{}, b = stats.at(step);
        return {b.hits - a.hits, b.misses - a.misses, b.bypasses - a.bypasses, b.evictions - a.evictions,
                b.entries, b.mapped, b.peak, b.cap};
    }
    const Stats &last() const { return stats.back(); }
};

Run run(Via via, const Script &sc)
{
    Run r;
    ChildResult cr;
    {
        TempDir ext4(scratch_dir()), tmpfs(scratch_dir_tmpfs());
        if (ext4.dir.empty() || tmpfs.dir.empty()) {
            r.error = "cannot make the scratch directories";
            return r;
        }
        // A hang guard only (memcheck on a loaded machine is slow).
        cr = run_child([&] { return run_script(via, sc, ext4.dir, tmpfs.dir); }, 300000);
    }
    r.error = cr.error;
    std::istringstream in(cr.report);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty())
            continue;
        if (line[0] == '!') {
            r.error = line.substr(1);
            break;
        }
        if (line[0] == '=')
            r.lines.push_back(line.substr(1));
        if (line[0] == 'V')
            r.violations.push_back(line.substr(2));
        if (line[0] == 'S') {
            // A bare "S" (the kernel's run, the streams' totals): as before.
            Stats s = r.stats.empty() ? Stats{} : r.stats.back();
            std::istringstream f(line.substr(1));
            f >> s.hits >> s.misses >> s.bypasses >> s.evictions >> s.entries >> s.mapped >> s.peak >> s.cap;
            r.stats.push_back(s);
        }
    }
    if (r.error.empty() && (r.lines.size() < sc.steps.size() || r.stats.size() != r.lines.size()))
        r.error = "a short report (" + std::to_string(r.lines.size()) + " lines)";
    return r;
}

std::string show(const Stats &s)
{
    std::ostringstream o;
    o << "hits " << s.hits << ", misses " << s.misses << ", bypasses " << s.bypasses << ", evictions "
      << s.evictions << ", entries " << s.entries << ", mapped " << s.mapped << " (peak " << s.peak << ", cap "
      << s.cap << ")";
    return o.str();
}

// The ways a script runs besides the kernel's.
const std::vector<Via> kShimVias = {Via::Mmap, Via::Emulate, Via::Rw, Via::AutoEnosys};
bool cached_mode(Via v) { return v != Via::Rw; }

// Per-script checks of a cached mode's run, beyond matching the kernel.
using Extra = std::function<void(Via, const Run &)>;

// Runs the script through the kernel and each shim mode; the shim's lines
// must be the kernel's; the cache must stay within its limits after every
// call; the cached modes must hit (unless `hits` is false) and RW must never
// use the cache; then `extra` for each cached mode.
void check_script(const Script &sc, bool hits, const Extra &extra = nullptr)
{
    INFO("script:\n" << describe(sc));
    Run kernel = run(Via::Kernel, sc);
    REQUIRE(kernel.error == "");
    for (Via via : kShimVias) {
        INFO("via " << name(via));
        Run shim = run(via, sc);
        REQUIRE(shim.error == "");
        size_t n = std::max(kernel.lines.size(), shim.lines.size());
        for (size_t i = 0; i < n; ++i) {
            std::string k = i < kernel.lines.size() ? kernel.lines[i] : "(none)";
            std::string s = i < shim.lines.size() ? shim.lines[i] : "(none)";
            if (k != s) {
                FAIL_CHECK("step " << i << " (" << (i < sc.steps.size() ? describe(sc.steps[i]) : "the streams' totals")
                                   << ") differs:\n  kernel: " << k << "\n  shim:   " << s);
                break;
            }
        }
        INFO("the cache after the run: " << show(shim.last()));
        for (const std::string &v : shim.violations)
            FAIL_CHECK("the cache passed its limits " << v);
        if (!cached_mode(via)) {
            for (size_t i = 0; i < shim.stats.size(); ++i) {
                const Stats &s = shim.stats[i];
                if (s.hits || s.misses || s.bypasses || s.entries || s.mapped) {
                    FAIL_CHECK("RW used the cache by step " << i << ": " << show(s));
                    break;
                }
            }
            continue;
        }
        if (hits)
            CHECK(shim.last().hits > 0);
        if (extra)
            extra(via, shim);
    }
}

sfshim::CacheLimits limits(size_t bytes, size_t entries, size_t segment)
{
    return sfshim::CacheLimits{bytes, entries, segment, kNeverIdle};
}

} // namespace

TEST_CASE("a cached file sent through many descriptors gives the kernel's results and is mapped once", "[cache]")
{
    Script s(limits(4 * kMiB, 16, 256 * kKiB));
    int a = s.file(false, 300000, 11); // two segments
    s.open(0, a);
    s.open(1, a);
    s.open(2, a);
    s.dup(3, 0);
    s.send(kTcp, 0, 0, 300000);
    s.send(kUnix, 1, 1000, 20000);
    s.send(kTcp, 2, 5000, 60000);
    s.send_pos(kPipe, 0, 70000);
    s.send(kFile, 1, 250000, 1 * kMiB); // across the segments' boundary, to the end
    s.send_pos(kUnix, 3, 50000);        // the dup's position is d0's
    s.send(kTcp, 2, 299990, 100);
    s.send(kFile, 0, 0, 2 * kMiB);
    s.send(kUnix, 1, 262140, 8); // 4 bytes of each segment
    s.reopen(4, 1);
    s.send(kTcp, 4, 123, 4000);
    s.send_pos(kNull, 4, 10000);
    s.close(0);
    s.send(kUnix, 3, 0, 1000);
    s.send_pos(kTcp, 3, 100000);
    check_script(s, true, [](Via, const Run &r) {
        CHECK(r.last().misses <= 2); // one per segment: every descriptor shares them
        CHECK(r.last().evictions == 0);
    });
}

TEST_CASE("a file replaced under its name between calls is a new file to the cache", "[cache]")
{
    Script s(limits(4 * kMiB, 16, 256 * kKiB));
    int a = s.file(false, 200000, 21);
    s.open(0, a);
    s.send(kTcp, 0, 100, 30000);
    s.send(kFile, 0, 0, 1 * kMiB);
    s.replace(a, 200000, 22); // the same size, new bytes, a new inode
    s.open(1, a);
    size_t fresh = s.send(kTcp, 1, 100, 30000);
    size_t stale = s.send(kTcp, 0, 100, 30000); // the old inode, now unlinked
    s.unmapped(0);
    s.send(kUnix, 1, 4096, 30000);
    s.send_pos(kPipe, 0, 60000);
    s.send_pos(kFile, 1, 1 * kMiB);
    s.replace(a, 150000, 23); // another size
    s.open(2, a);
    s.send(kUnix, 2, 0, 50000);
    s.send(kFile, 2, 0, 1 * kMiB);
    size_t stale2 = s.send(kTcp, 1, 0, 1000);
    s.unmapped(1);
    s.send(kTcp, 2, 149000, 5000);
    check_script(s, true, [=](Via, const Run &r) {
        CHECK(r.delta(fresh).misses >= 1);
        CHECK(r.delta(stale).bypasses >= 1);
        CHECK(r.delta(stale).hits == 0);
        CHECK(r.delta(stale2).bypasses >= 1);
        CHECK(r.last().misses >= 3); // three inodes
    });
}

TEST_CASE("a cached file truncated, regrown to the same size with new bytes, and grown gives the kernel's bytes",
          "[cache]")
{
    Script s(limits(4 * kMiB, 16, 256 * kKiB));
    int a = s.file(true, 300000, 31);
    s.open(0, a);
    s.open(1, a);
    s.send(kUnix, 0, 4096, 40000);
    s.send(kFile, 0, 0, 1 * kMiB);
    s.truncate(a, 100000);
    size_t shrunk = s.send(kTcp, 0, 90000, 30000); // a new size: a miss, the old entries go
    s.send(kTcp, 1, 100000, 10);                   // at the new end
    // Shorter, then the same size again with new bytes in the second half,
    // without a call in between: an entry of this size is still there.
    s.truncate(a, 50000);
    s.write(a, 50000, 50000, 32);
    s.send(kUnix, 1, 40000, 30000);
    s.truncate(a, 0);
    s.write(a, 0, 100000, 33);
    s.send(kFile, 0, 0, 1 * kMiB);
    s.send_pos(kPipe, 1, 65536);
    s.write(a, 100000, 400000, 34); // grown to 500000
    size_t grown = s.send(kTcp, 0, 60000, 40000);
    s.send_pos(kFile, 1, 1 * kMiB);
    s.truncate(a, 262144); // on the segments' boundary
    s.send(kUnix, 0, 258048, 8192);
    s.send(kTcp, 0, 262144, 100);
    s.send(kFile, 1, 0, 1 * kMiB);
    s.send_pos(kTcp, 0, 1 * kMiB);
    check_script(s, true, [=](Via, const Run &r) {
        INFO("after the shrunk call: " << show(r.delta(shrunk)));
        CHECK(r.delta(shrunk).misses >= 1);
        CHECK(r.delta(shrunk).evictions >= 1);
        INFO("after the grown call: " << show(r.delta(grown)));
        CHECK(r.delta(grown).misses >= 1);
        CHECK(r.delta(grown).evictions >= 1);
    });
}

TEST_CASE("a cached file unlinked between calls is bypassed and unmapped at once, through the same and a new descriptor",
          "[cache]")
{
    Script s(limits(4 * kMiB, 16, 256 * kKiB));
    int a = s.file(false, 150000, 41);
    int b = s.file(true, 30000, 42);
    s.open(0, a);
    s.open(1, a);
    s.send(kTcp, 0, 0, 50000);
    s.send(kUnix, 1, 10000, 20000);
    s.unlink(a);
    size_t after = s.send(kTcp, 0, 0, 50000);
    s.unmapped(0);
    s.reopen(2, 1);
    size_t fresh_fd = s.send(kUnix, 2, 100, 30000);
    s.unmapped(2);
    s.send_pos(kFile, 1, 1 * kMiB);
    s.send(kPipe, 0, 140000, 50000);
    s.send_pos(kUnix, 2, 200000);
    s.send(kTcp, 2, 149999, 10);
    s.unmapped(1);
    s.open(3, b);
    s.send(kTcp, 3, 0, 30000);
    s.send(kUnix, 3, 10, 100);
    check_script(s, true, [=](Via, const Run &r) {
        INFO("after the first call since the unlink: " << show(r.delta(after)));
        CHECK(r.delta(after).bypasses >= 1);
        CHECK(r.delta(after).evictions >= 1);
        CHECK(r.delta(after).hits == 0);
        CHECK(r.at(after).entries == 0);
        CHECK(r.at(after).mapped == 0);
        CHECK(r.delta(fresh_fd).bypasses >= 1);
        CHECK(r.at(fresh_fd).entries == 0);
    });
}

TEST_CASE("more files than the cache has entries give the kernel's results and evict", "[cache]")
{
    Script s(limits(1 * kMiB, 4, 64 * kKiB));
    std::vector<int> f;
    for (int i = 0; i < 10; ++i)
        f.push_back(s.file(i % 2 == 0, 40000 + static_cast<uint64_t>(i) * 7, 50 + static_cast<uint64_t>(i)));
    f.push_back(s.file(true, 100000, 61)); // two segments each
    f.push_back(s.file(false, 100000, 62));
    for (int round = 0; round < 2; ++round)
        for (int i = 0; i < static_cast<int>(f.size()); ++i) {
            int slot = i % kSlots;
            if (round == 0)
                s.open(slot, f[static_cast<size_t>(i)]);
            int out = (i + round) % 2 == 0 ? kTcp : kUnix;
            s.send(out, slot, (i * 137) % 4000, 20000);
            s.send(out, slot, 20000, 20000);
            if (i % 4 == 3)
                s.send(kFile, slot, 0, 1 * kMiB);
            if (i % 5 == 0)
                s.send(kPipe, slot, 100, 30000);
        }
    check_script(s, true, [](Via, const Run &r) { CHECK(r.last().evictions > 0); });
}

TEST_CASE("files that pass the cache's byte cap together give the kernel's results and evict", "[cache]")
{
    Script s(limits(128 * kKiB, 64, 64 * kKiB)); // two files of 15 pages fit, three do not
    std::vector<int> f;
    for (int i = 0; i < 6; ++i)
        f.push_back(s.file(i % 2 == 1, 60000, 80 + static_cast<uint64_t>(i)));
    for (int round = 0; round < 3; ++round)
        for (int i = 0; i < 6; ++i) {
            if (round == 0)
                s.open(i, f[static_cast<size_t>(i)]);
            s.send(round == 1 ? kUnix : kTcp, i, 4096 * i + 1, 30000);
            s.send(kTcp, i, 30000, 30000);
            if (i == round)
                s.send(kFile, i, 0, 1 * kMiB);
        }
    check_script(s, true, [](Via, const Run &r) { CHECK(r.last().evictions > 0); });
}

TEST_CASE("a file larger than the cache's cap in one segment is bypassed, and the kernel's bytes are sent", "[cache]")
{
    Script s(limits(256 * kKiB, 16, 2 * kMiB));
    int big = s.file(false, 1 * kMiB + 3, 71); // one segment, four times the cap
    int small = s.file(true, 10000, 72);
    s.open(0, big);
    s.open(1, small);
    size_t first = s.send(kTcp, 0, 0, 60000);
    s.send(kUnix, 0, 500000, 30000);
    s.send(kFile, 0, 0, 2 * kMiB);
    s.send_pos(kPipe, 0, 65536);
    size_t last_big = s.send(kUnix, 0, 1 * kMiB - 5, 100);
    s.send(kTcp, 1, 0, 5000);
    s.send(kTcp, 1, 100, 5000); // the small file is kept and hits
    s.send_pos(kTcp, 0, 2 * kMiB);
    check_script(s, true, [=](Via, const Run &r) {
        CHECK(r.delta(first).bypasses >= 1);
        for (size_t i = first; i <= last_big; ++i) {
            INFO("after step " << i << ": " << show(r.at(i)));
            CHECK(r.at(i).entries == 0);
            CHECK(r.at(i).misses == 0);
        }
    });
}

TEST_CASE("every output kind receives the kernel's bytes from cached segments, across their boundaries", "[cache]")
{
    Script s(limits(8 * kMiB, 32, 256 * kKiB));  // the file is kept: at most half the cap
    const uint64_t size = 2 * kMiB + 5;
    int e = s.file(true, size, 91);
    s.open(0, e);
    s.open(1, e);
    for (int out : {kTcp, kUnix, kPipe, kFile}) {
        s.send(out, 0, 262140, 10);
        s.send(out, 0, 4095, 65536 - 4095);
        s.send(out, 0, 524288 - 3, 6);
        s.seek(1, 262144 * 3 - 100);
        s.send_pos(out, 1, 300000);
        s.send(out, 0, static_cast<int64_t>(2 * kMiB), 10);
        s.send(out, 0, static_cast<int64_t>(size), 10);
        s.send(out, 0, 0, 4 * kMiB); // past mmap_min_unix, mmap_min_file
    }
    s.send_pos(kFile, 1, 4 * kMiB);
    check_script(s, true);
}

TEST_CASE("with the cache off (no bytes, or no entries) every call gives the kernel's results and nothing is kept",
          "[cache]")
{
    for (sfshim::CacheLimits off : {limits(0, 16, 256 * kKiB), limits(4 * kMiB, 0, 256 * kKiB)}) {
        Script s(off);
        int a = s.file(false, 300000, 95);
        s.open(0, a);
        s.open(1, a);
        s.send(kTcp, 0, 0, 60000);
        s.send(kTcp, 0, 0, 60000);
        s.send(kUnix, 1, 5000, 30000);
        s.send(kFile, 0, 0, 1 * kMiB);
        s.send_pos(kPipe, 1, 65536);
        s.send(kUnix, 0, 0, 4 * kMiB);
        check_script(s, false, [](Via, const Run &r) {
            for (const Stats &st : r.stats) {
                INFO(show(st));
                CHECK(st.hits == 0);
                CHECK(st.misses == 0);
                CHECK(st.entries == 0);
                CHECK(st.mapped == 0);
            }
        });
    }
}


// A file larger than half of cache_bytes is never kept, even where its
// segments (or its last, short one) would each fit: streaming through the
// cache, it would evict every other file.
TEST_CASE("a file larger than half the cache's cap is bypassed even where its segments fit", "[cache]")
{
    for (size_t segment : {64 * kKiB, 1 * kMiB}) {
        Script s(limits(256 * kKiB, 16, segment));
        int big = s.file(true, 1 * kMiB + 3, 73);
        s.open(0, big);
        s.send(kTcp, 0, 0, 60000);
        s.send(kUnix, 0, 500000, 30000);
        s.send(kFile, 0, 0, 2 * kMiB);
        s.send_pos(kPipe, 0, 65536);
        s.send(kUnix, 0, 1 * kMiB - 5, 100);
        s.send(kTcp, 0, 0, 60000);
        check_script(s, false, [](Via, const Run &r) {
            CHECK(r.last().bypasses >= 1);
            CHECK(r.last().misses == 0);
            CHECK(r.last().hits == 0);
            CHECK(r.last().entries == 0);
        });
    }
}

// A file truncated and regrown to the same size between calls has moved its
// change time: a new key, so the mapping made before the change is never used
// after it (where an inode number can stand for other pages, overlayfs's
// copy-up, the old mapping would show old bytes). The old entry is dropped at
// the miss, so one entry remains.
TEST_CASE("a cached file truncated and regrown to the same size between calls is mapped anew and sends the new bytes",
          "[cache]")
{
    Script s(limits(4 * kMiB, 16, 256 * kKiB));
    int a = s.file(true, 100000, 35);
    s.open(0, a);
    s.send(kUnix, 0, 0, 60000); // kept
    s.truncate(a, 50000);
    s.write(a, 50000, 50000, 36); // the same size, new bytes in the second half
    size_t regrown = s.send(kUnix, 0, 40000, 30000);
    s.truncate(a, 0);
    s.write(a, 0, 100000, 37); // the same size, every byte new
    size_t rewritten = s.send(kTcp, 0, 0, 60000);
    size_t again = s.send(kTcp, 0, 60000, 40000);
    check_script(s, true, [=](Via, const Run &r) {
        for (size_t step : {regrown, rewritten}) {
            INFO("after step " << step << ": " << show(r.delta(step)));
            CHECK(r.delta(step).misses == 1);
            CHECK(r.delta(step).evictions == 1); // the entry from before the change
            CHECK(r.at(step).entries == 1);
        }
        INFO("after step " << again << ": " << show(r.delta(again)));
        CHECK(r.delta(again).hits >= 1); // unchanged since: the new entry serves
        CHECK(r.delta(again).misses == 0);
    });
}
