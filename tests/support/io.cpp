#include "io.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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
