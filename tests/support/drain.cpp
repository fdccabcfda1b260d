#include "drain.h"
#include "io.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <chrono>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace sfdiff {

Drainer::Drainer(int fd, bool datagrams, DrainUntil until, int deadline_ms)
    : fd_(fd), datagrams_(datagrams), until_(until), deadline_ms_(deadline_ms)
{
    if (fd_ >= 0)
        fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

Drainer::~Drainer()
{
    stop_ = true;
    if (thread_.joinable())
        thread_.join();
}

void Drainer::start()
{
    thread_ = std::thread([this] { run(); });
}

Drained Drainer::finish()
{
    stop_ = true;
    if (thread_.joinable())
        thread_.join();
    else
        run();
    return result_;
}

void Drainer::run()
{
    if (fd_ < 0)
        return;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms_);
    std::string buf(datagrams_ ? (1u << 20) : (1u << 18), '\0');
    for (;;) {
        // Read the flag before reading: EAGAIN after a stop seen earlier
        // means the writer is done and everything was read.
        bool stopping = stop_.load();
        ssize_t n = datagrams_ ? recv(fd_, &buf[0], buf.size(), MSG_TRUNC)
                               : read(fd_, &buf[0], buf.size());
        if (n > 0 || (n == 0 && datagrams_)) {
            size_t got = static_cast<size_t>(n) < buf.size() ? static_cast<size_t>(n) : buf.size();
            result_.bytes.append(buf.data(), got);
            if (datagrams_)
                result_.dgrams.push_back(static_cast<uint32_t>(n));
            continue;
        }
        if (n == 0 && !datagrams_)
            return; // end of file
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            return; // ECONNRESET and friends: what arrived is what arrived
        // Nothing there right now.
        if (until_ == DrainUntil::Empty && stopping)
            return;
        if (std::chrono::steady_clock::now() > deadline) {
            result_.timed_out = true;
            return;
        }
        pollfd p{fd_, POLLIN, 0};
        poll(&p, 1, 20);
    }
}

} // namespace sfdiff

namespace sftest {

namespace {

// The first bytes of /proc's `rel` (the harness's real /proc, also in the
// compat profile), NUL-terminated, into buf; false on error.
bool read_proc(const char *rel, char *buf, size_t size)
{
    int fd = proc_open(rel, O_RDONLY);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return true;
}

} // namespace

bool thread_waits(long tid)
{
    char path[64], buf[512];
    std::snprintf(path, sizeof path, "self/task/%ld/stat", tid);
    if (!read_proc(path, buf, sizeof buf))
        return false;
    const char *paren = std::strrchr(buf, ')');
    if (!paren || paren[1] != ' ' || paren[2] != 'S')
        return false;
    // "running", or the number of the system call it sleeps in.
    std::snprintf(path, sizeof path, "self/task/%ld/syscall", tid);
    if (!read_proc(path, buf, sizeof buf) || buf[0] < '0' || buf[0] > '9')
        return false;
    long nr = std::strtol(buf, nullptr, 10);
    // The calls a sendfile waits in for room, the kernel's or the shim's; not
    // futex (a lock) nor read (valgrind's scheduler lock is a pipe).
    static const long waits_for_room[] = {
        SYS_sendfile, SYS_write, SYS_writev, SYS_pwrite64, SYS_splice, SYS_ppoll, SYS_pselect6,
#ifdef SYS_sendfile64
        SYS_sendfile64,
#endif
#ifdef SYS_poll
        SYS_poll,
#endif
#ifdef SYS_select
        SYS_select,
#endif
#ifdef SYS__newselect
        SYS__newselect,
#endif
#ifdef SYS_ppoll_time64
        SYS_ppoll_time64,
#endif
#ifdef SYS_pselect6_time64
        SYS_pselect6_time64,
#endif
#ifdef SYS_sendmsg
        SYS_sendmsg,
#endif
#ifdef SYS_sendto
        SYS_sendto,
#endif
#ifdef SYS_socketcall
        SYS_socketcall,
#endif
    };
    for (long w : waits_for_room)
        if (nr == w)
            return true;
    return false;
}

} // namespace sftest
