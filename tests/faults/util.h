// Helpers of the fault suite: position-dependent file content that lets
// every received byte be checked against its offset, files, sockets and
// pipes, a reader that checks a stream as it comes, and figures of this
// process. The ways a call is made (via.h), the child runner (child.h) and
// scratch directories (files.h) are shared with the differential suite.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <sfshim/sfshim.h>

#include "child.h"
#include "files.h"
#include "io.h"
#include "via.h"

namespace sffault {

// The shared harness (tests/support: Via, run_child, tcp_pair, ...) under
// the fault suite's namespace too: its tests and the fuzz runner, which say
// `using namespace sffault`, name them unqualified or as sffault::.
using namespace sftest;

// Content: the byte at file offset p depends on (seed, p) only.
uint8_t pattern_byte(uint64_t seed, uint64_t pos);
void fill_pattern(char *dst, uint64_t seed, uint64_t pos, size_t n);
// The first offset in [pos, pos + n) whose byte is wrong, or -1.
int64_t first_mismatch(const char *p, uint64_t seed, uint64_t pos, size_t n);

// A file of `size` pattern bytes in a scratch directory (files.h), opened
// O_RDWR, unlinked unless `keep_path` is given (then the path is returned
// there and the caller unlinks it).
int make_file(uint64_t seed, uint64_t size, bool tmpfs = true, std::string *keep_path = nullptr);
// Appends pattern bytes [from, to) at those offsets.
bool write_pattern(int fd, uint64_t seed, uint64_t from, uint64_t to);

// The stream outputs a transfer is watched on, by the reader at the other end.
enum class Sink { Tcp, Unix, Pipe };
const char *sink_name(Sink s);
// Makes one: `out` is sent into, `peer` reads. The sender's send buffer
// and, for TCP, the peer's receive buffer are set to `buffer` bytes (a pipe
// keeps its size). false, with *err set when given, on failure.
bool make_sink(Sink s, int buffer, int &out, int &peer, std::string *err = nullptr);

// Fills a socket or pipe until it takes no more (its bytes are 'x'), then
// makes it blocking again; returns how many bytes it took.
uint64_t fill_until_full(int fd);
void set_buffers(int fd, int sndbuf, int rcvbuf);

int64_t now_ms();
void sleep_ms(int ms);
// FNV-1a over bytes.
uint64_t fnv(const std::string &s, uint64_t h = 1469598103934665603ull);

// Reads a stream (socket or pipe) in a thread, checking every byte against
// the pattern from `start`, until EOF, stop() with nothing left, or
// deadline_ms without a byte (then timed_out()). `pace` (optional) is called before each read with the bytes so
// far and may sleep; it returns the largest read to make (0: skip this round).
class Reader {
public:
    using Pace = std::function<size_t(uint64_t received)>;
    Reader(int fd, uint64_t seed, uint64_t start, int deadline_ms = 60000, Pace pace = nullptr,
           bool keep = false);
    ~Reader();
    void start();
    // For pipes (no EOF while the write end lives): stop once empty.
    void stop();
    void join();
    uint64_t received() const { return received_.load(); }
    // For Unix stream sockets and pipes, whose writes are in the reading
    // end's queue when the write returns: true when the reading end holds
    // nothing (FIONREAD) and the thread is not inside a read, so every byte
    // written before this call has been read and counted in received().
    // Ask only while nothing is being written. A fact, not a pause: the
    // thread may be preempted anywhere without making it true too early.
    bool caught_up() const;
    int64_t mismatch_at() const { return mismatch_; } // file offset, -1 if none
    bool timed_out() const { return timed_out_; }
    bool eof() const { return eof_; }
    const std::string &kept() const { return kept_; }

private:
    void run();
    int fd_;
    uint64_t seed_, start_;
    int deadline_ms_;
    Pace pace_;
    bool keep_;
    std::atomic<uint64_t> received_{0};
    std::atomic<bool> stop_{false};
    std::atomic<bool> reading_{false}; // from before read() until its bytes are counted
    int64_t mismatch_ = -1;
    bool timed_out_ = false;
    bool eof_ = false;
    std::string kept_;
    std::vector<char> buf_;
    std::thread thread_;
};

// Values of /proc/self/status (kB) and the mapping count of /proc/self/maps.
long status_kb(const char *field);
long mapping_count();
// Whether /proc/self/maps has a mapping of the file with this st_dev and
// st_ino (the mapping cache's tests: kept, or gone).
bool file_mapped(uint64_t dev, uint64_t ino);

} // namespace sffault
