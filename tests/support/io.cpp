#include "io.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace sftest {

namespace {
int g_real_proc = -1;
}

void set_real_proc(int dirfd) { g_real_proc = dirfd; }

int proc_open(const std::string &rel, int flags)
{
    flags |= O_LARGEFILE; // i386: files past 2 GiB (this library has no _FILE_OFFSET_BITS)
    if (g_real_proc >= 0)
        return openat(g_real_proc, rel.c_str(), flags | O_CLOEXEC);
    return open(("/proc/" + rel).c_str(), flags | O_CLOEXEC);
}

bool write_all(int fd, const std::string &s)
{
    size_t done = 0;
    while (done < s.size()) {
        ssize_t n = write(fd, s.data() + done, s.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

bool read_until_eof(int fd, int timeout_ms, std::string *out)
{
    std::string buf(1 << 20, '\0');
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
        if (left <= 0)
            return true;
        pollfd pf{fd, POLLIN, 0};
        int pr = poll(&pf, 1, static_cast<int>(left));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return pr == 0;
        ssize_t n = read(fd, &buf[0], buf.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        out->append(buf.data(), static_cast<size_t>(n));
    }
}

ChildEnd collect_child(pid_t pid, int fd, int timeout_ms, std::string *out)
{
    ChildEnd end;
    end.timed_out = read_until_eof(fd, timeout_ms, out);
    close(fd);
    if (end.timed_out)
        kill(pid, SIGKILL);
    while (waitpid(pid, &end.status, 0) < 0 && errno == EINTR) {
    }
    return end;
}

static bool fail(std::string *err, const char *what)
{
    if (err)
        *err = std::string(what) + ": " + std::strerror(errno);
    return false;
}

bool tcp_pair(int &a, int &b, std::string *err)
{
    a = b = -1;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t len = sizeof sa;
    if (l < 0 || bind(l, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0 || listen(l, 1) != 0 ||
        getsockname(l, reinterpret_cast<sockaddr *>(&sa), &len) != 0) {
        fail(err, "tcp listen");
        if (l >= 0)
            close(l);
        return false;
    }
    a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (a < 0 || connect(a, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) {
        fail(err, "tcp connect");
        if (a >= 0)
            close(a);
        a = -1;
        close(l);
        return false;
    }
    b = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    if (b < 0) {
        fail(err, "tcp accept");
        close(a);
        a = -1;
    }
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

uint64_t env_u64(const char *name, uint64_t fallback)
{
    const char *v = std::getenv(name);
    if (!v || !*v)
        return fallback;
    char *end = nullptr;
    unsigned long long x = std::strtoull(v, &end, 0);
    return (end && *end == '\0') ? x : fallback;
}

} // namespace sftest
