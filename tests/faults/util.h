// Shared helpers of the fault suite: the ways a call is made (the kernel or
// a shim mode, possibly inside a kernel that refuses sendfile), position-
// dependent file content that lets every received byte be checked against
// its offset, socket and pipe plumbing, and a forked child with a deadline so
// that a crash (SIGBUS, SIGSEGV) or a hang becomes a test failure.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <sfshim/sfshim.h>

#include "io.h"
#include "layers.h"

namespace sffault {

enum class Via {
    Kernel,      // syscall(SYS_sendfile): the oracle
    Emulate,     // SFSHIM_MODE_EMULATE
    Mmap,        // SFSHIM_MODE_MMAP
    Rw,          // SFSHIM_MODE_RW
    Auto,        // SFSHIM_MODE_AUTO, kernel sendfile works
    AutoEnosys,  // SFSHIM_MODE_AUTO, sendfile gives ENOSYS (seccomp)
    AutoEperm,   // SFSHIM_MODE_AUTO, sendfile gives EPERM (seccomp)
    AutoFreebsd, // SFSHIM_MODE_AUTO, sendfile gives EINVAL when count == 0 (seccomp)
    AutoCompat,  // SFSHIM_MODE_AUTO in NetBSD compat_linux's profile, no /proc (kernel_profile.h)
    AutoLinuxulator, // SFSHIM_MODE_AUTO in FreeBSD's linuxulator profile: its sendfile
                     // performed by a supervisor (kernel_profile.h), with /proc
    AutoIllumosLx,   // SFSHIM_MODE_AUTO in illumos LX's profile: its sendfile performed
                     // by a supervisor (kernel_profile.h), with /proc
};

const char *name(Via v);
// The compat layer a via runs in (layers.h), or nullptr.
const sftest::LayerProfile *layer_of(Via v);
// Why this process cannot run the via at all (a layer it cannot enter:
// sftest::layer_unavailable), or nullptr.
const char *unavailable(Via v);
// The vias of `vias` this process can run: a layer it cannot enter
// (sftest::layer_unavailable: a supervised one under memcheck) is left out,
// and said once on stderr.
std::vector<Via> runnable(std::vector<Via> vias);
// Every shim way of calling (all but the kernel).
const std::vector<Via> &shim_vias();
// The two engines and AUTO in a kernel without sendfile.
const std::vector<Via> &engine_vias();

ssize_t send_via(Via v, int out_fd, int in_fd, int64_t *offset, size_t count);
// Installs the seccomp filter a Via needs (nothing for the others); a layer
// is entered as sftest::enter_layer says (for AutoCompat first a private
// mount namespace with an empty /proc, the harness keeping the real one:
// sftest::proc_open; for AutoLinuxulator the supervisor). The shim then
// forgets what the parent taught it. Call it in a child before it starts a
// thread: it cannot be undone. Returns false on failure.
bool install_filter(Via v);

// Content: the byte at file offset p depends on (seed, p) only.
uint8_t pattern_byte(uint64_t seed, uint64_t pos);
void fill_pattern(char *dst, uint64_t seed, uint64_t pos, size_t n);
// The first offset in [pos, pos + n) whose byte is wrong, or -1.
int64_t first_mismatch(const char *p, uint64_t seed, uint64_t pos, size_t n);

// Scratch directories: the build tree (ext4) and /dev/shm (tmpfs).
const std::string &scratch_dir();
// A file of `size` pattern bytes, opened O_RDWR, unlinked unless `keep_path`
// is given (then the path is returned there and the caller unlinks it).
int make_file(uint64_t seed, uint64_t size, bool tmpfs = true, std::string *keep_path = nullptr);
// Appends pattern bytes [from, to) at those offsets.
bool write_pattern(int fd, uint64_t seed, uint64_t from, uint64_t to);

bool tcp_pair(int &a, int &b);
bool set_nonblock(int fd, bool on);

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

// Forks; the child runs fn and sends back its string. A crash, a non-zero
// exit without a report or the deadline (the child is then killed) gives
// `error`.
struct ChildResult {
    std::string report;
    std::string error;
};
ChildResult run_child(const std::function<std::string()> &fn, int timeout_ms = 60000);

// Values of /proc/self/status (kB) and the mapping count of /proc/self/maps.
long status_kb(const char *field);
long mapping_count();
// Whether /proc/self/maps has a mapping of the file with this st_dev and
// st_ino (the mapping cache's tests: kept, or gone).
bool file_mapped(uint64_t dev, uint64_t ino);

using sftest::env_u64;

} // namespace sffault
