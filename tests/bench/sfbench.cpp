// sfbench: Linux sendfile against the shim's engines, the read/write loops
// programs write instead and a floor (one send/write per call from a mapping
// made beforehand), over loopback TCP, Unix sockets, pipes and file->file, in
// one run, interleaved and repeated.
//
// Processes: the main process only orchestrates. Every transfer is made by a
// sender worker (one ordinary, one whose sendfile syscall fails with ENOSYS
// through a seccomp filter), so the CPU time a worker reads from
// getrusage(RUSAGE_SELF) is the sender's alone; a separate receiver process
// drains the socket or pipe, checks the byte count of every measurement and,
// once per cell, the bytes themselves. System calls are counted in a separate
// pass under strace attached to the worker alone (see SyscallTrace).
//
// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "kernel_profile.h"
#include "sfshim/sfshim.h"

// The mapping cache's counters (sfshim.h). Weak: a library without them still
// links, and the counters are then reported as n/a. CMakeLists.txt links the
// library's whole archive, so a weak reference finds them wherever they are.
extern "C" void sfshim_cache_stats_get(struct sfshim_cache_stats* out) __attribute__((weak));

#ifndef SFBENCH_BUILD_TYPE
#define SFBENCH_BUILD_TYPE "unknown"
#endif
#ifndef SFBENCH_SOURCE_DIR
#define SFBENCH_SOURCE_DIR "."
#endif

namespace {

// ---------------------------------------------------------------- basics

enum Method { M_KERNEL, M_MMAP, M_RW, M_EMULATE, M_AUTO_NOSF, M_AUTO_FREEBSD, M_FLOOR, M_LOOP8K, M_LOOP64K, M_COUNT };
const char* const kMethodNames[M_COUNT] = {"kernel",          "mmap",         "rw",    "emulate", "auto-nosendfile",
                                           "auto-freebsd",    "floor",        "loop8k", "loop64k"};
const char* const kMethodHow[M_COUNT] = {
    "`syscall(SYS_sendfile)`, the kernel's own",
    "`sfshim_sendfile_mode(SFSHIM_MODE_MMAP)`: mmap-writev engine",
    "`sfshim_sendfile_mode(SFSHIM_MODE_RW)`: chunked pread/write engine",
    "`sfshim_sendfile_mode(SFSHIM_MODE_EMULATE)`: engine chosen by size",
    "`sfshim_sendfile_mode(SFSHIM_MODE_AUTO)` in a sender whose sendfile syscall fails with ENOSYS (seccomp)",
    "`sfshim_sendfile_mode(SFSHIM_MODE_AUTO)` in a sender under FreeBSD's linuxulator as `sfshim-nosendfile"
    " --profile freebsd` plays it (a supervisor performs its sendfile): the shim recognises the layer and"
    " emulates every call",
    "a reference, not an engine: one `send` (sockets) or `write` (pipes, files) per call straight from a mapping"
    " of the file made once per measurement, outside the timed loop (`MAP_SHARED`, `PROT_READ`, `MAP_POPULATE`),"
    " continued only after a short count: the least any user-space sender can do — one copy, one system call,"
    " no checks",
    "`pread`/`write` loop, 8 KiB buffer (libuv, CPython's fallback, the old two-copy loop)",
    "`pread`/`write` loop, 64 KiB buffer"};

enum Transport { T_TCP, T_UNIX, T_PIPE, T_FILE, T_COUNT };
const char* const kTransportNames[T_COUNT] = {"tcp", "unix", "pipe", "file"};
const char* const kTransportHow[T_COUNT] = {
    "loopback TCP (127.0.0.1, TCP_NODELAY) to a receiving process",
    "Unix stream socketpair to a receiving process",
    "pipe (default 64 KiB capacity) to a receiving process",
    "file to file on the same file system (output truncated before every measurement)"};

std::vector<pid_t> g_children;  // main process only: killed when it fails
std::string g_workdir;          // removed at the end (main process only)
bool g_is_main = true;

void cleanup_main();

[[noreturn]] void fail(const char* fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "sfbench: FAIL: %s\n", msg);
    if (g_is_main) {
        cleanup_main();
        exit(1);
    }
    _exit(1);
}

void copy_msg(char* dst, size_t cap, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

double now() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double tv(const struct timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
}

bool write_all(int fd, const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        c += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

bool read_all(int fd, void* p, size_t n) {
    char* c = static_cast<char*>(p);
    while (n > 0) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        c += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

std::string size_name(uint64_t s) {
    char b[64];
    if (s >= (1ull << 30) && s % (1ull << 30) == 0)
        snprintf(b, sizeof b, "%llu GiB", static_cast<unsigned long long>(s >> 30));
    else if (s >= (1ull << 20) && s % (1ull << 20) == 0)
        snprintf(b, sizeof b, "%llu MiB", static_cast<unsigned long long>(s >> 20));
    else if (s >= 1024 && s % 1024 == 0)
        snprintf(b, sizeof b, "%llu KiB", static_cast<unsigned long long>(s >> 10));
    else
        snprintf(b, sizeof b, "%llu B", static_cast<unsigned long long>(s));
    return b;
}

bool parse_size(const std::string& s, uint64_t* out) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = strtoull(s.c_str(), &end, 10);
    if (errno || end == s.c_str()) return false;
    std::string suf(end);
    for (auto& ch : suf) ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
    uint64_t mul = 1;
    if (suf.empty() || suf == "B")
        mul = 1;
    else if (suf == "K" || suf == "KIB" || suf == "KB")
        mul = 1ull << 10;
    else if (suf == "M" || suf == "MIB" || suf == "MB")
        mul = 1ull << 20;
    else if (suf == "G" || suf == "GIB" || suf == "GB")
        mul = 1ull << 30;
    else
        return false;
    if (v == 0) return false;
    *out = v * mul;
    return true;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t p = s.find(sep, start);
        if (p == std::string::npos) p = s.size();
        if (p > start) out.push_back(s.substr(start, p - start));
        start = p + 1;
    }
    return out;
}

// ---------------------------------------------------------------- options

struct Options {
    std::vector<uint64_t> sizes = {4ull << 10, 64ull << 10, 1ull << 20, 64ull << 20, 1ull << 30};
    std::vector<uint64_t> call_sizes = {0};  // bytes asked per call at most; 0: the whole file
    std::vector<int> transports = {T_TCP, T_UNIX, T_PIPE, T_FILE};
    std::vector<int> methods = {M_KERNEL, M_MMAP, M_RW, M_EMULATE, M_AUTO_NOSF, M_FLOOR, M_LOOP8K, M_LOOP64K};
    int rounds = 5;
    double max_seconds = 30;  // per (transport, size) block
    double min_time = 0.2;    // per measurement
    bool quick = false;
    bool count_syscalls = true;
    bool syscalls_mode = false;
    std::string dir;
    std::string markdown, csv, plot;
};

void usage(FILE* f) {
    fputs(
        "usage: sfbench [OPTIONS]\n"
        "       sfbench --syscalls [--markdown FILE]\n"
        "\n"
        "Linux sendfile against sfshim's engines, read/write loops and a floor,\n"
        "interleaved and repeated, over loopback TCP, Unix sockets, pipes and\n"
        "file->file.\n"
        "\n"
        "  --sizes LIST        file sizes, e.g. 4K,64K,1M,64M,1G (default)\n"
        "  --call-size LIST    bytes asked per call at most, e.g. whole,4M: each\n"
        "                      transfer then sends the file in calls of at most that\n"
        "                      many bytes, the offset advancing (default whole: the\n"
        "                      rest of the file in each call). Part of a cell's\n"
        "                      identity; a size at least the file's is `whole`\n"
        "  --transports LIST   tcp,unix,pipe,file (default all)\n"
        "  --methods LIST      kernel,mmap,rw,emulate,auto-nosendfile,auto-freebsd,\n"
        "                      floor,loop8k,loop64k (default all but auto-freebsd,\n"
        "                      which needs Linux 5.6). floor is a reference: one\n"
        "                      send (sockets) or write (pipes, files) per call from\n"
        "                      a mapping of the file made before the timing starts\n"
        "  --rounds N          rounds per cell, median and min-max reported (default 5)\n"
        "  --max-seconds S     time budget of one block (transport, size, call size):\n"
        "                      after its first round, fewer rounds (at least 3) are\n"
        "                      run when all would take longer (default 30)\n"
        "  --min-time S        small files are sent repeatedly until one measurement\n"
        "                      takes about S seconds (default 0.2)\n"
        "  --dir DIR           where the test files go (default $TMPDIR or /var/tmp)\n"
        "  --no-syscall-count  skip the strace pass that counts system calls\n"
        "  --quick             tiny sizes, 1 round, no strace: a correctness smoke test\n"
        "  --syscalls          only count the system calls of one emulated 4 KiB call\n"
        "                      (to a socket, with an offset) in each engine, by name\n"
        "  --markdown FILE     write the report as markdown (it is also printed)\n"
        "  --csv FILE          write one row per cell\n"
        "  --plot FILE.png     draw throughput against size (tests/bench/plot.py,\n"
        "                      python3 with matplotlib)\n"
        "\n"
        "The per-call and large-file cells (the bench-calls build target):\n"
        "  sfbench --transports tcp,unix --sizes 16K,64M,512M --call-size whole,4M\n"
        "\n"
        "Exit status: 0, 1 when a transfer moved wrong data or failed, 2 for usage.\n",
        f);
}

[[noreturn]] void usage_error(const char* msg, const char* arg) {
    fprintf(stderr, "sfbench: %s '%s' (try --help)\n", msg, arg);
    exit(2);
}

int index_of(const char* const* names, int n, const std::string& s) {
    for (int i = 0; i < n; i++)
        if (s == names[i]) return i;
    return -1;
}

Options parse_options(int argc, char** argv) {
    Options o;
    bool sizes_given = false, rounds_given = false;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        std::string val;
        bool has_val = false;
        size_t eq = a.find('=');
        if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
            val = a.substr(eq + 1);
            a = a.substr(0, eq);
            has_val = true;
        }
        auto need = [&](void) -> std::string {
            if (has_val) return val;
            if (i + 1 >= argc) usage_error("missing value for", a.c_str());
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            usage(stdout);
            exit(0);
        } else if (a == "--sizes") {
            o.sizes.clear();
            for (auto& s : split(need(), ',')) {
                uint64_t v;
                if (!parse_size(s, &v)) usage_error("bad size", s.c_str());
                o.sizes.push_back(v);
            }
            sizes_given = true;
        } else if (a == "--call-size" || a == "--call-sizes") {
            o.call_sizes.clear();
            for (auto& s : split(need(), ',')) {
                uint64_t v = 0;
                if (s != "whole" && !parse_size(s, &v)) usage_error("bad call size", s.c_str());
                o.call_sizes.push_back(v);
            }
            if (o.call_sizes.empty()) usage_error("empty list in", "--call-size");
        } else if (a == "--transports") {
            o.transports.clear();
            for (auto& s : split(need(), ',')) {
                int t = index_of(kTransportNames, T_COUNT, s);
                if (t < 0) usage_error("unknown transport", s.c_str());
                o.transports.push_back(t);
            }
        } else if (a == "--methods") {
            o.methods.clear();
            for (auto& s : split(need(), ',')) {
                int m = index_of(kMethodNames, M_COUNT, s);
                if (m < 0) usage_error("unknown method", s.c_str());
                o.methods.push_back(m);
            }
        } else if (a == "--rounds") {
            std::string v = need();
            o.rounds = atoi(v.c_str());
            if (o.rounds < 1) usage_error("bad round count", v.c_str());
            rounds_given = true;
        } else if (a == "--max-seconds") {
            std::string v = need();
            o.max_seconds = atof(v.c_str());
            if (!(o.max_seconds > 0)) usage_error("bad --max-seconds", v.c_str());
        } else if (a == "--min-time") {
            std::string v = need();
            o.min_time = atof(v.c_str());
            if (!(o.min_time > 0)) usage_error("bad --min-time", v.c_str());
        } else if (a == "--dir") {
            o.dir = need();
        } else if (a == "--no-syscall-count") {
            o.count_syscalls = false;
        } else if (a == "--quick") {
            o.quick = true;
        } else if (a == "--syscalls") {
            o.syscalls_mode = true;
        } else if (a == "--markdown") {
            o.markdown = need();
        } else if (a == "--csv") {
            o.csv = need();
        } else if (a == "--plot") {
            o.plot = need();
        } else {
            usage_error("unknown option", argv[i]);
        }
    }
    if (o.sizes.empty() || o.transports.empty() || o.methods.empty())
        usage_error("empty list in", "--sizes/--transports/--methods");
    if (o.quick) {
        // Odd sizes too: page-unaligned ends, a window boundary inside a file.
        if (!sizes_given) o.sizes = {1, 4096, 65536 + 123, (1u << 20) + 4097, (5u << 20) - 7};
        if (!rounds_given) o.rounds = 1;
        o.min_time = std::min(o.min_time, 0.01);
        o.count_syscalls = false;
    }
    std::sort(o.sizes.begin(), o.sizes.end());
    o.sizes.erase(std::unique(o.sizes.begin(), o.sizes.end()), o.sizes.end());
    return o;
}

// ---------------------------------------------------------------- wire formats

struct Ctrl {         // main/worker -> receiver
    uint64_t bytes;   // expect exactly this many
    uint64_t size;    // the stream is the input file of this size, repeated
    int32_t size_index;
    int32_t verify;   // compare the bytes with the input file
    int32_t quit;     // no more data: the stream must be at its end
    int32_t pad;
};

struct Ack {  // receiver -> worker (or main, for quit)
    uint64_t got;
    int32_t ok;
    int32_t pad;
    char err[256];
};

enum { OP_MEASURE = 1, OP_COUNT = 2, OP_QUIT = 3 };

struct Cmd {  // main -> worker
    int32_t op;
    int32_t method;
    int32_t size_index;
    int32_t verify;
    uint64_t size;
    uint64_t reps;
    uint64_t call_size;  // 0: the whole rest of the file per call
};

struct Result {  // worker -> main
    int32_t ok;
    int32_t have_cache;  // the library has sfshim_cache_stats_get and the method is the shim's
    double wall, user, sys;
    uint64_t bytes;
    uint64_t calls;  // calls made (sendfile; for the loops, one pread and its writes; for floor, one
                     // send/write and its continuations after short counts), retries included
    // The cache over this measurement: hits, misses, bypasses and evictions as
    // the difference of two snapshots; entries, mapped and peak at its end.
    sfshim_cache_stats cache;
    uint64_t faults;    // the sender's page faults (minor and major) over the measurement
    uint64_t syscalls;
    char names[1536];  // "name count name count ..." (counting pass)
    char err[512];
};

std::string input_path(const std::string& dir, uint64_t size) {
    return dir + "/in-" + std::to_string(size);
}

// Deterministic, incompressible-looking content; a page of the file never
// repeats another, so a misplaced window cannot pass the comparison.
void fill_pattern(char* buf, size_t len, uint64_t* state) {
    size_t i = 0;
    uint64_t x = *state;
    while (i < len) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t n = std::min(len - i, sizeof x);
        memcpy(buf + i, &x, n);
        i += n;
    }
    *state = x;
}

// ---------------------------------------------------------------- receiver

// Drains the stream; each measurement announces its byte count on the control
// pipe and gets an acknowledgement once exactly that many arrived.
[[noreturn]] void receiver_main(int data_fd, int ctrl_r, int ack_w, const std::string& dir,
                                const std::vector<uint64_t>& sizes) {
    g_is_main = false;
    const size_t kBuf = 256u << 10;
    char* buf = static_cast<char*>(malloc(kBuf));
    if (!buf) _exit(1);
    for (;;) {
        Ctrl c;
        if (!read_all(ctrl_r, &c, sizeof c)) _exit(0);  // everybody left
        Ack ack{};
        ack.ok = 1;
        if (c.quit) {
            char extra;
            ssize_t r;
            do r = read(data_fd, &extra, 1);
            while (r < 0 && errno == EINTR);
            if (r != 0) {
                ack.ok = 0;
                copy_msg(ack.err, sizeof ack.err, "receiver: %s after the last measurement",
                         r > 0 ? "extra bytes arrived" : strerror(errno));
            }
            write_all(ack_w, &ack, sizeof ack);
            _exit(0);
        }
        const char* src = nullptr;
        size_t src_len = 0;
        if (c.verify) {
            int fd = open(input_path(dir, sizes[static_cast<size_t>(c.size_index)]).c_str(), O_RDONLY);
            src_len = static_cast<size_t>(c.size);
            void* m = fd >= 0 ? mmap(nullptr, src_len, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
            if (fd >= 0) close(fd);
            if (m == MAP_FAILED) {
                ack.ok = 0;
                copy_msg(ack.err, sizeof ack.err, "receiver: cannot map the input: %s", strerror(errno));
            } else {
                src = static_cast<const char*>(m);
            }
        }
        uint64_t got = 0;
        while (got < c.bytes) {
            struct pollfd p = {data_fd, POLLIN, 0};
            int pr = poll(&p, 1, 120000);
            if (pr == 0) {
                ack.ok = 0;
                copy_msg(ack.err, sizeof ack.err,
                         "receiver: stalled for 120 s after %llu of %llu bytes (the sender stopped short)",
                         static_cast<unsigned long long>(got), static_cast<unsigned long long>(c.bytes));
                break;
            }
            ssize_t r = read(data_fd, buf, static_cast<size_t>(std::min<uint64_t>(kBuf, c.bytes - got)));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                ack.ok = 0;
                copy_msg(ack.err, sizeof ack.err, "receiver: %s after %llu of %llu bytes",
                         r == 0 ? "end of stream" : strerror(errno), static_cast<unsigned long long>(got),
                         static_cast<unsigned long long>(c.bytes));
                break;
            }
            if (src && ack.ok) {
                // Stream position got..got+r against the input repeated.
                size_t done = 0;
                while (done < static_cast<size_t>(r)) {
                    uint64_t at = (got + done) % src_len;
                    size_t n = std::min<size_t>(static_cast<size_t>(r) - done, static_cast<size_t>(src_len - at));
                    if (memcmp(buf + done, src + at, n) != 0) {
                        size_t k = 0;
                        while (buf[done + k] == src[at + k]) k++;
                        ack.ok = 0;
                        copy_msg(ack.err, sizeof ack.err,
                                 "receiver: wrong byte at stream offset %llu (file offset %llu) of %llu",
                                 static_cast<unsigned long long>(got + done + k),
                                 static_cast<unsigned long long>(at + k),
                                 static_cast<unsigned long long>(c.bytes));
                        break;
                    }
                    done += n;
                }
            }
            got += static_cast<uint64_t>(r);
        }
        if (src) munmap(const_cast<char*>(src), src_len);
        ack.got = got;
        if (!write_all(ack_w, &ack, sizeof ack)) _exit(1);
        if (!ack.ok) {
            // The stream is out of step now: nothing more can be checked.
            pause();
            _exit(1);
        }
    }
}

// ---------------------------------------------------------------- syscall counting

// Counts the system calls this process makes between begin() and end():
// strace attached to this process alone (not the receiver, not threads of
// others) with -o FILE; begin() and end() make a getppid() each, a syscall
// nothing else here makes, and the lines strictly between the two markers
// are counted by name.
class SyscallTrace {
public:
    bool start(char* err, size_t errcap) {
        char tmpl[] = "/tmp/sfbench-strace-XXXXXX";
        int fd = mkstemp(tmpl);
        if (fd < 0) {
            copy_msg(err, errcap, "mkstemp: %s", strerror(errno));
            return false;
        }
        close(fd);
        path_ = tmpl;
        char pid[32];
        snprintf(pid, sizeof pid, "%ld", static_cast<long>(getpid()));
        pid_ = fork();
        if (pid_ < 0) {
            copy_msg(err, errcap, "fork: %s", strerror(errno));
            return false;
        }
        if (pid_ == 0) {
            int devnull = open("/dev/null", O_RDWR);
            if (devnull >= 0) {
                dup2(devnull, STDOUT_FILENO);
                dup2(devnull, STDIN_FILENO);
            }
            execlp("strace", "strace", "-qq", "-s", "0", "-o", path_.c_str(), "-p", pid,
                   static_cast<char*>(nullptr));
            _exit(127);
        }
        // Wait for the attach, then give strace a moment to resume us traced.
        for (int i = 0; i < 10000; i++) {
            if (tracer_pid() != 0) {
                struct timespec ts = {0, 20 * 1000 * 1000};
                nanosleep(&ts, nullptr);
                return true;
            }
            int st;
            if (waitpid(pid_, &st, WNOHANG) == pid_) {
                pid_ = -1;
                copy_msg(err, errcap, "strace could not attach (is it installed? exit status %d)",
                         WIFEXITED(st) ? WEXITSTATUS(st) : -1);
                return false;
            }
            struct timespec ts = {0, 1000 * 1000};
            nanosleep(&ts, nullptr);
        }
        copy_msg(err, errcap, "strace did not attach within 10 s");
        return false;
    }
    static void marker() { syscall(SYS_getppid); }
    // Stops strace and counts. Returns false with a message when the markers
    // are missing.
    bool finish(std::map<std::string, uint64_t>* by_name, uint64_t* total, char* err, size_t errcap) {
        if (pid_ > 0) {
            kill(pid_, SIGINT);
            int st;
            while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
            }
            pid_ = -1;
        }
        FILE* f = fopen(path_.c_str(), "r");
        if (!f) {
            copy_msg(err, errcap, "cannot read the strace output: %s", strerror(errno));
            return false;
        }
        int markers = 0;
        *total = 0;
        char line[4096];
        while (fgets(line, sizeof line, f)) {
            size_t len = strlen(line);
            bool whole = len > 0 && line[len - 1] == '\n';
            if (strncmp(line, "getppid(", 8) == 0) {
                markers++;
            } else if (markers == 1 && isalpha(static_cast<unsigned char>(line[0]))) {
                const char* paren = strchr(line, '(');
                if (paren) {
                    (*by_name)[std::string(line, static_cast<size_t>(paren - line))]++;
                    (*total)++;
                }
            }
            // Skip the rest of an overlong line.
            while (!whole && fgets(line, sizeof line, f)) {
                len = strlen(line);
                whole = len > 0 && line[len - 1] == '\n';
            }
        }
        fclose(f);
        unlink(path_.c_str());
        if (markers != 2) {
            copy_msg(err, errcap, "strace output has %d of the 2 markers", markers);
            return false;
        }
        return true;
    }
    ~SyscallTrace() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }

private:
    static int tracer_pid() {
        FILE* f = fopen("/proc/self/status", "r");
        if (!f) return 0;
        char l[256];
        int t = 0;
        while (fgets(l, sizeof l, f))
            if (strncmp(l, "TracerPid:", 10) == 0) t = atoi(l + 10);
        fclose(f);
        return t;
    }
    pid_t pid_ = -1;
    std::string path_;
};

// ---------------------------------------------------------------- sender worker

struct Worker {
    pid_t pid = -1;
    int cmd_w = -1, res_r = -1;
};

struct WorkerCtx {
    int transport;
    int out_fd;  // socket or pipe write end; the output file for T_FILE
    int ctrl_w, ack_r;
    std::string dir;
    std::vector<uint64_t> sizes;
    std::vector<int> in_fds;
    char* loop_buf;
};

bool is_shim_method(int m) {
    return m == M_MMAP || m == M_RW || m == M_EMULATE || m == M_AUTO_NOSF || m == M_AUTO_FREEBSD;
}

// The kernel a worker's sends meet: this one, one without sendfile, or
// FreeBSD's layer.
enum Profile { P_KERNEL, P_NOSENDFILE, P_FREEBSD, P_COUNT };

int profile_of(int method) {
    return method == M_AUTO_NOSF ? P_NOSENDFILE : method == M_AUTO_FREEBSD ? P_FREEBSD : P_KERNEL;
}

void install_profile(int profile) {
    sfk_rules rules{};
    if (profile == P_FREEBSD) {
        rules.freebsd = 1;
        if (sfk_install(&rules) != 0) fail("cannot start the freebsd profile (Linux 5.6 or newer needed)");
        errno = 0;
        if (syscall(SYS_sendfile, -1, -1, nullptr, 1) != -1 || errno != EBADF)
            fail("the freebsd profile does not answer sendfile");
        return;
    }
    rules.sendfile_errno = ENOSYS;
    if (sfk_install(&rules) != 0) fail("cannot install the seccomp filter");
    errno = 0;
    if (syscall(SYS_sendfile, -1, -1, nullptr, 0) != -1 || errno != ENOSYS)
        fail("the seccomp filter does not make sendfile fail with ENOSYS");
}

// One whole transfer of `size` bytes from offset 0, looping over short counts
// (pipes take one fill per call) as callers do. Each call asks for the rest of
// the file, or at most `call_size` bytes of it when that is not 0; `*calls`
// counts the calls made. `map` is the whole input mapped (floor only). Returns
// false with a message on failure.
bool send_one(const WorkerCtx& w, int method, int in_fd, const char* map, uint64_t size, uint64_t call_size,
              uint64_t* calls, char* err, size_t errcap) {
    int64_t off = 0;
    uint64_t left = size;
    while (left > 0) {
        ssize_t n = -1;
        uint64_t ask = call_size ? std::min(left, call_size) : left;
        ++*calls;
        switch (method) {
            case M_KERNEL: {
                off_t o = static_cast<off_t>(off);
                n = syscall(SYS_sendfile, w.out_fd, in_fd, &o, static_cast<size_t>(ask));
                if (n >= 0 && o != off + n) {
                    copy_msg(err, errcap, "kernel: offset %lld after %zd bytes from %lld", static_cast<long long>(o),
                             n, static_cast<long long>(off));
                    return false;
                }
                break;
            }
            case M_MMAP:
            case M_RW:
            case M_EMULATE:
            case M_AUTO_NOSF:
            case M_AUTO_FREEBSD: {
                sfshim_mode mode = method == M_MMAP      ? SFSHIM_MODE_MMAP
                                   : method == M_RW      ? SFSHIM_MODE_RW
                                   : method == M_EMULATE ? SFSHIM_MODE_EMULATE
                                                         : SFSHIM_MODE_AUTO;
                int64_t before = off;
                n = sfshim_sendfile_mode(mode, w.out_fd, in_fd, &off, static_cast<size_t>(ask));
                if (n >= 0 && off != before + n) {
                    copy_msg(err, errcap, "%s: offset %lld after %zd bytes from %lld", kMethodNames[method],
                             static_cast<long long>(off), n, static_cast<long long>(before));
                    return false;
                }
                if (n >= 0) off = before;  // advanced below, as for the others
                break;
            }
            case M_FLOOR: {
                // The call's bytes straight from the mapping: send() into a
                // socket, write() into a pipe or at the output file's position
                // (as the loops write). A blocking output that takes less is
                // continued until the call's bytes are all written.
                bool sock = w.transport == T_TCP || w.transport == T_UNIX;
                const char* p = map + off;
                size_t want = static_cast<size_t>(ask), done = 0;
                while (done < want) {
                    ssize_t k = sock ? send(w.out_fd, p + done, want - done, 0) : write(w.out_fd, p + done, want - done);
                    if (k < 0 && errno == EINTR) continue;
                    if (k <= 0) {
                        copy_msg(err, errcap, "floor: %s: %s after %llu of %llu bytes", sock ? "send" : "write",
                                 k == 0 ? "returned 0" : strerror(errno),
                                 static_cast<unsigned long long>(size - left + done),
                                 static_cast<unsigned long long>(size));
                        return false;
                    }
                    done += static_cast<size_t>(k);
                }
                n = static_cast<ssize_t>(done);
                break;
            }
            case M_LOOP8K:
            case M_LOOP64K: {
                size_t bs = method == M_LOOP8K ? 8192 : 65536;
                n = pread(in_fd, w.loop_buf, static_cast<size_t>(std::min<uint64_t>(bs, ask)), off);
                if (n > 0 && !write_all(w.out_fd, w.loop_buf, static_cast<size_t>(n))) {
                    copy_msg(err, errcap, "%s: write: %s", kMethodNames[method], strerror(errno));
                    return false;
                }
                break;
            }
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            copy_msg(err, errcap, "%s: %s after %llu of %llu bytes", kMethodNames[method], strerror(errno),
                     static_cast<unsigned long long>(size - left), static_cast<unsigned long long>(size));
            return false;
        }
        if (n == 0) {
            copy_msg(err, errcap, "%s: returned 0 after %llu of %llu bytes", kMethodNames[method],
                     static_cast<unsigned long long>(size - left), static_cast<unsigned long long>(size));
            return false;
        }
        if (static_cast<uint64_t>(n) > ask) {
            copy_msg(err, errcap, "%s: returned %zd for %llu bytes asked", kMethodNames[method], n,
                     static_cast<unsigned long long>(ask));
            return false;
        }
        off += n;
        left -= static_cast<uint64_t>(n);
    }
    return true;
}

// The output file must hold `reps` copies of the input, nothing else.
bool verify_file(const WorkerCtx& w, int in_fd, uint64_t size, uint64_t reps, char* err, size_t errcap) {
    const size_t kChunk = 1u << 20;
    std::vector<char> a(kChunk), b(kChunk);
    uint64_t total = size * reps;
    for (uint64_t pos = 0; pos < total;) {
        uint64_t at = pos % size;
        size_t n = static_cast<size_t>(std::min<uint64_t>({kChunk, total - pos, size - at}));
        ssize_t ra = pread(w.out_fd, a.data(), n, static_cast<off_t>(pos));
        ssize_t rb = pread(in_fd, b.data(), n, static_cast<off_t>(at));
        if (ra != static_cast<ssize_t>(n) || rb != static_cast<ssize_t>(n)) {
            copy_msg(err, errcap, "file: short read verifying at %llu", static_cast<unsigned long long>(pos));
            return false;
        }
        if (memcmp(a.data(), b.data(), n) != 0) {
            size_t k = 0;
            while (a[k] == b[k]) k++;
            copy_msg(err, errcap, "file: output differs from the input at output offset %llu",
                     static_cast<unsigned long long>(pos + k));
            return false;
        }
        pos += n;
    }
    return true;
}

// The shim's own counters must say the transfer went the way the method says,
// and count the calls this process made.
bool check_stats(int method, uint64_t bytes, uint64_t calls, char* err, size_t errcap) {
    sfshim_stats s;
    sfshim_stats_get(&s);
    const char* name = kMethodNames[method];
    bool shim = is_shim_method(method);
    if (!shim) {
        if (s.calls != 0) {
            copy_msg(err, errcap, "%s: the shim saw %llu calls", name, static_cast<unsigned long long>(s.calls));
            return false;
        }
        return true;
    }
    bool ok = s.calls > 0 && s.calls == calls && s.bytes == bytes && s.errors == 0 &&
              s.emulated_calls == s.calls && s.native_calls == 0;
    if (method == M_MMAP) ok = ok && s.mmap_calls == s.calls && s.mmap_fallbacks == 0;
    if (method == M_RW) ok = ok && s.rw_calls == s.calls;
    if (!ok)
        copy_msg(err, errcap,
                 "%s: shim counters do not match the method: calls %llu emulated %llu native %llu mmap %llu "
                 "rw %llu fallbacks %llu mmap_fallbacks %llu errors %llu bytes %llu (expected %llu bytes in "
                 "%llu calls)",
                 name, static_cast<unsigned long long>(s.calls), static_cast<unsigned long long>(s.emulated_calls),
                 static_cast<unsigned long long>(s.native_calls), static_cast<unsigned long long>(s.mmap_calls),
                 static_cast<unsigned long long>(s.rw_calls), static_cast<unsigned long long>(s.fallbacks),
                 static_cast<unsigned long long>(s.mmap_fallbacks), static_cast<unsigned long long>(s.errors),
                 static_cast<unsigned long long>(s.bytes), static_cast<unsigned long long>(bytes),
                 static_cast<unsigned long long>(calls));
    return ok;
}

// floor's mapping of the input: made before the measurement (and its strace
// markers), unmapped when worker_run returns, after the timing.
struct FloorMap {
    void* p = MAP_FAILED;
    size_t len = 0;
    ~FloorMap() {
        if (p != MAP_FAILED) munmap(p, len);
    }
};

Result worker_run(WorkerCtx& w, const Cmd& c) {
    Result r{};
    r.ok = 1;
    int in_fd = w.in_fds[static_cast<size_t>(c.size_index)];
    uint64_t total = c.size * c.reps;
    bool file = w.transport == T_FILE;
    bool counting = c.op == OP_COUNT;
    FloorMap fmap;
    if (c.method == M_FLOOR) {
        fmap.len = static_cast<size_t>(c.size);
        fmap.p = mmap(nullptr, fmap.len, PROT_READ, MAP_SHARED | MAP_POPULATE, in_fd, 0);
        if (fmap.p == MAP_FAILED) {
            copy_msg(r.err, sizeof r.err, "floor: mapping the input: %s", strerror(errno));
            r.ok = 0;
            return r;
        }
    }
    if (file) {
        if (ftruncate(w.out_fd, 0) != 0 || lseek(w.out_fd, 0, SEEK_SET) != 0) {
            copy_msg(r.err, sizeof r.err, "truncating the output file: %s", strerror(errno));
            r.ok = 0;
            return r;
        }
    } else {
        Ctrl ctrl{total, c.size, c.size_index, c.verify, 0, 0};
        if (!write_all(w.ctrl_w, &ctrl, sizeof ctrl)) {
            copy_msg(r.err, sizeof r.err, "receiver control pipe: %s", strerror(errno));
            r.ok = 0;
            return r;
        }
    }
    SyscallTrace trace;
    if (counting && !trace.start(r.err, sizeof r.err)) {
        r.ok = 0;
        // The receiver waits for data it will never get: this run is over.
        return r;
    }
    sfshim_stats_reset();
    bool shim_method = is_shim_method(c.method);
    sfshim_cache_stats cache0{};
    r.have_cache = shim_method && sfshim_cache_stats_get != nullptr;
    if (r.have_cache) sfshim_cache_stats_get(&cache0);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double t0 = now();  // the vDSO: no syscall
    if (counting) SyscallTrace::marker();
    bool sent = true;
    for (uint64_t i = 0; i < c.reps && sent; i++)
        sent = send_one(w, c.method, in_fd, static_cast<const char*>(fmap.p), c.size, c.call_size, &r.calls, r.err,
                        sizeof r.err);
    if (counting) SyscallTrace::marker();
    if (!sent) {
        r.ok = 0;
        return r;
    }
    if (!file) {
        Ack ack;
        if (!read_all(w.ack_r, &ack, sizeof ack)) {
            copy_msg(r.err, sizeof r.err, "the receiver is gone");
            r.ok = 0;
            return r;
        }
        if (!ack.ok || ack.got != total) {
            copy_msg(r.err, sizeof r.err, "%s: %s", kMethodNames[c.method],
                     ack.ok ? "receiver got a different byte count" : ack.err);
            r.ok = 0;
            return r;
        }
    }
    double t1 = now();
    getrusage(RUSAGE_SELF, &ru1);
    r.wall = t1 - t0;
    r.user = tv(ru1.ru_utime) - tv(ru0.ru_utime);
    r.sys = tv(ru1.ru_stime) - tv(ru0.ru_stime);
    r.faults = static_cast<uint64_t>((ru1.ru_minflt - ru0.ru_minflt) + (ru1.ru_majflt - ru0.ru_majflt));
    r.bytes = total;
    if (r.have_cache) {
        sfshim_cache_stats cache1{};
        sfshim_cache_stats_get(&cache1);
        r.cache = cache1;
        r.cache.hits = cache1.hits - cache0.hits;
        r.cache.misses = cache1.misses - cache0.misses;
        r.cache.bypasses = cache1.bypasses - cache0.bypasses;
        r.cache.evictions = cache1.evictions - cache0.evictions;
    }
    if (counting) {
        std::map<std::string, uint64_t> by_name;
        if (!trace.finish(&by_name, &r.syscalls, r.err, sizeof r.err)) {
            r.ok = 0;
            return r;
        }
        std::vector<std::pair<uint64_t, std::string>> sorted;
        for (auto& kv : by_name) sorted.push_back({kv.second, kv.first});
        std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
        std::string s;
        for (auto& kv : sorted) s += kv.second + " " + std::to_string(kv.first) + " ";
        copy_msg(r.names, sizeof r.names, "%s", s.c_str());
    }
    if (!check_stats(c.method, total, r.calls, r.err, sizeof r.err)) {
        r.ok = 0;
        return r;
    }
    if (file) {
        struct stat st;
        if (fstat(w.out_fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != total) {
            copy_msg(r.err, sizeof r.err, "%s: the output file has %lld bytes, expected %llu", kMethodNames[c.method],
                     static_cast<long long>(st.st_size), static_cast<unsigned long long>(total));
            r.ok = 0;
            return r;
        }
        if (c.verify && !verify_file(w, in_fd, c.size, c.reps, r.err, sizeof r.err)) {
            r.ok = 0;
            return r;
        }
    }
    return r;
}

[[noreturn]] void worker_main(WorkerCtx w, int cmd_r, int res_w, int profile) {
    g_is_main = false;
    signal(SIGPIPE, SIG_IGN);  // a vanished receiver is an error message, not a silent death
    if (profile != P_KERNEL) install_profile(profile);
    for (uint64_t s : w.sizes) {
        int fd = open(input_path(w.dir, s).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail("open input: %s", strerror(errno));
        w.in_fds.push_back(fd);
    }
    w.loop_buf = static_cast<char*>(malloc(65536));
    memset(w.loop_buf, 0, 65536);
    for (;;) {
        Cmd c;
        if (!read_all(cmd_r, &c, sizeof c)) _exit(0);
        if (c.op == OP_QUIT) _exit(0);
        Result r = worker_run(w, c);
        if (!write_all(res_w, &r, sizeof r)) _exit(1);
        if (!r.ok) _exit(1);
    }
}

// ---------------------------------------------------------------- one transport

struct Rig {
    int transport;
    pid_t receiver = -1;
    int ack_r = -1;   // main's copy, for the final check
    int ctrl_w = -1;  // main's copy, for quit
    Worker workers[P_COUNT];  // one per Profile
};

Rig start_rig(int transport, const std::string& dir, const std::vector<uint64_t>& sizes) {
    Rig rig;
    rig.transport = transport;
    int send_fd = -1, recv_fd = -1;
    switch (transport) {
        case T_TCP: {
            int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            socklen_t al = sizeof a;
            if (l < 0 || bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1) != 0 ||
                getsockname(l, reinterpret_cast<sockaddr*>(&a), &al) != 0)
                fail("tcp listen: %s", strerror(errno));
            send_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (send_fd < 0 || connect(send_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
                fail("tcp connect: %s", strerror(errno));
            recv_fd = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
            if (recv_fd < 0) fail("tcp accept: %s", strerror(errno));
            close(l);
            int one = 1;
            setsockopt(send_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            break;
        }
        case T_UNIX: {
            int sv[2];
            if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) fail("socketpair: %s", strerror(errno));
            send_fd = sv[0];
            recv_fd = sv[1];
            break;
        }
        case T_PIPE: {
            int p[2];
            if (pipe2(p, O_CLOEXEC) != 0) fail("pipe: %s", strerror(errno));
            recv_fd = p[0];
            send_fd = p[1];
            break;
        }
        case T_FILE: {
            std::string out = dir + "/out";
            send_fd = open(out.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (send_fd < 0) fail("open %s: %s", out.c_str(), strerror(errno));
            break;
        }
    }
    int ctrl[2] = {-1, -1}, ack[2] = {-1, -1};
    if (transport != T_FILE) {
        if (pipe2(ctrl, O_CLOEXEC) != 0 || pipe2(ack, O_CLOEXEC) != 0) fail("pipe: %s", strerror(errno));
        fflush(nullptr);
        pid_t p = fork();
        if (p < 0) fail("fork: %s", strerror(errno));
        if (p == 0) {
            close(send_fd);
            close(ctrl[1]);
            close(ack[0]);
            receiver_main(recv_fd, ctrl[0], ack[1], dir, sizes);
        }
        rig.receiver = p;
        g_children.push_back(p);
        close(recv_fd);
        close(ctrl[0]);
        close(ack[1]);
        rig.ctrl_w = ctrl[1];
        rig.ack_r = ack[0];
    }
    for (int k = 0; k < P_COUNT; k++) {
        int cmd[2], res[2];
        if (pipe2(cmd, O_CLOEXEC) != 0 || pipe2(res, O_CLOEXEC) != 0) fail("pipe: %s", strerror(errno));
        fflush(nullptr);
        pid_t p = fork();
        if (p < 0) fail("fork: %s", strerror(errno));
        if (p == 0) {
            close(cmd[1]);
            close(res[0]);
            for (int j = 0; j < k; j++) {
                close(rig.workers[j].cmd_w);
                close(rig.workers[j].res_r);
            }
            WorkerCtx w{transport, send_fd, rig.ctrl_w, rig.ack_r, dir, sizes, {}, nullptr};
            worker_main(w, cmd[0], res[1], k);
        }
        g_children.push_back(p);
        close(cmd[0]);
        close(res[1]);
        rig.workers[k] = Worker{p, cmd[1], res[0]};
    }
    close(send_fd);  // the workers hold it now
    return rig;
}

Result run_cmd(Rig& rig, int method, int op, int size_index, uint64_t size, uint64_t reps, bool verify,
               uint64_t call_size = 0) {
    Worker& w = rig.workers[profile_of(method)];
    Cmd c{op, method, size_index, verify ? 1 : 0, size, reps, call_size};
    Result r{};
    if (!write_all(w.cmd_w, &c, sizeof c) || !read_all(w.res_r, &r, sizeof r))
        fail("%s over %s, %s: the sender process died", kMethodNames[method], kTransportNames[rig.transport],
             size_name(size).c_str());
    if (!r.ok)
        fail("%s over %s, %s x %llu%s%s: %s", kMethodNames[method], kTransportNames[rig.transport],
             size_name(size).c_str(), static_cast<unsigned long long>(reps), call_size ? " in calls of " : "",
             call_size ? size_name(call_size).c_str() : "", r.err);
    return r;
}

void stop_rig(Rig& rig) {
    for (auto& w : rig.workers) {
        Cmd c{OP_QUIT, 0, 0, 0, 0, 0, 0};
        write_all(w.cmd_w, &c, sizeof c);
        close(w.cmd_w);
        close(w.res_r);
        int st;
        waitpid(w.pid, &st, 0);
        g_children.erase(std::remove(g_children.begin(), g_children.end(), w.pid), g_children.end());
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail("a sender process over %s failed", kTransportNames[rig.transport]);
    }
    if (rig.receiver > 0) {
        // Every writer is gone: the stream must end exactly here.
        Ctrl c{0, 0, 0, 0, 1, 0};
        write_all(rig.ctrl_w, &c, sizeof c);
        Ack ack{};
        if (!read_all(rig.ack_r, &ack, sizeof ack)) fail("the %s receiver died", kTransportNames[rig.transport]);
        if (!ack.ok) fail("%s: %s", kTransportNames[rig.transport], ack.err);
        close(rig.ctrl_w);
        close(rig.ack_r);
        int st;
        waitpid(rig.receiver, &st, 0);
        g_children.erase(std::remove(g_children.begin(), g_children.end(), rig.receiver), g_children.end());
    }
}

// ---------------------------------------------------------------- files and machine

void make_inputs(const std::string& dir, const std::vector<uint64_t>& sizes) {
    const size_t kChunk = 1u << 20;
    std::vector<char> buf(kChunk);
    for (uint64_t s : sizes) {
        std::string p = input_path(dir, s);
        int fd = open(p.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) fail("create %s: %s", p.c_str(), strerror(errno));
        uint64_t state = 0x9e3779b97f4a7c15ull ^ s;
        for (uint64_t done = 0; done < s;) {
            size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, s - done));
            fill_pattern(buf.data(), n, &state);
            if (!write_all(fd, buf.data(), n)) fail("write %s: %s", p.c_str(), strerror(errno));
            done += n;
        }
        // On disk before we start, so write-back does not run during the
        // measurements; then read once: the page cache is warm.
        if (fdatasync(fd) != 0) fail("fdatasync %s: %s", p.c_str(), strerror(errno));
        for (uint64_t done = 0; done < s;) {
            ssize_t r = pread(fd, buf.data(), kChunk, static_cast<off_t>(done));
            if (r <= 0) fail("read %s", p.c_str());
            done += static_cast<uint64_t>(r);
        }
        close(fd);
    }
}

void remove_tree(const std::string& dir) {
    if (dir.empty()) return;
    std::string cmd = "rm -rf '" + dir + "'";
    if (system(cmd.c_str()) != 0) fprintf(stderr, "sfbench: could not remove %s\n", dir.c_str());
}

void cleanup_main() {
    for (pid_t p : g_children) kill(p, SIGKILL);
    for (pid_t p : g_children) waitpid(p, nullptr, 0);
    g_children.clear();
    remove_tree(g_workdir);
    g_workdir.clear();
}

std::string read_first(const char* path, const char* key) {
    FILE* f = fopen(path, "r");
    if (!f) return "";
    char line[1024];
    std::string out;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0) {
            const char* c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ' || *c == '\t') c++;
                out = c;
                while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
            }
            break;
        }
    }
    fclose(f);
    return out;
}

std::string loadavg() {
    FILE* f = fopen("/proc/loadavg", "r");
    if (!f) return "?";
    char b[128] = "";
    if (!fgets(b, sizeof b, f)) b[0] = 0;
    fclose(f);
    std::string s(b);
    auto v = split(s, ' ');
    if (v.size() >= 3) return v[0] + " " + v[1] + " " + v[2];
    return "?";
}

std::string machine_lines() {
    struct utsname u;
    uname(&u);
    std::string cpu = read_first("/proc/cpuinfo", "model name");
    std::string mem = read_first("/proc/meminfo", "MemTotal");
    std::string fs;
    char b[512];
    snprintf(b, sizeof b,
             "- CPU: %s, %ld cores online\n- kernel: %s %s %s (%s)\n- memory: %s\n- sfshim %s, build type %s\n",
             cpu.empty() ? "?" : cpu.c_str(), sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, u.machine,
             u.version, mem.c_str(), sfshim_version(), SFBENCH_BUILD_TYPE);
    return b;
}

std::string default_dir() {
    const char* t = getenv("TMPDIR");
    return t && *t ? t : "/var/tmp";
}

// ---------------------------------------------------------------- statistics and report

struct Cell {
    int transport, method;
    uint64_t size;
    uint64_t call_size = 0;  // bytes asked per call at most; 0: the whole file
    uint64_t reps = 0;
    std::vector<double> mbps, cpu_s_per_gb, usec_per_transfer, user_frac, calls_per_transfer, cpu_usec_per_call;
    std::vector<double> faults_per_mib;  // the sender's page faults per MiB sent
    double syscalls_per_mb = -1;  // < 0: not counted
    double syscalls_per_call = -1;  // the same pass: system calls over sendfile calls (or the loops' calls)
    double maps_per_mib = -1;       // the same pass: mmap and munmap calls per MiB sent
    uint64_t counted_bytes = 0;
    std::string syscall_names;
    // The mapping cache over the measured rounds: hits, misses, bypasses and
    // evictions summed; entries and mapped bytes after the last round; the
    // peak since the sender process started (it served the earlier cells too).
    bool have_cache = false;
    sfshim_cache_stats cache{};
};



void add_cache(Cell* c, const Result& r) {
    if (!r.have_cache) return;
    sfshim_cache_stats& a = c->cache;
    a.hits += r.cache.hits;
    a.misses += r.cache.misses;
    a.bypasses += r.cache.bypasses;
    a.evictions += r.cache.evictions;
    a.entries = r.cache.entries;
    a.mapped_bytes = r.cache.mapped_bytes;
    a.peak_mapped_bytes = std::max(a.peak_mapped_bytes, r.cache.peak_mapped_bytes);
    a.cap_bytes = r.cache.cap_bytes;
    c->have_cache = true;
}

// The call sizes measured for files of `size` bytes, in the order given: a
// call size of at least the file's is the whole file; each one once.
std::vector<uint64_t> call_sizes_for(const Options& o, uint64_t size) {
    std::vector<uint64_t> out;
    for (uint64_t cs : o.call_sizes) {
        uint64_t e = cs >= size ? 0 : cs;
        if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
    }
    return out;
}

std::string call_name(uint64_t call_size) { return call_size ? size_name(call_size) : "whole"; }

std::string block_name(uint64_t size, uint64_t call_size) {
    return call_size ? size_name(size) + ", " + size_name(call_size) + " calls" : size_name(size);
}

double median(std::vector<double> v) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
double vmin(const std::vector<double>& v) { return v.empty() ? NAN : *std::min_element(v.begin(), v.end()); }
double vmax(const std::vector<double>& v) { return v.empty() ? NAN : *std::max_element(v.begin(), v.end()); }

std::string fmt_num(double v) {
    char b[64];
    if (std::isnan(v)) return "–";
    double a = std::fabs(v);
    if (a >= 1000)
        snprintf(b, sizeof b, "%.0f", v);
    else if (a >= 100)
        snprintf(b, sizeof b, "%.0f", v);
    else if (a >= 10)
        snprintf(b, sizeof b, "%.1f", v);
    else if (a >= 1)
        snprintf(b, sizeof b, "%.2f", v);
    else if (a >= 0.01)
        snprintf(b, sizeof b, "%.3f", v);
    else if (a == 0)
        snprintf(b, sizeof b, "0");
    else
        snprintf(b, sizeof b, "%.2g", v);
    return b;
}

std::string fmt_ratio(double v) {
    if (std::isnan(v) || std::isinf(v)) return "–";
    char b[32];
    snprintf(b, sizeof b, v >= 10 ? "%.0f×" : "%.2f×", v);
    return b;
}

std::string fmt_time(double usec) {
    char b[64];
    if (std::isnan(usec)) return "–";
    if (usec < 1000)
        snprintf(b, sizeof b, "%.1f µs", usec);
    else if (usec < 1e6)
        snprintf(b, sizeof b, "%.2f ms", usec / 1e3);
    else
        snprintf(b, sizeof b, "%.2f s", usec / 1e6);
    return b;
}

// "0 B", "512 B", "3.5 KiB", "64.0 MiB"
std::string fmt_bytes(uint64_t bytes) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char b[32];
    if (u == 0)
        snprintf(b, sizeof b, "%llu B", static_cast<unsigned long long>(bytes));
    else
        snprintf(b, sizeof b, "%.1f %s", v, units[u]);
    return b;
}

// "hits/misses/evictions, peak mapped of the cap"; empty for the kernel,
// floor and the loops, "n/a" for a library without the cache's counters.
std::string cache_note(const Cell& c) {
    if (!is_shim_method(c.method)) return "";
    if (!c.have_cache) return "n/a";
    const sfshim_cache_stats& s = c.cache;
    char b[256];
    snprintf(b, sizeof b, "%llu/%llu/%llu", static_cast<unsigned long long>(s.hits),
             static_cast<unsigned long long>(s.misses), static_cast<unsigned long long>(s.evictions));
    std::string out = b;
    if (s.bypasses) out += ", " + std::to_string(s.bypasses) + " bypassed";
    out += ", peak " + fmt_bytes(s.peak_mapped_bytes) + " of " + fmt_bytes(s.cap_bytes);
    return out;
}

const Cell* find_cell(const std::vector<Cell>& cells, int t, uint64_t size, uint64_t call_size, int m) {
    for (auto& c : cells)
        if (c.transport == t && c.size == size && c.call_size == call_size && c.method == m) return &c;
    return nullptr;
}

std::string methods_legend(const Options& o) {
    std::string s;
    for (int m : o.methods) s += std::string("- `") + kMethodNames[m] + "`: " + kMethodHow[m] + "\n";
    return s;
}

// The ratio of the method's median to the kernel's in the same block; NaN
// without a kernel cell.
double kratio(const Cell* c, const Cell* k, std::vector<double> Cell::*v) {
    if (!c || !k) return NAN;
    return median(c->*v) / median(k->*v);
}

// CPU per call compares like with like only when the method made as many
// calls per transfer as the kernel (the loops make one per buffer): NaN else.
double per_call_ratio(const Cell* c, const Cell* k) {
    if (!c || !k) return NAN;
    double a = median(c->calls_per_transfer), b = median(k->calls_per_transfer);
    if (!(std::fabs(a - b) <= 0.01 * b)) return NAN;
    return kratio(c, k, &Cell::cpu_usec_per_call);
}

// One table per transport, a row per method and a column per (size, call
// size) block; `cell(transport, block, method)` gives a cell's text.
template <class CellText>
void method_tables(std::string& md, const Options& o, const std::vector<std::pair<uint64_t, uint64_t>>& blocks,
                   bool with_how, CellText cell) {
    for (int t : o.transports) {
        md += std::string("\n**") + kTransportNames[t] + "**" + (with_how ? std::string(": ") + kTransportHow[t] : "") +
              "\n\n| method |";
        for (auto& b : blocks) md += " " + block_name(b.first, b.second) + " |";
        md += "\n|---|";
        for (size_t i = 0; i < blocks.size(); i++) md += "---:|";
        md += "\n";
        for (int m : o.methods) {
            md += std::string("| ") + kMethodNames[m] + " |";
            for (auto& b : blocks) md += " " + cell(t, b, m) + " |";
            md += "\n";
        }
    }
}

std::string report_markdown(const Options& o, const std::vector<Cell>& cells, const std::string& header,
                            const std::string& syscalls_section) {
    std::string md = header;
    bool have_kernel = std::find(o.methods.begin(), o.methods.end(), M_KERNEL) != o.methods.end();
    // The (size, call size) columns, in the order measured.
    std::vector<std::pair<uint64_t, uint64_t>> blocks;
    for (uint64_t s : o.sizes)
        for (uint64_t cs : call_sizes_for(o, s)) blocks.push_back({s, cs});

    // Summaries: medians relative to the kernel, one table per transport.
    struct Summary {
        const char* title;
        std::vector<double> Cell::*v;
        const char* kernel_unit;
    };
    const Summary summaries[] = {
        {"Throughput relative to the kernel's sendfile (median; higher is better)", &Cell::mbps, "MB/s"},
        {"Sender CPU seconds per GB relative to the kernel's (median; lower is better)", &Cell::cpu_s_per_gb, "s/GB"},
        {"Sender CPU microseconds per call relative to the kernel's (median; lower is better)",
         &Cell::cpu_usec_per_call, "µs/call"},
    };
    if (have_kernel && o.methods.size() > 1) {
        for (const Summary& sm : summaries) {
            md += std::string("\n## ") + sm.title + "\n";
            method_tables(md, o, blocks, true, [&](int t, const std::pair<uint64_t, uint64_t>& b, int m) {
                const Cell* c = find_cell(cells, t, b.first, b.second, m);
                const Cell* k = find_cell(cells, t, b.first, b.second, M_KERNEL);
                if (m == M_KERNEL && c) return fmt_num(median(c->*sm.v)) + " " + sm.kernel_unit;
                return fmt_ratio(sm.v == &Cell::cpu_usec_per_call ? per_call_ratio(c, k) : kratio(c, k, sm.v));
            });
        }
    }

    // Counts, not times: what a system call or a page fault costs differs
    // from machine to machine (and is dearer in a compatibility layer, where
    // every call is translated), the number of them does not.
    md += "\n## System calls per call and page faults per MiB (the sender's; lower is better)\n\n"
          "Counts carry over to other machines and to compatibility layers where times do not. "
          "`calls` is system calls per sendfile call (the loops: per `pread` and its writes; `floor`: per "
          "`send`/`write`) from the strace pass, `faults` the sender's minor and major page faults per MiB "
          "sent (`getrusage`, median of the rounds), `maps` its `mmap` and `munmap` calls per MiB.\n";
    method_tables(md, o, blocks, false, [&](int t, const std::pair<uint64_t, uint64_t>& b, int m) {
        const Cell* c = find_cell(cells, t, b.first, b.second, m);
        if (!c) return std::string();
        return (c->syscalls_per_call >= 0 ? fmt_num(c->syscalls_per_call) : "–") + " calls, " +
               fmt_num(median(c->faults_per_mib)) + " faults, " +
               (c->maps_per_mib >= 0 ? fmt_num(c->maps_per_mib) : "–") + " maps";
    });

    md += "\n## All cells\n\n"
          "MB/s and GB are 10^6 and 10^9 bytes. Figures are the median over the rounds, with min–max;"
          " ×k is the ratio of medians to `kernel` in the same transport, size and call size"
          " (for CPU and syscalls lower is better). `per call` is the most bytes one call asks for"
          " (`whole`: the rest of the file). `time/transfer` is the wall time of one whole file,"
          " `calls/transfer` the calls it took (sendfile calls, short counts and retries included; for"
          " the loops, one `pread` and its writes; for `floor`, one `send`/`write` and its continuations"
          " after short counts), and CPU per call the sender's CPU time over the"
          " calls actually made; its ×k only where the method made as many calls per transfer as"
          " the kernel."
          " `cache` (the shim's methods): the mapping cache's hits/misses/evictions summed over the"
          " measured rounds, then the most bytes it had mapped at once since the sender process"
          " started, of its cap (`n/a`: the library has no cache counters).\n";
    for (int t : o.transports) {
        md += std::string("\n### ") + kTransportNames[t] + ": " + kTransportHow[t] + "\n\n";
        md += "| size | per call | method | MB/s (min–max) | ×k | time/transfer | calls/transfer | "
              "sender CPU s/GB (min–max) | ×k | CPU µs/call (min–max) | ×k | user % | syscalls/MB | ×k | "
              "syscalls/call | faults/MiB | mmap+munmap/MiB | rounds × transfers | cache |\n";
        md += "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
        for (auto& b : blocks) {
            const Cell* k = find_cell(cells, t, b.first, b.second, M_KERNEL);
            for (int m : o.methods) {
                const Cell* c = find_cell(cells, t, b.first, b.second, m);
                if (!c) continue;
                double mb = median(c->mbps), cpu = median(c->cpu_s_per_gb), pc = median(c->cpu_usec_per_call);
                md += "| " + size_name(b.first) + " | " + call_name(b.second) + " | " + kMethodNames[m] + " | " +
                      fmt_num(mb) + " (" + fmt_num(vmin(c->mbps)) + "–" + fmt_num(vmax(c->mbps)) + ") | " +
                      fmt_ratio(kratio(c, k, &Cell::mbps)) + " | " + fmt_time(median(c->usec_per_transfer)) + " | " +
                      fmt_num(median(c->calls_per_transfer)) + " | " + fmt_num(cpu) + " (" +
                      fmt_num(vmin(c->cpu_s_per_gb)) + "–" + fmt_num(vmax(c->cpu_s_per_gb)) + ") | " +
                      fmt_ratio(kratio(c, k, &Cell::cpu_s_per_gb)) + " | " + fmt_num(pc) + " (" +
                      fmt_num(vmin(c->cpu_usec_per_call)) + "–" + fmt_num(vmax(c->cpu_usec_per_call)) + ") | " +
                      fmt_ratio(per_call_ratio(c, k)) + " | " +
                      fmt_num(100 * median(c->user_frac)) + " | " +
                      (c->syscalls_per_mb >= 0 ? fmt_num(c->syscalls_per_mb) : "–") + " | " +
                      (k && c->syscalls_per_mb >= 0 && k->syscalls_per_mb > 0
                           ? fmt_ratio(c->syscalls_per_mb / k->syscalls_per_mb)
                           : "–") +
                      " | " + (c->syscalls_per_call >= 0 ? fmt_num(c->syscalls_per_call) : "–") + " | " +
                      fmt_num(median(c->faults_per_mib)) + " | " +
                      (c->maps_per_mib >= 0 ? fmt_num(c->maps_per_mib) : "–") + " | " +
                      std::to_string(c->mbps.size()) + " × " + std::to_string(c->reps) + " | " +
                      cache_note(*c) + " |\n";
            }
        }
    }
    bool any_names = false;
    for (auto& c : cells) any_names = any_names || !c.syscall_names.empty();
    if (any_names) {
        md += "\n## System calls by name, per transfer (1 MiB files, whole-file calls)\n\n"
              "From the same strace pass; the sender only.\n\n| transport | method | syscalls per 1 MiB transfer |\n|---|---|---|\n";
        for (int t : o.transports)
            for (int m : o.methods) {
                const Cell* c = find_cell(cells, t, 1u << 20, 0, m);
                if (!c || c->syscall_names.empty()) continue;
                md += std::string("| ") + kTransportNames[t] + " | " + kMethodNames[m] + " | " + c->syscall_names + " |\n";
            }
    }
    md += syscalls_section;
    return md;
}

// "name 3 name 1" counted over `transfers` transfers -> "name 3, name 1" per transfer.
std::string per_transfer_names(const char* names, uint64_t transfers) {
    auto v = split(names, ' ');
    std::string out;
    for (size_t i = 0; i + 1 < v.size(); i += 2) {
        double n = atof(v[i + 1].c_str()) / static_cast<double>(transfers);
        if (!out.empty()) out += ", ";
        char b[32];
        if (n == std::floor(n)) snprintf(b, sizeof b, "%.0f", n);
        else snprintf(b, sizeof b, "%s", fmt_num(n).c_str());
        out += "`" + v[i] + "` " + b;
    }
    return out;
}

// The sum of the counts of `wanted` in "name 3 name 1".
uint64_t count_named(const char* names, std::initializer_list<const char*> wanted) {
    auto v = split(names, ' ');
    uint64_t n = 0;
    for (size_t i = 0; i + 1 < v.size(); i += 2)
        for (const char* w : wanted)
            if (v[i] == w) n += strtoull(v[i + 1].c_str(), nullptr, 10);
    return n;
}

void write_file(const std::string& path, const std::string& text) {
    FILE* f = fopen(path.c_str(), "w");
    if (!f || fwrite(text.data(), 1, text.size(), f) != text.size() || fclose(f) != 0)
        fail("cannot write %s: %s", path.c_str(), strerror(errno));
}

// One row per cell; a cell is (transport, size, call size, method). The cache
// columns are empty where there are no counters (the kernel, floor, the
// loops, a library without them).
std::string csv_text(const std::vector<Cell>& cells) {
    std::string s =
        "transport,size_bytes,call_size_bytes,per_call,method,rounds,transfers_per_round,mbps_median,mbps_min,"
        "mbps_max,usec_per_transfer_median,cpu_s_per_gb_median,cpu_s_per_gb_min,cpu_s_per_gb_max,"
        "user_fraction_median,syscalls_per_mb,mbps_ratio_to_kernel,cpu_ratio_to_kernel,syscalls_ratio_to_kernel,"
        "calls_per_transfer_median,cpu_usec_per_call_median,cpu_usec_per_call_min,cpu_usec_per_call_max,"
        "cpu_per_call_ratio_to_kernel,syscalls_per_call,faults_per_mib_median,maps_per_mib,cache_hits,cache_misses,cache_bypasses,cache_evictions,cache_entries,"
        "cache_mapped_bytes,cache_peak_mapped_bytes,cache_cap_bytes\n";
    for (auto& c : cells) {
        const Cell* k = find_cell(cells, c.transport, c.size, c.call_size, M_KERNEL);
        char b[1536];
        snprintf(b, sizeof b,
                 "%s,%llu,%llu,%s,%s,%zu,%llu,%.3f,%.3f,%.3f,%.3f,%.6f,%.6f,%.6f,%.4f,%.3f,%.4f,%.4f,%.4f,"
                 "%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,",
                 kTransportNames[c.transport], static_cast<unsigned long long>(c.size),
                 static_cast<unsigned long long>(c.call_size), call_name(c.call_size).c_str(),
                 kMethodNames[c.method], c.mbps.size(), static_cast<unsigned long long>(c.reps), median(c.mbps),
                 vmin(c.mbps), vmax(c.mbps), median(c.usec_per_transfer), median(c.cpu_s_per_gb),
                 vmin(c.cpu_s_per_gb), vmax(c.cpu_s_per_gb), median(c.user_frac), c.syscalls_per_mb,
                 kratio(&c, k, &Cell::mbps), kratio(&c, k, &Cell::cpu_s_per_gb),
                 k && c.syscalls_per_mb >= 0 && k->syscalls_per_mb > 0 ? c.syscalls_per_mb / k->syscalls_per_mb : NAN,
                 median(c.calls_per_transfer), median(c.cpu_usec_per_call), vmin(c.cpu_usec_per_call),
                 vmax(c.cpu_usec_per_call), per_call_ratio(&c, k), c.syscalls_per_call, median(c.faults_per_mib),
                 c.maps_per_mib);
        s += b;
        if (c.have_cache) {
            const sfshim_cache_stats& x = c.cache;
            snprintf(b, sizeof b, "%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n", static_cast<unsigned long long>(x.hits),
                     static_cast<unsigned long long>(x.misses), static_cast<unsigned long long>(x.bypasses),
                     static_cast<unsigned long long>(x.evictions), static_cast<unsigned long long>(x.entries),
                     static_cast<unsigned long long>(x.mapped_bytes),
                     static_cast<unsigned long long>(x.peak_mapped_bytes), static_cast<unsigned long long>(x.cap_bytes));
            s += b;
        } else {
            s += ",,,,,,,\n";
        }
    }
    return s;
}

std::string self_dir() {
    char b[4096];
    ssize_t n = readlink("/proc/self/exe", b, sizeof b - 1);
    if (n <= 0) return ".";
    b[n] = 0;
    std::string s(b);
    size_t p = s.rfind('/');
    return p == std::string::npos ? "." : s.substr(0, p);
}

// plot.py next to the sources (or next to the binary); python3 on PATH first,
// then Debian's, which is where python3-matplotlib installs.
void make_plot(const std::string& csv, const std::string& png) {
    std::string script = std::string(SFBENCH_SOURCE_DIR) + "/plot.py";
    if (access(script.c_str(), R_OK) != 0) script = self_dir() + "/plot.py";
    if (access(script.c_str(), R_OK) != 0) {
        printf("sfbench: plot.py not found; no plot\n");
        return;
    }
    const char* pythons[] = {"python3", "/usr/bin/python3"};
    for (const char* py : pythons) {
        std::string probe = std::string(py) + " -c 'import matplotlib' >/dev/null 2>&1";
        if (system(probe.c_str()) != 0) continue;
        std::string cmd = std::string(py) + " '" + script + "' '" + csv + "' '" + png + "'";
        if (system(cmd.c_str()) != 0) fail("plot.py failed: %s", cmd.c_str());
        printf("sfbench: plot written to %s\n", png.c_str());
        return;
    }
    printf("sfbench: matplotlib is missing (Debian: python3-matplotlib); no plot\n");
}

// ---------------------------------------------------------------- the runs

std::string make_workdir(const Options& o) {
    std::string base = o.dir.empty() ? default_dir() : o.dir;
    std::string tmpl = base + "/sfbench.XXXXXX";
    std::vector<char> t(tmpl.begin(), tmpl.end());
    t.push_back(0);
    if (!mkdtemp(t.data())) fail("mkdtemp in %s: %s", base.c_str(), strerror(errno));
    return t.data();
}

// Repetitions so that one measurement of the kernel's sendfile takes about
// min_time: grow, then settle on a count whose own run confirms it (a busy
// machine makes a single calibration run a poor estimate).
uint64_t calibrate(Rig& rig, int method, int size_index, uint64_t size, uint64_t call_size, double min_time) {
    uint64_t reps = 1;
    for (int tries = 0; tries < 30; tries++) {
        Result r = run_cmd(rig, method, OP_MEASURE, size_index, size, reps, false, call_size);
        bool too_long = r.wall > 3 * min_time && reps > 1;
        if ((r.wall >= 0.7 * min_time && !too_long) || reps >= (1ull << 24)) return reps;
        double per = std::max(r.wall, 1e-7) / static_cast<double>(reps);
        uint64_t next = r.wall >= min_time / 8 ? static_cast<uint64_t>(std::ceil(min_time / per)) : reps * 8;
        reps = std::max<uint64_t>(1, std::min<uint64_t>(next, 1ull << 24));
    }
    return reps;
}

std::string syscalls_section(Rig& rig, int size_index, uint64_t size) {
    std::string md =
        "\n## System calls of one 4 KiB sendfile to a socket, with an offset\n\n"
        "One call `sendfile(tcp_socket, file, &offset, 4096)` after a warm-up call, counted under strace"
        " attached to the sender only, between two marker syscalls.\n\n"
        "| engine | syscalls | by name |\n|---|---:|---|\n";
    const int methods[] = {M_KERNEL, M_MMAP, M_RW, M_EMULATE, M_AUTO_NOSF, M_AUTO_FREEBSD};
    for (int m : methods) {
        run_cmd(rig, m, OP_MEASURE, size_index, size, 1, true);  // warm-up, and the bytes checked
        Result r = run_cmd(rig, m, OP_COUNT, size_index, size, 1, false);
        std::string names = per_transfer_names(r.names, 1);
        md += std::string("| ") + kMethodNames[m] + " | " + std::to_string(r.syscalls) + " | " + names + " |\n";
    }
    return md;
}

int run_syscalls_mode(const Options& o) {
    g_workdir = make_workdir(o);
    std::vector<uint64_t> sizes = {4096};
    make_inputs(g_workdir, sizes);
    Rig rig = start_rig(T_TCP, g_workdir, sizes);
    // The first call of auto-nosendfile in a fresh process: the kernel is asked once.
    Result first = run_cmd(rig, M_AUTO_NOSF, OP_COUNT, 0, 4096, 1, false);
    // And under FreeBSD's layer: the layer is recognised once (uname, else a
    // count-0 call), and its sendfile never called.
    Result first_fb = run_cmd(rig, M_AUTO_FREEBSD, OP_COUNT, 0, 4096, 1, false);
    std::string md = "# sfbench --syscalls\n\n" + machine_lines() + syscalls_section(rig, 0, 4096);
    md += "\nThe first `auto-nosendfile` call of a process (the kernel answers ENOSYS once, then the process"
          " emulates): " + std::to_string(first.syscalls) + " syscalls: " + per_transfer_names(first.names, 1) + ".\n";
    md += "\nThe first `auto-freebsd` call of a process (the layer is recognised once, then every call is"
          " emulated): " + std::to_string(first_fb.syscalls) + " syscalls: " + per_transfer_names(first_fb.names, 1) +
          ".\n";
    stop_rig(rig);
    printf("%s", md.c_str());
    if (!o.markdown.empty()) write_file(o.markdown, md);
    remove_tree(g_workdir);
    g_workdir.clear();
    return 0;
}

int run_bench(const Options& o) {
    double start = now();
    g_workdir = make_workdir(o);
    std::string load0 = loadavg();
    printf("sfbench: test files in %s\n", g_workdir.c_str());
    fflush(stdout);
    make_inputs(g_workdir, o.sizes);

    std::vector<Cell> cells;
    std::string sys_section;
    bool strace_ok = o.count_syscalls && system("strace -V >/dev/null 2>&1") == 0;
    if (o.count_syscalls && !strace_ok) printf("sfbench: strace not found: no system call counts\n");

    for (int t : o.transports) {
        Rig rig = start_rig(t, g_workdir, o.sizes);
        for (size_t si = 0; si < o.sizes.size(); si++) {
            uint64_t size = o.sizes[si];
            int idx = static_cast<int>(si);
            for (uint64_t cs : call_sizes_for(o, size)) {
                // One block: this transport, size and call size, the kernel measured alongside.
                double block_start = now();
                // Per-method warm-up and the correctness check: one verified measurement each.
                uint64_t vreps = size >= (1u << 20) ? 1 : 4;
                for (int m : o.methods) run_cmd(rig, m, OP_MEASURE, idx, size, vreps, true, cs);
                uint64_t reps = calibrate(rig, M_KERNEL, idx, size, cs, o.min_time);
                size_t first_cell = cells.size();
                for (int m : o.methods) {
                    Cell c;
                    c.transport = t;
                    c.method = m;
                    c.size = size;
                    c.call_size = cs;
                    c.reps = reps;
                    cells.push_back(c);
                }
                // No cell is added until this block ends: the pointers stay valid.
                std::vector<Cell*> row;
                for (size_t k = 0; k < o.methods.size(); k++) row.push_back(&cells[first_cell + k]);
                int rounds = o.rounds;
                for (int round = 0; round < rounds; round++) {
                    double round_start = now();
                    // Interleaved: every method once per round; the order rotates so no
                    // method always follows the same one.
                    for (size_t k = 0; k < o.methods.size(); k++) {
                        size_t j = (k + static_cast<size_t>(round)) % o.methods.size();
                        Cell* c = row[j];
                        Result r = run_cmd(rig, c->method, OP_MEASURE, idx, size, reps, false, cs);
                        double bytes = static_cast<double>(r.bytes);
                        double cpu = r.user + r.sys;
                        c->mbps.push_back(bytes / r.wall / 1e6);
                        c->cpu_s_per_gb.push_back(cpu / (bytes / 1e9));
                        c->usec_per_transfer.push_back(r.wall * 1e6 / static_cast<double>(reps));
                        c->user_frac.push_back(cpu > 0 ? r.user / cpu : NAN);
                        c->calls_per_transfer.push_back(static_cast<double>(r.calls) / static_cast<double>(reps));
                        c->cpu_usec_per_call.push_back(cpu * 1e6 / static_cast<double>(std::max<uint64_t>(r.calls, 1)));
                        c->faults_per_mib.push_back(static_cast<double>(r.faults) / (bytes / (1 << 20)));
                        add_cache(c, r);
                    }
                    if (round == 0 && rounds > 1) {
                        double per_round = now() - round_start;
                        double left = o.max_seconds - (now() - block_start);
                        int fit = 1 + static_cast<int>(std::floor(left / std::max(per_round, 1e-3)));
                        int floor_rounds = std::min(3, o.rounds);
                        rounds = std::max(floor_rounds, std::min(rounds, fit));
                    }
                }
                if (strace_ok) {
                    // Fewer transfers under strace: the counts are per transfer and do not vary.
                    uint64_t creps = std::max<uint64_t>(1, std::min<uint64_t>(reps, (8ull << 20) / size));
                    for (Cell* c : row) {
                        Result r = run_cmd(rig, c->method, OP_COUNT, idx, size, creps, false, cs);
                        c->syscalls_per_mb = static_cast<double>(r.syscalls) / (static_cast<double>(r.bytes) / 1e6);
                        c->syscalls_per_call = static_cast<double>(r.syscalls) / static_cast<double>(std::max<uint64_t>(r.calls, 1));
                        c->maps_per_mib = static_cast<double>(count_named(r.names, {"mmap", "mmap2", "munmap"})) /
                                          (static_cast<double>(r.bytes) / (1 << 20));
                        c->counted_bytes = r.bytes;
                        if (size == (1u << 20) && cs == 0) c->syscall_names = per_transfer_names(r.names, creps);
                    }
                }
                const Cell* k = find_cell(cells, t, size, cs, M_KERNEL);
                printf("%-5s %8s, %s per call:", kTransportNames[t], size_name(size).c_str(), call_name(cs).c_str());
                for (Cell* c : row) {
                    printf(" %s %s MB/s", kMethodNames[c->method], fmt_num(median(c->mbps)).c_str());
                    if (k && c != k)
                        printf(" (%s, CPU %s/GB %s/call)", fmt_ratio(median(c->mbps) / median(k->mbps)).c_str(),
                               fmt_ratio(kratio(c, k, &Cell::cpu_s_per_gb)).c_str(),
                               fmt_ratio(per_call_ratio(c, k)).c_str());
                    else
                        printf(" (CPU %s s/GB, %s µs/call)", fmt_num(median(c->cpu_s_per_gb)).c_str(),
                               fmt_num(median(c->cpu_usec_per_call)).c_str());
                    printf(";");
                }
                printf(" [%d rounds × %llu, %.1f s]\n", static_cast<int>(row[0]->mbps.size()),
                       static_cast<unsigned long long>(reps), now() - block_start);
                for (Cell* c : row)
                    if (is_shim_method(c->method))
                        printf("      cache, %s: %s\n", kMethodNames[c->method],
                               c->have_cache ? (cache_note(*c) + " (" + std::to_string(c->cache.entries) + " entries, " +
                                                fmt_bytes(c->cache.mapped_bytes) + " mapped now)").c_str()
                                             : "n/a (the library has no sfshim_cache_stats_get)");
                fflush(stdout);
            }
        }
        stop_rig(rig);
    }

    if (strace_ok && !o.quick) {
        // The per-call list for the README: 4 KiB over TCP with an offset.
        std::vector<uint64_t> small = {4096};
        std::string dir4 = g_workdir + "/syscalls";
        if (mkdir(dir4.c_str(), 0700) != 0) fail("mkdir %s: %s", dir4.c_str(), strerror(errno));
        make_inputs(dir4, small);
        Rig rig = start_rig(T_TCP, dir4, small);
        sys_section = syscalls_section(rig, 0, 4096);
        stop_rig(rig);
    }

    std::string header = "# sfbench results\n\n";
    char b[512];
    time_t tnow = time(nullptr);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&tnow));
    snprintf(b, sizeof b, "Run %s, %.0f s; load average (1, 5, 15 min) %s at the start, %s at the end.\n\n", date,
             now() - start, load0.c_str(), loadavg().c_str());
    header += b;
    header += machine_lines();
    snprintf(b, sizeof b, "- test files: %s (page cache warm, written back to disk first)\n",
             o.dir.empty() ? default_dir().c_str() : o.dir.c_str());
    header += b;
    snprintf(b, sizeof b, "- options: up to %d rounds (at least %d when a block's first round shows all would exceed %.0f s), small files repeated to about %.2f s per measurement\n",
             o.rounds, std::min(3, o.rounds), o.max_seconds, o.min_time);
    header += b;
    std::string cs_list;
    for (uint64_t cs : o.call_sizes) cs_list += (cs_list.empty() ? "" : ", ") + call_name(cs);
    header += "- bytes per call: " + cs_list + "\n";
    header += "\nMethods:\n" + methods_legend(o) +
              "\nHow it is measured: every transfer sends the whole file from offset 0 (an explicit offset"
              " pointer; loops until done, as callers do with short counts), each call asking for the rest of"
              " the file (`whole`) or for at most the call size, the offset advancing. A block is one"
              " transport, file size and call size with every method in it, the kernel included: its rounds"
              " interleave the methods. The sender is a process of its own;"
              " the receiver (another process) reads and discards, checks the byte count of every measurement"
              " and acknowledges it, and the time runs until that acknowledgement; file→file ends when the"
              " last write returns (page cache, no fsync). Once per cell, untimed, the receiver compares every"
              " byte with the input (file→file: the output is compared with the input), and the shim's own"
              " counters must show the engine the method names. Throughput is bytes over wall time. CPU is"
              " the sender's user+sys from `getrusage(RUSAGE_SELF)` in the sender process (the receiver's"
              " is not included, but on loopback TCP the kernel runs much of the receive path in the"
              " sender's context and charges it to the sender). System calls are counted in a separate"
              " pass: strace attached to the sender process alone, the calls between two marker"
              " syscalls around the transfers.\n";
    std::string md = report_markdown(o, cells, header, sys_section);
    printf("\n%s", md.c_str());
    if (!o.markdown.empty()) write_file(o.markdown, md);
    if (!o.csv.empty()) write_file(o.csv, csv_text(cells));
    if (!o.plot.empty()) {
        std::string csv = o.csv;
        if (csv.empty()) {
            csv = g_workdir + "/cells.csv";
            write_file(csv, csv_text(cells));
        }
        make_plot(csv, o.plot);
    }
    remove_tree(g_workdir);
    g_workdir.clear();
    printf("sfbench: all transfers correct (%.0f s)\n", now() - start);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse_options(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, nullptr, _IOLBF, 0);
    if (o.syscalls_mode) return run_syscalls_mode(o);
    return run_bench(o);
}
