#include "util.h"
#include "io.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "kernel_profile.h"
#include "platform/platform.h" // forget_learned_state

#ifndef SFSHIM_FAULTS_SCRATCH_DIR
#define SFSHIM_FAULTS_SCRATCH_DIR "/tmp"
#endif

namespace sffault {

const char *name(Via v)
{
    switch (v) {
    case Via::Kernel: return "kernel sendfile";
    case Via::Emulate: return "shim EMULATE";
    case Via::Mmap: return "shim MMAP";
    case Via::Rw: return "shim RW";
    case Via::Auto: return "shim AUTO";
    case Via::AutoEnosys: return "shim AUTO (sendfile gives ENOSYS)";
    case Via::AutoEperm: return "shim AUTO (sendfile gives EPERM)";
    case Via::AutoFreebsd: return "shim AUTO (EINVAL for count 0)";
    case Via::AutoCompat: return "shim AUTO (NetBSD compat_linux profile, no /proc)";
    case Via::AutoLinuxulator: return "shim AUTO (FreeBSD linuxulator profile)";
    case Via::AutoIllumosLx: return "shim AUTO (illumos LX profile)";
    }
    return "?";
}

const sftest::LayerProfile *layer_of(Via v)
{
    switch (v) {
    case Via::AutoCompat: return &sftest::profile(sftest::Layer::NetbsdCompat);
    case Via::AutoLinuxulator: return &sftest::profile(sftest::Layer::FreebsdLinuxulator);
    case Via::AutoIllumosLx: return &sftest::profile(sftest::Layer::IllumosLx);
    default: return nullptr;
    }
}

const char *unavailable(Via v)
{
    const sftest::LayerProfile *layer = layer_of(v);
    return layer ? sftest::layer_unavailable(layer->layer) : nullptr;
}

std::vector<Via> runnable(std::vector<Via> vias)
{
    std::vector<Via> out;
    for (Via v : vias) {
        if (const char *why = unavailable(v))
            sftest::note_left_out(name(v), why);
        else
            out.push_back(v);
    }
    return out;
}

const std::vector<Via> &shim_vias()
{
    static const std::vector<Via> v = runnable({Via::Emulate,    Via::Mmap,       Via::Rw,
                                                Via::Auto,       Via::AutoEnosys, Via::AutoEperm,
                                                Via::AutoFreebsd, Via::AutoCompat, Via::AutoLinuxulator,
                                                Via::AutoIllumosLx});
    return v;
}

const std::vector<Via> &engine_vias()
{
    static const std::vector<Via> v = {Via::Mmap, Via::Rw, Via::AutoEnosys};
    return v;
}

ssize_t send_via(Via v, int out_fd, int in_fd, int64_t *offset, size_t count)
{
    switch (v) {
    case Via::Kernel: return syscall(SYS_sendfile, out_fd, in_fd, offset, count);
    case Via::Emulate: return sfshim_sendfile_mode(SFSHIM_MODE_EMULATE, out_fd, in_fd, offset, count);
    case Via::Mmap: return sfshim_sendfile_mode(SFSHIM_MODE_MMAP, out_fd, in_fd, offset, count);
    case Via::Rw: return sfshim_sendfile_mode(SFSHIM_MODE_RW, out_fd, in_fd, offset, count);
    default: return sfshim_sendfile_mode(SFSHIM_MODE_AUTO, out_fd, in_fd, offset, count);
    }
}

bool install_filter(Via v)
{
    if (const sftest::LayerProfile *layer = layer_of(v)) {
        std::string err;
        return sftest::enter_layer(layer->layer, err);
    }
    sfk_rules rules{};
    switch (v) {
    case Via::AutoEnosys: rules.sendfile_errno = ENOSYS; break;
    case Via::AutoEperm: rules.sendfile_errno = EPERM; break;
    case Via::AutoFreebsd:
        rules.sendfile_errno = EINVAL;
        rules.sendfile_count_zero = 1;
        break;
    default: return true;
    }
    if (sfk_install(&rules) != 0)
        return false;
    sfshim::platform::forget_learned_state();
    return true;
}

static inline uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint8_t pattern_byte(uint64_t seed, uint64_t pos)
{
    return static_cast<uint8_t>(mix(seed * 0x100000001b3ull ^ (pos >> 3)) >> ((pos & 7) * 8));
}

void fill_pattern(char *dst, uint64_t seed, uint64_t pos, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t p = pos + i;
        uint64_t w = mix(seed * 0x100000001b3ull ^ (p >> 3));
        for (unsigned b = static_cast<unsigned>(p & 7); b < 8 && i < n; ++b, ++i)
            dst[i] = static_cast<char>(w >> (b * 8));
    }
}

int64_t first_mismatch(const char *p, uint64_t seed, uint64_t pos, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t at = pos + i;
        uint64_t w = mix(seed * 0x100000001b3ull ^ (at >> 3));
        for (unsigned b = static_cast<unsigned>(at & 7); b < 8 && i < n; ++b, ++i)
            if (static_cast<char>(w >> (b * 8)) != p[i])
                return static_cast<int64_t>(pos + i);
    }
    return -1;
}

const std::string &scratch_dir()
{
    static const std::string dir = [] {
        std::string d = SFSHIM_FAULTS_SCRATCH_DIR;
        mkdir(d.c_str(), 0700);
        return d;
    }();
    return dir;
}

bool write_pattern(int fd, uint64_t seed, uint64_t from, uint64_t to)
{
    std::vector<char> buf(1 << 20);
    while (from < to) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), to - from));
        fill_pattern(buf.data(), seed, from, n);
        size_t done = 0;
        while (done < n) {
            ssize_t w = pwrite(fd, buf.data() + done, n - done, static_cast<off_t>(from + done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return false;
            done += static_cast<size_t>(w);
        }
        from += n;
    }
    return true;
}

int make_file(uint64_t seed, uint64_t size, bool tmpfs, std::string *keep_path)
{
    static std::atomic<unsigned> counter{0};
    std::string dir = tmpfs ? std::string("/dev/shm") : scratch_dir();
    std::string path = dir + "/sfshim-fault-" + std::to_string(getpid()) + "-" +
                       std::to_string(counter++);
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (!write_pattern(fd, seed, 0, size)) {
        close(fd);
        unlink(path.c_str());
        return -1;
    }
    if (keep_path)
        *keep_path = path;
    else
        unlink(path.c_str());
    return fd;
}

bool tcp_pair(int &a, int &b)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (l < 0 || bind(l, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0 || listen(l, 1) != 0 ||
        getsockname(l, reinterpret_cast<sockaddr *>(&sa), &len) != 0) {
        if (l >= 0)
            close(l);
        return false;
    }
    a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (a < 0 || connect(a, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) {
        close(l);
        return false;
    }
    b = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    close(l);
    return b >= 0;
}

bool set_nonblock(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return false;
    fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, fl) == 0;
}

void set_buffers(int fd, int sndbuf, int rcvbuf)
{
    if (sndbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
}

int64_t now_ms()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
    timespec ts{ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

uint64_t fnv(const std::string &s, uint64_t h)
{
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

Reader::Reader(int fd, uint64_t seed, uint64_t start, int deadline_ms, Pace pace, bool keep)
    : fd_(fd), seed_(seed), start_(start), deadline_ms_(deadline_ms), pace_(std::move(pace)),
      keep_(keep)
{
}

Reader::~Reader()
{
    stop();
    join();
}

void Reader::start()
{
    // The buffer belongs to the object, not to the reader thread's stack (a
    // child forked while the reader runs has the object only).
    buf_.assign(1 << 20, '\0');
    thread_ = std::thread([this] { run(); });
}
void Reader::stop() { stop_ = true; }
bool Reader::caught_up() const
{
    // In this order: once the queue was seen empty, a read that took its last
    // bytes began earlier, so reading_ false now means that read was counted.
    int queued = 0;
    if (ioctl(fd_, FIONREAD, &queued) != 0 || queued != 0)
        return false;
    return !reading_.load();
}
void Reader::join()
{
    if (thread_.joinable())
        thread_.join();
}

void Reader::run()
{
    // Signals aimed at the process belong to the thread under test.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    set_nonblock(fd_, true);
    std::vector<char> &buf = buf_;
    int64_t deadline = now_ms() + deadline_ms_;
    for (;;) {
        if (now_ms() > deadline) {
            timed_out_ = true;
            return;
        }
        size_t want = buf.size();
        if (pace_) {
            want = std::min(want, pace_(received_.load()));
            if (want == 0) {
                if (stop_)
                    return;
                sleep_ms(1);
                continue;
            }
        }
        // reading_ covers the read and the count (see caught_up()).
        reading_ = true;
        ssize_t n = read(fd_, buf.data(), want);
        if (n > 0) {
            uint64_t at = start_ + received_.load();
            if (mismatch_ < 0) {
                int64_t m = first_mismatch(buf.data(), seed_, at, static_cast<size_t>(n));
                if (m >= 0)
                    mismatch_ = m;
            }
            if (keep_)
                kept_.append(buf.data(), static_cast<size_t>(n));
            received_ += static_cast<uint64_t>(n);
            reading_ = false;
            // A hang guard, not a stopwatch: a reader that moves bytes on a
            // slow machine (valgrind, 64 threads) has not hung.
            deadline = now_ms() + deadline_ms_;
            continue;
        }
        reading_ = false;
        if (n == 0) {
            eof_ = true;
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN) {
            eof_ = true; // ECONNRESET and friends end the stream too
            return;
        }
        if (stop_)
            return;
        pollfd pf{fd_, POLLIN, 0};
        poll(&pf, 1, 20);
    }
}


ChildResult run_child(const std::function<std::string()> &fn, int timeout_ms)
{
    ChildResult res;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        res.error = "pipe2 failed";
        return res;
    }
    fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
        res.error = "fork failed";
        close(p[0]);
        close(p[1]);
        return res;
    }
    if (pid == 0) {
        close(p[0]);
        // A SIGPIPE must not kill the reporter: tests that study SIGPIPE
        // install their own disposition.
        std::string r = fn();
        signal(SIGPIPE, SIG_IGN);
        _exit(sftest::write_all(p[1], "R" + r) ? 0 : 3);
    }
    close(p[1]);
    sftest::ChildEnd end = sftest::collect_child(pid, p[0], timeout_ms, &res.report);
    int status = end.status;
    if (end.timed_out) {
        res.error = "timed out after " + std::to_string(timeout_ms) + " ms";
    } else if (WIFSIGNALED(status)) {
        res.error = std::string("killed by signal ") + strsignal(WTERMSIG(status));
    } else if (res.report.empty() || res.report[0] != 'R') {
        res.error = "no report (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
    } else if (WEXITSTATUS(status) != 0) {
        // After a whole report: a checker's exit code (valgrind's --error-exitcode).
        res.error = "exit status " + std::to_string(WEXITSTATUS(status)) + " after the report";
    }
    if (!res.report.empty())
        res.report.erase(0, 1);
    return res;
}

long status_kb(const char *field)
{
    std::ifstream f("/proc/self/status");
    std::string line;
    size_t n = std::strlen(field);
    while (std::getline(f, line))
        if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':')
            return std::atol(line.c_str() + n + 1);
    return -1;
}

bool file_mapped(uint64_t dev, uint64_t ino)
{
    int fd = sftest::proc_open("self/maps", O_RDONLY);
    if (fd < 0)
        return false;
    std::string maps;
    char buf[65536];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
        maps.append(buf, static_cast<size_t>(n));
    close(fd);
    // "start-end perms offset major:minor inode path", the numbers in hex but the inode.
    size_t at = 0;
    while (at < maps.size()) {
        size_t end = maps.find('\n', at);
        if (end == std::string::npos)
            end = maps.size();
        std::string line = maps.substr(at, end - at);
        at = end + 1;
        unsigned maj = 0, min = 0;
        unsigned long long i = 0;
        if (std::sscanf(line.c_str(), "%*x-%*x %*s %*x %x:%x %llu", &maj, &min, &i) == 3 && i != 0 && i == ino &&
            maj == major(static_cast<dev_t>(dev)) && min == minor(static_cast<dev_t>(dev)))
            return true;
    }
    return false;
}

long mapping_count()
{
    std::ifstream f("/proc/self/maps");
    std::string line;
    long n = 0;
    while (std::getline(f, line))
        ++n;
    return n;
}

// Fills a socket or pipe until it takes no more, then makes it blocking again.
uint64_t fill_until_full(int fd)
{
    set_nonblock(fd, true);
    std::vector<char> junk(64 << 10, 'x');
    uint64_t total = 0;
    for (;;) {
        ssize_t n = write(fd, junk.data(), junk.size());
        if (n > 0) {
            total += static_cast<uint64_t>(n);
            continue;
        }
        // Small writes find the last room (sockets free space in steps).
        if (write(fd, junk.data(), 1) <= 0)
            break;
        total += 1;
    }
    set_nonblock(fd, false);
    return total;
}

} // namespace sffault
