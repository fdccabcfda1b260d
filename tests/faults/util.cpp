#include "util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace sffault {

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
    const std::string &dir = tmpfs ? scratch_dir_tmpfs() : scratch_dir();
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

const char *sink_name(Sink s)
{
    switch (s) {
    case Sink::Tcp: return "TCP";
    case Sink::Unix: return "Unix stream";
    case Sink::Pipe: return "pipe";
    }
    return "?";
}

bool make_sink(Sink s, int buffer, int &out, int &peer, std::string *err)
{
    int fds[2];
    switch (s) {
    case Sink::Tcp:
        if (!tcp_pair(out, peer, err))
            return false;
        set_buffers(out, buffer, 0);
        set_buffers(peer, 0, buffer);
        return true;
    case Sink::Unix:
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
            break;
        out = fds[0];
        peer = fds[1];
        set_buffers(out, buffer, 0);
        return true;
    case Sink::Pipe:
        if (pipe2(fds, O_CLOEXEC) != 0)
            break;
        out = fds[1];
        peer = fds[0];
        return true;
    }
    if (err)
        *err = std::string(sink_name(s)) + ": " + std::strerror(errno);
    return false;
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
    int fd = proc_open("self/maps", O_RDONLY);
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
