// Reads whatever arrives on a pipe or socket, in a thread or in place, with
// a deadline so that no test can hang on it; or, without waiting, what is
// there now.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace sfdiff {

enum class DrainUntil {
    Eof,   // stream sockets: the writer shuts down, read to end of file
    Empty, // pipes and datagram sockets: read until nothing is left
};

struct Drained {
    std::string bytes;
    std::vector<uint32_t> dgrams;
    bool timed_out = false;
};

// Reads fd (made non-blocking) until DrainUntil is met; for Empty, only after
// stop() was called. Gives up after `deadline_ms`.
class Drainer {
public:
    Drainer(int fd, bool datagrams, DrainUntil until, int deadline_ms = 60000);
    ~Drainer();
    Drainer(const Drainer &) = delete;
    Drainer &operator=(const Drainer &) = delete;

    void start();     // read concurrently in a thread
    Drained finish(); // signal stop, join (or read in place if never started)

private:
    void run();
    int fd_;
    bool datagrams_;
    DrainUntil until_;
    int deadline_ms_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    Drained result_;
};

} // namespace sfdiff

namespace sftest {

// True when thread `tid` of this process is asleep (state S) in a system
// call that waits for room in an output (sendfile, write, poll, ...): a call
// that waits, seen as a fact in /proc rather than guessed from a pause.
// Locks are not counted: the allocator's (futex; the asking thread may hold
// it), valgrind's scheduler's (a read on a pipe).
bool thread_waits(long tid);

// What a pipe or stream socket holds right now: makes fd non-blocking, then
// reads until EAGAIN, end of file or an error. "" for fd < 0.
inline std::string drain_now(int fd)
{
    std::string s;
    if (fd < 0)
        return s;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        s.append(buf, static_cast<size_t>(n));
    }
    return s;
}

} // namespace sftest
