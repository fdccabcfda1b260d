#include "drain.h"

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
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
