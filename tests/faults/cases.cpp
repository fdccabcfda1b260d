#include "cases.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <sstream>

#include "drain.h"

namespace sffault {

const char *name(Kind k)
{
    switch (k) {
    case Kind::File: return "file";
    case Kind::FileReadOnly: return "read-only file";
    case Kind::FileWriteOnly: return "write-only file";
    case Kind::FileAppend: return "O_APPEND file";
    case Kind::Memfd: return "memfd";
    case Kind::Directory: return "directory";
    case Kind::ProcStatus: return "/proc/self/status";
    case Kind::ProcVersion: return "/proc/version";
    case Kind::DevZero: return "/dev/zero";
    case Kind::DevNull: return "/dev/null";
    case Kind::Eventfd: return "eventfd";
    case Kind::OPath: return "O_PATH file";
    case Kind::Signalfd: return "signalfd";
    case Kind::Timerfd: return "timerfd";
    case Kind::Epoll: return "epoll";
    case Kind::Inotify: return "inotify";
    case Kind::TcpListening: return "listening TCP socket";
    case Kind::TcpUnconnected: return "unconnected TCP socket";
    case Kind::UnixStream: return "Unix stream socket";
    case Kind::PipeRead: return "pipe read end";
    case Kind::PipeWrite: return "pipe write end";
    case Kind::Closed: return "closed fd";
    case Kind::MinusOne: return "fd -1";
    case Kind::Huge: return "fd INT_MAX";
    }
    return "?";
}

const std::vector<Kind> &all_kinds()
{
    static const std::vector<Kind> k = {
        Kind::File,     Kind::FileReadOnly, Kind::FileWriteOnly, Kind::FileAppend,     Kind::Memfd,
        Kind::Directory, Kind::ProcStatus,  Kind::ProcVersion,   Kind::DevZero,        Kind::DevNull,
        Kind::Eventfd,  Kind::OPath,        Kind::Signalfd,      Kind::Timerfd,        Kind::Epoll,
        Kind::Inotify,  Kind::TcpListening, Kind::TcpUnconnected, Kind::UnixStream,    Kind::PipeRead,
        Kind::PipeWrite, Kind::Closed,      Kind::MinusOne,      Kind::Huge};
    return k;
}

const char *name(Ptr p)
{
    switch (p) {
    case Ptr::Null: return "NULL";
    case Ptr::Good: return "good";
    case Ptr::ProtNone: return "PROT_NONE";
    case Ptr::ReadOnly: return "PROT_READ";
    case Ptr::WriteOnly: return "PROT_WRITE";
    case Ptr::Unmapped: return "unmapped";
    case Ptr::Straddle: return "straddling into PROT_NONE";
    case Ptr::StraddleReadOnly: return "straddling into PROT_READ";
    case Ptr::Misaligned: return "misaligned";
    case Ptr::NullPlus8: return "NULL+8";
    }
    return "?";
}

std::string Case::describe() const
{
    std::ostringstream s;
    s << name(in) << " -> " << name(out) << ", offset " << name(ptr);
    if (ptr != Ptr::Null)
        s << " = " << offset;
    else if (in_pos)
        s << " (position " << in_pos << ")";
    s << ", count " << count;
    return s.str();
}

std::vector<Case> offset_grid(const std::vector<Kind> &ins, const std::vector<Kind> &outs,
                              const std::vector<int64_t> &offsets, const std::vector<uint64_t> &counts,
                              const std::function<bool(const Case &)> &skip)
{
    std::vector<Case> cases;
    for (Kind in : ins)
        for (Kind out : outs)
            for (int64_t off : offsets)
                for (uint64_t count : counts)
                    for (bool with_ptr : {true, false}) {
                        if (!with_ptr && off < 0)
                            continue; // a position cannot be negative
                        Case c = with_ptr ? Case{in, out, Ptr::Good, off, count}
                                          : Case{in, out, Ptr::Null, 0, count, off};
                        if (!skip || !skip(c))
                            cases.push_back(c);
                    }
    return cases;
}

std::string Obs::line() const
{
    std::ostringstream s;
    s << ret << ' ' << err << ' ' << off_after << ' ' << in_pos << ' ' << out_pos << ' ' << out_hash << ' '
      << out_len << ' ' << sigpipe << ' ' << (harness.empty() ? "-" : harness);
    return s.str();
}

Obs Obs::parse(const std::string &t)
{
    Obs o;
    std::istringstream s(t);
    s >> o.ret >> o.err >> o.off_after >> o.in_pos >> o.out_pos >> o.out_hash >> o.out_len >> o.sigpipe;
    std::getline(s, o.harness);
    if (!o.harness.empty() && o.harness[0] == ' ')
        o.harness.erase(0, 1);
    if (o.harness == "-")
        o.harness.clear();
    return o;
}

namespace {

constexpr uint64_t kContent = 10000;

struct Fx {
    std::vector<int> fds; // closed at the end
    int peer = -1;        // what to drain for a socket or pipe output
};

int keep(Fx &fx, int fd)
{
    if (fd >= 0)
        fx.fds.push_back(fd);
    return fd;
}

int reopen_file(int flags, uint64_t seed)
{
    int fd = make_file(seed, kContent, false);
    if (fd < 0 || flags == O_RDWR)
        return fd;
    int r = sftest::proc_open("self/fd/" + std::to_string(fd), flags);
    close(fd);
    return r;
}

int make_kind(Kind k, bool as_output, Fx &fx)
{
    uint64_t seed = as_output ? 222 : 111;
    switch (k) {
    case Kind::File: return keep(fx, reopen_file(O_RDWR, seed));
    case Kind::FileReadOnly: return keep(fx, reopen_file(O_RDONLY, seed));
    case Kind::FileWriteOnly: return keep(fx, reopen_file(O_WRONLY, seed));
    case Kind::FileAppend: return keep(fx, reopen_file(O_WRONLY | O_APPEND, seed));
    case Kind::Memfd: {
        int fd = keep(fx, memfd_create("sfshim-fault", MFD_CLOEXEC));
        write_pattern(fd, seed, 0, kContent);
        return fd;
    }
    case Kind::Directory: return keep(fx, open(scratch_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    case Kind::ProcStatus: return keep(fx, open("/proc/self/status", O_RDONLY | O_CLOEXEC));
    case Kind::ProcVersion: return keep(fx, open("/proc/version", O_RDONLY | O_CLOEXEC));
    case Kind::DevZero: return keep(fx, open("/dev/zero", O_RDWR | O_CLOEXEC));
    case Kind::DevNull: return keep(fx, open("/dev/null", O_RDWR | O_CLOEXEC));
    case Kind::Eventfd: return keep(fx, eventfd(5, EFD_CLOEXEC));
    case Kind::OPath: {
        std::string path;
        int fd = make_file(seed, kContent, false, &path);
        int p = open(path.c_str(), O_PATH | O_CLOEXEC);
        unlink(path.c_str());
        close(fd);
        return keep(fx, p);
    }
    case Kind::Signalfd: {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR2);
        return keep(fx, signalfd(-1, &s, SFD_CLOEXEC));
    }
    case Kind::Timerfd: return keep(fx, timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
    case Kind::Epoll: return keep(fx, epoll_create1(EPOLL_CLOEXEC));
    case Kind::Inotify: return keep(fx, inotify_init1(IN_CLOEXEC));
    case Kind::TcpListening: {
        int l = keep(fx, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(l, reinterpret_cast<sockaddr *>(&sa), sizeof sa);
        listen(l, 1);
        return l;
    }
    case Kind::TcpUnconnected: return keep(fx, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    case Kind::UnixStream: {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            return -1;
        keep(fx, sv[0]);
        keep(fx, sv[1]);
        write_pattern(sv[1], 0, 0, 0);
        std::vector<char> buf(kContent);
        fill_pattern(buf.data(), seed, 0, buf.size());
        (void)!write(sv[1], buf.data(), buf.size());
        if (as_output)
            fx.peer = sv[1];
        else
            shutdown(sv[1], SHUT_WR);
        return sv[0];
    }
    case Kind::PipeRead: {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0)
            return -1;
        std::vector<char> buf(kContent);
        fill_pattern(buf.data(), seed, 0, buf.size());
        (void)!write(p[1], buf.data(), buf.size());
        close(p[1]);
        return keep(fx, p[0]);
    }
    case Kind::PipeWrite: {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0)
            return -1;
        keep(fx, p[0]);
        fx.peer = p[0];
        return keep(fx, p[1]);
    }
    case Kind::Closed: {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        close(fd);
        return fd; // chosen last among this case's descriptors? see run_case
    }
    case Kind::MinusOne: return -1;
    case Kind::Huge: return INT_MAX;
    }
    return -1;
}

bool needs_fd(Kind k) { return k != Kind::Closed && k != Kind::MinusOne && k != Kind::Huge; }

long long position(int fd)
{
    errno = 0;
    off_t p = lseek(fd, 0, SEEK_CUR);
    return p < 0 ? -static_cast<long long>(errno) : static_cast<long long>(p);
}

} // namespace

const char *cannot_run(Via via, const Case &c)
{
    bool proc = c.in == Kind::ProcStatus || c.in == Kind::ProcVersion || c.out == Kind::ProcStatus ||
                c.out == Kind::ProcVersion;
    const sftest::LayerProfile *layer = layer_of(via);
    return layer && layer->hide_proc && proc ? "no /proc under this layer's profile" : nullptr;
}

Obs run_case(Via via, const Case &c, const std::function<void()> &before_call,
             const std::function<void()> &after_call)
{
    Obs o;
    Fx fx;
    int in = needs_fd(c.in) ? make_kind(c.in, false, fx) : -2;
    int out = needs_fd(c.out) ? make_kind(c.out, true, fx) : -2;
    // Invalid numbers last, so that no later open reuses them.
    int spare_closed = -1;
    if (!needs_fd(c.in) || !needs_fd(c.out)) {
        spare_closed = open("/dev/null", O_RDONLY | O_CLOEXEC);
        close(spare_closed);
        // Make sure it is not one of ours (it cannot be: it was free).
    }
    auto resolve = [&](Kind k, int fd) {
        if (k == Kind::Closed)
            return spare_closed;
        if (k == Kind::MinusOne)
            return -1;
        if (k == Kind::Huge)
            return INT_MAX;
        return fd;
    };
    in = resolve(c.in, in);
    out = resolve(c.out, out);
    if ((needs_fd(c.in) && in < 0) || (needs_fd(c.out) && out < 0)) {
        o.harness = "fixture failed: " + std::string(std::strerror(errno));
        for (int fd : fx.fds)
            close(fd);
        return o;
    }
    if (c.ptr == Ptr::Null && c.in_pos != 0 && needs_fd(c.in))
        lseek(in, c.in_pos, SEEK_SET);

    // The offset pointer, set up last, in two pages mapped once per process
    // and put back after each case: a mapping made and unmapped for each of
    // thousands of cases costs the sanitizers' shadow memory more than the
    // case itself.
    const long page = sysconf(_SC_PAGESIZE);
    static char *const pages = static_cast<char *>(
        mmap(nullptr, static_cast<size_t>(page) * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (pages == MAP_FAILED) {
        o.harness = "fixture failed: mmap: " + std::string(std::strerror(errno));
        for (int fd : fx.fds)
            close(fd);
        return o;
    }
    std::memset(pages, 0, static_cast<size_t>(page) * 2);
    int64_t *ptr = nullptr;
    bool readable_after = false;
    switch (c.ptr) {
    case Ptr::Null: break;
    case Ptr::Good:
        ptr = reinterpret_cast<int64_t *>(pages);
        *ptr = c.offset;
        readable_after = true;
        break;
    case Ptr::ProtNone:
    case Ptr::ReadOnly:
    case Ptr::WriteOnly: {
        const int prot = c.ptr == Ptr::ProtNone ? PROT_NONE : c.ptr == Ptr::ReadOnly ? PROT_READ : PROT_WRITE;
        ptr = reinterpret_cast<int64_t *>(pages);
        *ptr = c.offset;
        mprotect(pages, static_cast<size_t>(page), prot);
        readable_after = c.ptr != Ptr::ProtNone; // x86: PROT_WRITE pages are readable
        break;
    }
    case Ptr::Unmapped:
        ptr = reinterpret_cast<int64_t *>(pages + page);
        munmap(pages + page, static_cast<size_t>(page));
        break;
    case Ptr::Straddle:
    case Ptr::StraddleReadOnly: {
        // 4 bytes before the second page. A PROT_READ one is readable, so
        // the call runs; the store fails on the second page, and the
        // kernel's put_user (one 8-byte move) writes no byte.
        const bool read_only = c.ptr == Ptr::StraddleReadOnly;
        char *p = pages + page - 4;
        std::memcpy(p, &c.offset, read_only ? 8 : 4);
        mprotect(pages + page, static_cast<size_t>(page), read_only ? PROT_READ : PROT_NONE);
        ptr = reinterpret_cast<int64_t *>(p);
        readable_after = read_only;
        break;
    }
    case Ptr::Misaligned: {
        char *p = pages + 1;
        std::memcpy(p, &c.offset, 8);
        ptr = reinterpret_cast<int64_t *>(p);
        readable_after = true;
        break;
    }
    case Ptr::NullPlus8: ptr = reinterpret_cast<int64_t *>(8); break;
    }

    if (before_call)
        before_call();
    errno = 12345;
    ssize_t r = send_via(via, out, in, ptr, c.count);
    o.err = errno;
    o.ret = r;
    if (after_call)
        after_call();
    if (readable_after) {
        if (c.ptr == Ptr::ReadOnly || c.ptr == Ptr::WriteOnly)
            mprotect(pages, static_cast<size_t>(page), PROT_READ | PROT_WRITE);
        if (c.ptr == Ptr::StraddleReadOnly)
            mprotect(pages + page, static_cast<size_t>(page), PROT_READ | PROT_WRITE);
        std::memcpy(&o.off_after, reinterpret_cast<char *>(ptr), 8);
    }
    // Both pages back to read-write, the unmapped one mapped again in place.
    if (c.ptr == Ptr::Unmapped)
        mmap(pages + page, static_cast<size_t>(page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
             -1, 0);
    mprotect(pages, static_cast<size_t>(page) * 2, PROT_READ | PROT_WRITE);
    o.in_pos = position(in);
    o.out_pos = position(out);

    std::string got;
    switch (c.out) {
    case Kind::File:
    case Kind::FileReadOnly:
    case Kind::FileWriteOnly:
    case Kind::FileAppend:
    case Kind::Memfd: got = file_contents(out, &o.harness); break;
    case Kind::UnixStream:
    case Kind::PipeWrite: got = sftest::drain_now(fx.peer); break;
    default: break;
    }
    o.out_hash = fnv(got);
    o.out_len = got.size();

    sigset_t pend, pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pend);
    o.sigpipe = sigismember(&pend, SIGPIPE);
    if (o.sigpipe) {
        timespec zero{0, 0};
        sigtimedwait(&pipe_set, nullptr, &zero);
    }
    for (int fd : fx.fds)
        close(fd);
    return o;
}

std::vector<Obs> run_table(Via via, const std::vector<Case> &cases, std::string &error, int timeout_ms)
{
    std::vector<Obs> obs;
    ChildResult cr = run_child(
        [&] {
            sigset_t block;
            sigemptyset(&block);
            sigaddset(&block, SIGPIPE);
            sigaddset(&block, SIGUSR2);
            sigaddset(&block, SIGXFSZ);
            sigprocmask(SIG_BLOCK, &block, nullptr);
            std::string err;
            if (!install_filter(via, &err))
                return "cannot enter " + std::string(name(via)) + "'s kernel: " + err;
            std::string all;
            for (const Case &c : cases) {
                if (const char *why = cannot_run(via, c)) {
                    Obs skip;
                    skip.harness = std::string(kNotRun) + why;
                    all += skip.line() + "\n";
                } else {
                    all += run_case(via, c).line() + "\n";
                }
            }
            return all;
        },
        timeout_ms);
    if (!cr.error.empty()) {
        error = std::string(name(via)) + ": " + cr.error;
        return obs;
    }
    std::istringstream s(cr.report);
    std::string line;
    while (std::getline(s, line))
        obs.push_back(Obs::parse(line));
    if (obs.size() != cases.size())
        error = std::string(name(via)) + ": " + std::to_string(obs.size()) + " observations for " +
                std::to_string(cases.size()) + " cases: " + cr.report.substr(0, 200);
    return obs;
}

static std::string describe_obs(const Obs &o)
{
    std::ostringstream s;
    s << "ret " << o.ret;
    if (o.ret < 0 || o.err != 12345)
        s << " errno " << (o.err == 12345 ? std::string("untouched") : std::to_string(o.err) + " (" +
                                                                             std::string(strerrorname_np(static_cast<int>(o.err)) ? strerrorname_np(static_cast<int>(o.err)) : "?") + ")");
    s << ", *offset " << o.off_after << ", in pos " << o.in_pos << ", out pos " << o.out_pos << ", output "
      << o.out_len << " bytes #" << std::hex << o.out_hash << std::dec << ", SIGPIPE " << o.sigpipe;
    if (!o.harness.empty())
        s << ", HARNESS: " << o.harness;
    return s.str();
}

std::string compare_tables(const std::vector<Case> &cases, const std::vector<Obs> &kernel,
                           const std::vector<Obs> &shim, const char *who, size_t max_lines)
{
    std::string report;
    size_t lines = 0, total = 0;
    for (size_t i = 0; i < cases.size() && i < kernel.size() && i < shim.size(); ++i) {
        const Obs &k = kernel[i], &s = shim[i];
        if (s.harness.compare(0, std::strlen(kNotRun), kNotRun) == 0)
            continue;
        bool same = k.ret == s.ret && (k.err == s.err) && k.off_after == s.off_after && k.in_pos == s.in_pos &&
                    k.out_pos == s.out_pos && k.out_hash == s.out_hash && k.out_len == s.out_len &&
                    k.sigpipe == s.sigpipe && k.harness.empty() && s.harness.empty();
        if (same)
            continue;
        ++total;
        if (lines++ < max_lines)
            report += "  " + cases[i].describe() + "\n    kernel: " + describe_obs(k) + "\n    " + who + ": " +
                      describe_obs(s) + "\n";
    }
    if (total > max_lines)
        report += "  ... and " + std::to_string(total - max_lines) + " more\n";
    if (!report.empty())
        report = std::to_string(total) + " of " + std::to_string(cases.size()) + " cases differ:\n" + report;
    return report;
}

} // namespace sffault
