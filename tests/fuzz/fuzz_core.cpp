#include "fuzz_core.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <sstream>

#include "cache.h"
#include "drain.h"

using namespace sffault;

namespace sffuzz {

namespace {

// Pools. Inputs: 0 file A (tmpfs, changes size), 1 memfd B, 2 file C on the
// build tree's file system, 3 pipe holding 20000 bytes, 4 directory,
// 5 /dev/zero, 6 closed, 7 the output file itself.
// Outputs: 0 file (tmpfs), 1 Unix stream socket (a thread drains it), 2 pipe
// (drained after each step), 3 /dev/null, 4 eventfd, 5 closed, 6 O_APPEND file.
constexpr int kIns = 8, kOuts = 7;
const char *const kInNames[kIns] = {"fileA", "memfdB", "ext4C", "pipe", "dir", "/dev/zero", "closed", "outfile"};
const char *const kOutNames[kOuts] = {"file", "unix", "pipe", "/dev/null", "eventfd", "closed", "appendfile"};
const char *const kPtrNames[4] = {"NULL", "good", "PROT_NONE", "PROT_READ"};

constexpr uint64_t kSizeA = 300000;

int64_t pick_offset(Rand &r)
{
    static const int64_t special[] = {0, 1, 4095, 4096, 4097, 65536, 131071, 299999, 300000, 300001,
                                      -1, INT64_MIN, INT64_MAX, INT64_MAX - 1, (int64_t{1} << 44) - 4096,
                                      0x7fffffff, 0x80000000};
    uint64_t x = r();
    if (x % 3 == 0)
        return special[(x / 3) % (sizeof special / sizeof special[0])];
    return static_cast<int64_t>((x >> 8) % 400000);
}

uint64_t pick_count(Rand &r)
{
    static const uint64_t special[] = {0, 1, 4095, 4096, 4097, 65536, 65537, 131072, 0x7ffff000, 0x7ffff001,
                                       SSIZE_MAX, uint64_t{SSIZE_MAX} + 1, SIZE_MAX};
    uint64_t x = r();
    if (x % 3 == 0)
        return special[(x / 3) % (sizeof special / sizeof special[0])];
    return (x >> 8) % 500000;
}

} // namespace

std::string Step::describe() const
{
    std::ostringstream s;
    switch (op) {
    case Op::Send:
        s << "sendfile(" << kOutNames[out] << ", " << kInNames[in] << ", " << kPtrNames[ptr];
        if (ptr != 0)
            s << "=" << offset;
        s << ", " << count << ")";
        break;
    case Op::Truncate: s << "ftruncate(fileA, " << arg << ")"; break;
    case Op::Extend: s << "append to fileA up to " << arg; break;
    case Op::SeekIn: s << "lseek(" << kInNames[in] << ", " << arg << ")"; break;
    case Op::SeekOut: s << "lseek(file, " << arg << ")"; break;
    case Op::Rewrite:
        s << "pwrite(" << kInNames[in] << ", " << count << " new bytes (seed " << offset << ") at " << arg << ")";
        break;
    case Op::Replace:
        s << "rename a new " << kInNames[in] << " of " << arg << " bytes (seed " << offset << ") over its name, reopen it";
        break;
    case Op::Unlink: s << "unlink(" << kInNames[in] << ")"; break;
    }
    return s.str();
}

std::string CacheSetup::describe() const
{
    if (!on)
        return "no cache episode";
    std::ostringstream s;
    s << "cache of " << bytes << " bytes, " << entries << " entries, segments of " << segment << ", idle after "
      << idle_ms << " ms; fileA and ext4C linked";
    return s.str();
}

std::vector<Step> make_episode(Rand rand, size_t steps)
{
    std::vector<Step> v;
    for (size_t i = 0; i < steps; ++i) {
        Step s;
        uint64_t k = rand() % 16;
        if (k < 10) {
            s.op = Op::Send;
            s.in = static_cast<int>(rand() % kIns);
            s.out = static_cast<int>(rand() % kOuts);
            uint64_t p = rand() % 10;
            s.ptr = p < 4 ? 0 : p < 8 ? 1 : p == 8 ? 2 : 3;
            s.offset = pick_offset(rand);
            s.count = pick_count(rand);
            // A file sent into itself past its end keeps growing under the
            // kernel (see the fault test "a file sent into itself..."):
            // not fuzzed here, pinned there.
            if (s.in == 7 && s.out == 0)
                s.out = 3;
            // /dev/zero never ends: keep its transfers small.
            if (s.in == 5 && s.count > 70000)
                s.count %= 70000;
        } else if (k < 12) {
            s.op = Op::Truncate;
            uint64_t c = rand() % 4;
            s.arg = c == 0 ? 0 : c == 1 ? static_cast<int64_t>((rand() % 75) * 4096)
                                        : static_cast<int64_t>(rand() % kSizeA);
        } else if (k < 13) {
            s.op = Op::Extend;
            s.arg = static_cast<int64_t>(kSizeA + rand() % 100000);
        } else if (k < 15) {
            s.op = Op::SeekIn;
            uint64_t which = rand() % 3;
            s.in = which == 0 ? 0 : which == 1 ? 1 : 7;
            s.arg = static_cast<int64_t>(rand() % 400000);
        } else {
            s.op = Op::SeekOut;
            s.arg = static_cast<int64_t>(rand() % 400000);
        }
        v.push_back(s);
    }
    return v;
}

CacheSetup make_cache_setup(Rand rand)
{
    static const uint64_t bytes[] = {64 << 10, 128 << 10, 256 << 10, 1 << 20, 8 << 20};
    static const uint64_t entries[] = {1, 2, 3, 8, 64};
    static const uint64_t segments[] = {4096, 16 << 10, 64 << 10, 256 << 10, 4 << 20};
    CacheSetup c;
    c.on = true;
    c.bytes = bytes[rand() % 5];
    c.entries = entries[rand() % 5];
    c.segment = segments[rand() % 5];
    c.idle_ms = rand() % 4 == 0 ? 0 : 3600u * 1000u; // 0: every idle entry goes at each sweep
    return c;
}

std::vector<Step> make_cache_episode(Rand rand, size_t steps)
{
    std::vector<Step> v;
    for (size_t i = 0; i < steps; ++i) {
        Step s;
        uint64_t k = rand() % 20;
        if (k < 11) {
            s.op = Op::Send;
            uint64_t w = rand() % 10; // mostly the linked files
            s.in = w < 4 ? 0 : w < 6 ? 2 : static_cast<int>(rand() % kIns);
            s.out = static_cast<int>(rand() % kOuts);
            uint64_t p = rand() % 10; // mostly an offset: the small-call path takes only those
            s.ptr = p < 2 ? 0 : p < 9 ? 1 : static_cast<int>(2 + rand() % 2);
            s.offset = rand() % 2 ? pick_offset(rand) : static_cast<int64_t>(rand() % 310000);
            s.count = rand() % 2 ? pick_count(rand) : rand() % 70000;
            if (s.in == 7 && s.out == 0) // see make_episode
                s.out = 3;
            if (s.in == 5 && s.count > 70000)
                s.count %= 70000;
        } else if (k < 13) {
            s.op = Op::Truncate;
            uint64_t c = rand() % 4;
            s.arg = c == 0 ? 0 : c == 1 ? static_cast<int64_t>((rand() % 75) * 4096)
                                        : static_cast<int64_t>(rand() % kSizeA);
        } else if (k < 14) {
            s.op = Op::Extend;
            s.arg = static_cast<int64_t>(kSizeA + rand() % 100000);
        } else if (k < 16) {
            s.op = Op::Rewrite;
            s.in = rand() % 2 ? 0 : 2;
            s.arg = static_cast<int64_t>(rand() % 350000);
            s.count = 1 + rand() % 100000;
            s.offset = static_cast<int64_t>(100 + rand() % 1000);
        } else if (k < 17) {
            s.op = Op::Replace;
            s.in = rand() % 2 ? 0 : 2;
            s.arg = static_cast<int64_t>(rand() % 400000);
            s.offset = static_cast<int64_t>(2000 + rand() % 1000);
        } else if (k < 18) {
            s.op = Op::Unlink;
            s.in = rand() % 2 ? 0 : 2;
        } else if (k < 19) {
            s.op = Op::SeekIn;
            uint64_t which = rand() % 3;
            s.in = which == 0 ? 0 : which == 1 ? 2 : 7;
            s.arg = static_cast<int64_t>(rand() % 400000);
        } else {
            s.op = Op::SeekOut;
            s.arg = static_cast<int64_t>(rand() % 400000);
        }
        v.push_back(s);
    }
    return v;
}

void fit_to_via(Via via, std::vector<Step> &steps)
{
    const sftest::LayerProfile *layer = sffault::layer_of(via);
    if (!layer || !layer->pipe_queue_blind)
        return;
    // Counts into pipes are not Linux's under such a layer (layers.h): the
    // episode sends into the Unix socket instead, for the kernel too.
    for (Step &s : steps)
        if (s.op == Op::Send && s.out == 2)
            s.out = 1;
}

const std::vector<Via> &cache_fuzz_vias()
{
    static const std::vector<Via> v = runnable(
        {Via::Mmap, Via::Emulate, Via::AutoEnosys, Via::AutoCompat, Via::Rw, Via::AutoLinuxulator,
         Via::AutoIllumosLx});
    return v;
}

const std::vector<Via> &fuzz_vias()
{
    static const std::vector<Via> v = runnable({Via::Emulate, Via::Mmap, Via::Rw, Via::Auto, Via::AutoEnosys,
                                                Via::AutoEperm, Via::AutoFreebsd, Via::AutoCompat,
                                                Via::AutoLinuxulator, Via::AutoIllumosLx});
    return v;
}

namespace {

std::string whole(int fd)
{
    std::string s;
    char buf[65536];
    off_t at = 0;
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, at);
        if (n <= 0)
            break;
        s.append(buf, static_cast<size_t>(n));
        at += n;
    }
    return s;
}

long long pos(int fd)
{
    errno = 0;
    off_t p = lseek(fd, 0, SEEK_CUR);
    return p < 0 ? -static_cast<long long>(errno) : static_cast<long long>(p);
}

// Deadlines, each ending in a clear harness error (never an observation):
// far longer than a step or an episode takes on a loaded machine.
constexpr int kCatchUpMs = 30000;
constexpr int kEpisodeMs = 120000;

bool wait_caught_up(const Reader &r)
{
    int64_t until = now_ms() + kCatchUpMs;
    while (!r.caught_up()) {
        if (now_ms() >= until)
            return false;
        timespec ts{0, 100000};
        nanosleep(&ts, nullptr);
    }
    return true;
}

// A cache episode's linked file: pattern bytes, O_RDWR, at `path`.
int linked_file(const std::string &path, uint64_t seed, uint64_t size)
{
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0 && !write_pattern(fd, seed, 0, size)) {
        close(fd);
        return -1;
    }
    return fd;
}

std::string episode_in_child(Via via, const std::vector<Step> &steps, const CacheSetup &cache,
                             const std::string &dir_tmpfs, const std::string &dir_ext4)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    sigaddset(&block, SIGXFSZ);
    sigprocmask(SIG_BLOCK, &block, nullptr);
    if (!install_filter(via))
        return "seccomp failed\n";

    const bool shim = via != Via::Kernel;
    if (cache.on && shim) {
        sfshim::cache_set_limits_for_tests(sfshim::CacheLimits{static_cast<size_t>(cache.bytes),
                                                               static_cast<size_t>(cache.entries),
                                                               static_cast<size_t>(cache.segment), cache.idle_ms});
        sfshim_stats_reset();
    }

    int in[kIns], out[kOuts];
    // Cache episodes: A and C by name, linked (Replace and Unlink need it).
    std::string path[kIns];
    if (cache.on) {
        path[0] = dir_tmpfs + "/fileA";
        path[2] = dir_ext4 + "/ext4C";
        in[0] = linked_file(path[0], 1, kSizeA);
        in[2] = linked_file(path[2], 3, 70000);
        if (in[0] < 0 || in[2] < 0)
            return "!cannot create the linked files\n";
    } else {
        in[0] = make_file(1, kSizeA, true);
    }
    in[1] = memfd_create("fuzzB", MFD_CLOEXEC);
    write_pattern(in[1], 2, 0, 100000);
    if (!cache.on)
        in[2] = make_file(3, 70000, false);
    int p[2];
    pipe2(p, O_CLOEXEC);
    {
        std::vector<char> buf(20000);
        fill_pattern(buf.data(), 4, 0, buf.size());
        (void)!write(p[1], buf.data(), buf.size());
        close(p[1]);
    }
    in[3] = p[0];
    in[4] = open(scratch_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    in[5] = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    out[0] = make_file(5, 1000, true);
    in[7] = out[0];
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    out[1] = sv[0];
    int q[2];
    pipe2(q, O_CLOEXEC);
    set_nonblock(q[0], true);
    out[2] = q[1];
    out[3] = open("/dev/null", O_WRONLY | O_CLOEXEC);
    out[4] = eventfd(0, EFD_CLOEXEC);
    out[6] = make_file(6, 500, true);
    {
        int a = sftest::proc_open("self/fd/" + std::to_string(out[6]), O_WRONLY | O_APPEND);
        close(out[6]);
        out[6] = a;
    }
    int closed = open("/dev/null", O_RDONLY | O_CLOEXEC);
    close(closed);
    in[6] = closed;
    out[5] = closed;

    // The socket's reader, in a thread: the socket stays blocking, so every
    // call runs to its end and the bytes are compared per step.
    Reader sock_reader(sv[1], 0, 0, kEpisodeMs, nullptr, true);
    sock_reader.start();

    long page = sysconf(_SC_PAGESIZE);
    char *pages = static_cast<char *>(mmap(nullptr, static_cast<size_t>(page) * 3, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    int64_t *good = reinterpret_cast<int64_t *>(pages);
    int64_t *none = reinterpret_cast<int64_t *>(pages + page);
    int64_t *ro = reinterpret_cast<int64_t *>(pages + 2 * page);
    mprotect(pages + page, static_cast<size_t>(page), PROT_NONE);

    std::string report;
    uint64_t sock_seen = 0;
    for (const Step &s : steps) {
        std::ostringstream o;
        switch (s.op) {
        case Op::Truncate: o << "trunc " << ftruncate(in[0], s.arg); break;
        case Op::Extend: {
            struct stat st;
            fstat(in[0], &st);
            if (s.arg > st.st_size)
                write_pattern(in[0], 1, static_cast<uint64_t>(st.st_size), static_cast<uint64_t>(s.arg));
            o << "extend";
            break;
        }
        case Op::SeekIn: o << "seek " << lseek(in[s.in], s.arg, SEEK_SET); break;
        case Op::SeekOut: o << "seek " << lseek(out[0], s.arg, SEEK_SET); break;
        case Op::Rewrite:
            o << "rewrite "
              << write_pattern(in[s.in], static_cast<uint64_t>(s.offset), static_cast<uint64_t>(s.arg),
                               static_cast<uint64_t>(s.arg) + s.count);
            break;
        case Op::Replace: {
            std::string fresh = path[s.in] + ".new";
            int fd = linked_file(fresh, static_cast<uint64_t>(s.offset), static_cast<uint64_t>(s.arg));
            bool ok = fd >= 0 && rename(fresh.c_str(), path[s.in].c_str()) == 0;
            if (ok) {
                close(in[s.in]);
                in[s.in] = fd;
            } else if (fd >= 0) {
                close(fd);
            }
            o << "replace " << ok;
            break;
        }
        case Op::Unlink: o << "unlink " << unlink(path[s.in].c_str()); break;
        case Op::Send: {
            int64_t *ptr = nullptr;
            if (s.ptr == 1) {
                ptr = good;
                *good = s.offset;
            } else if (s.ptr == 2) {
                ptr = none;
            } else if (s.ptr == 3) {
                mprotect(ro, static_cast<size_t>(page), PROT_READ | PROT_WRITE);
                *ro = s.offset;
                mprotect(ro, static_cast<size_t>(page), PROT_READ);
                ptr = ro;
            }
            errno = 12345;
            ssize_t r = send_via(via, out[s.out], in[s.in], ptr, s.count);
            int err = errno;
            o << "ret " << r << " errno " << err;
            if (s.ptr == 1)
                o << " off " << *good;
            if (s.ptr == 3)
                o << " off " << *ro;
            o << " posA " << pos(in[0]) << " posB " << pos(in[1]) << " posC " << pos(in[2]) << " posOut "
              << pos(out[0]);
            sigset_t pend;
            sigpending(&pend);
            if (sigismember(&pend, SIGPIPE) || sigismember(&pend, SIGXFSZ)) {
                o << " signal";
                timespec zero{0, 0};
                sigtimedwait(&block, nullptr, &zero);
            }
            if (s.out == 0 || s.out == 6 || s.in == 0 || s.in == 7)
                o << " out#" << fnv(whole(out[0])) << " app#" << fnv(whole(out[6])) << " A#" << fnv(whole(in[0]));
            if (s.out == 2)
                o << " pipe#" << fnv(sftest::drain_now(q[0]));
            if (s.out == 1) {
                // Every byte this call put into the socket, whatever it
                // returned (a read-only offset pointer gives EFAULT after
                // moving bytes): the call has returned, so they are all in
                // the reading end's queue; wait until the reader has taken
                // and counted them. A fact, not a pause: two equal counts
                // some milliseconds apart also come from a reader that was
                // preempted between its read and its count.
                if (!wait_caught_up(sock_reader)) {
                    report += "!timed out after " + std::to_string(kCatchUpMs) +
                              " ms waiting for the socket's reader to take what step " +
                              std::to_string(&s - steps.data()) + " sent\n";
                    return report;
                }
                o << " sock " << sock_reader.received() - sock_seen;
                sock_seen = sock_reader.received();
            }
            if (cache.on && shim) {
                sfshim_cache_stats cs;
                sfshim_cache_stats_get(&cs);
                if (cs.mapped_bytes > cache.bytes || cs.peak_mapped_bytes > cache.bytes || cs.entries > cache.entries) {
                    report += "!the cache passed its limits after step " + std::to_string(&s - steps.data()) +
                              ": " + std::to_string(cs.entries) + " entries, " + std::to_string(cs.mapped_bytes) +
                              " bytes mapped (peak " + std::to_string(cs.peak_mapped_bytes) + ")\n";
                    return report;
                }
            }
            break;
        }
        }
        report += o.str() + "\n";
    }
    shutdown(sv[0], SHUT_WR);
    sock_reader.join();
    if (sock_reader.timed_out() || !sock_reader.eof()) {
        report += "!the socket's reader timed out after " + std::to_string(kEpisodeMs) + " ms\n";
        return report;
    }
    report += "socket#" + std::to_string(fnv(sock_reader.kept())) + "\n";
    if (cache.on && shim) { // not compared: the kernel has no cache
        sfshim_cache_stats cs;
        sfshim_cache_stats_get(&cs);
        report += "#cache " + std::to_string(cs.hits) + " " + std::to_string(cs.misses) + " " +
                  std::to_string(cs.bypasses) + " " + std::to_string(cs.evictions) + "\n";
    }
    return report;
}

std::string make_dir(const std::string &under)
{
    std::string t = under + "/sfshim-fuzz-XXXXXX";
    std::vector<char> buf(t.begin(), t.end());
    buf.push_back('\0');
    return mkdtemp(buf.data()) ? std::string(buf.data()) : std::string();
}

void remove_dir(const std::string &dir)
{
    if (dir.empty())
        return;
    if (DIR *d = opendir(dir.c_str())) {
        while (dirent *e = readdir(d))
            if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
                unlink((dir + "/" + e->d_name).c_str());
        closedir(d);
    }
    rmdir(dir.c_str());
}

} // namespace

std::vector<std::string> run_episode(Via via, const std::vector<Step> &steps, std::string &error,
                                     const CacheSetup &cache, CacheCounts *counts)
{
    // A cache episode's files live in directories the parent removes, whatever becomes of the child.
    std::string dir_tmpfs, dir_ext4;
    if (cache.on) {
        dir_tmpfs = make_dir("/dev/shm");
        dir_ext4 = make_dir(scratch_dir());
        if (dir_tmpfs.empty() || dir_ext4.empty()) {
            remove_dir(dir_tmpfs);
            remove_dir(dir_ext4);
            error = "cannot make the cache episode's directories";
            return {};
        }
    }
    ChildResult cr = run_child([&] { return episode_in_child(via, steps, cache, dir_tmpfs, dir_ext4); },
                               kEpisodeMs + 30000);
    remove_dir(dir_tmpfs);
    remove_dir(dir_ext4);
    std::vector<std::string> lines;
    std::istringstream s(cr.report);
    std::string line;
    error = cr.error;
    while (std::getline(s, line)) {
        if (!line.empty() && line[0] == '!') { // the harness, not the call under test
            error = line.substr(1);
            break;
        }
        if (line.compare(0, 7, "#cache ") == 0) {
            if (counts) {
                std::istringstream c(line.substr(7));
                c >> counts->hits >> counts->misses >> counts->bypasses >> counts->evictions;
            }
            continue;
        }
        lines.push_back(line);
    }
    return lines;
}

long first_difference(const std::vector<std::string> &a, const std::vector<std::string> &b)
{
    size_t n = std::max(a.size(), b.size());
    for (size_t i = 0; i < n; ++i)
        if (i >= a.size() || i >= b.size() || a[i] != b[i])
            return static_cast<long>(i);
    return -1;
}

} // namespace sffuzz
