// Table-driven differential cases over descriptors of every kind: each case
// builds a fresh fixture, makes one call, and observes everything the call
// can change. One child process per way of calling runs a whole table (and
// streams one line per case, so that a crash names its case).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util.h"

namespace sffault {

enum class Kind {
    File,           // regular file (ext4 scratch), 10000 pattern bytes, O_RDWR
    FileReadOnly,   // the same, O_RDONLY
    FileWriteOnly,  // O_WRONLY
    FileAppend,     // O_WRONLY | O_APPEND
    Memfd,          // memfd with 10000 pattern bytes
    Directory,      // a directory, O_RDONLY
    ProcStatus,     // /proc/self/status
    ProcVersion,    // /proc/version
    DevZero,        // /dev/zero, O_RDWR
    DevNull,        // /dev/null, O_RDWR
    Eventfd,        // eventfd with counter 5
    OPath,          // regular file, O_PATH
    Signalfd,       // signalfd for SIGUSR2
    Timerfd,        // an unarmed timerfd
    Epoll,          // epoll_create1
    Inotify,        // inotify_init1
    TcpListening,   // a listening TCP socket
    TcpUnconnected, // a TCP socket never connected
    UnixStream,     // connected AF_UNIX stream; the peer wrote 10000 bytes and shut down
    PipeRead,       // read end of a pipe holding 10000 bytes, writer closed
    PipeWrite,      // write end of an empty pipe (the case drains it)
    Closed,         // a closed descriptor number
    MinusOne,       // -1
    Huge,           // INT_MAX
};
const char *name(Kind k);
const std::vector<Kind> &all_kinds();

enum class Ptr {
    Null,      // offset == NULL
    Good,      // a normal int64_t
    ProtNone,  // a PROT_NONE page
    ReadOnly,  // a PROT_READ page
    WriteOnly, // a PROT_WRITE page (readable too on x86)
    Unmapped,  // a page that was unmapped
    Straddle,  // 4 bytes before a PROT_NONE page
    StraddleReadOnly, // 4 bytes before a PROT_READ page: reads, does not write
    Misaligned,// an odd address in a writable page
    NullPlus8, // (int64_t *)8
};
const char *name(Ptr p);

struct Case {
    Kind in = Kind::File;
    Kind out = Kind::DevNull;
    Ptr ptr = Ptr::Null;
    int64_t offset = 0;
    uint64_t count = 10000;
    int64_t in_pos = 0; // initial position of a seekable input
    std::string describe() const;
};

// Every (in, out, offset, count) of the lists, in that order, each twice:
// the offset given (Ptr::Good), then the offset as the input's file
// position (Ptr::Null; not for offsets below 0). `skip`, when given, leaves
// out the cases it says.
std::vector<Case> offset_grid(const std::vector<Kind> &ins, const std::vector<Kind> &outs,
                              const std::vector<int64_t> &offsets, const std::vector<uint64_t> &counts,
                              const std::function<bool(const Case &)> &skip = nullptr);

struct Obs {
    long long ret = 0, err = 0;
    long long off_after = 0;          // *offset afterwards, when readable
    long long in_pos = 0, out_pos = 0; // lseek(fd, 0, SEEK_CUR), or -errno
    unsigned long long out_hash = 0, out_len = 0;
    int sigpipe = 0;
    std::string harness; // set when the fixture could not be built
    std::string line() const;
    static Obs parse(const std::string &s);
};

// Why a case cannot be made under a via's kernel (a /proc file where there
// is no /proc), or nullptr. run_table reports such a case as not run
// (harness text starting with kNotRun) and compare_tables skips it.
const char *cannot_run(Via via, const Case &c);
constexpr const char *kNotRun = "not run: ";

// Builds the case's fixture in this process, calls, observes, cleans up.
// `before_call` and `after_call`, when given, run right around the call.
Obs run_case(Via via, const Case &c, const std::function<void()> &before_call = nullptr,
             const std::function<void()> &after_call = nullptr);

// Runs a whole table through `via` in one child; returns one Obs per case,
// or an error naming the case that crashed or hung.
std::vector<Obs> run_table(Via via, const std::vector<Case> &cases, std::string &error,
                           int timeout_ms = 120000);

// Compares each via's table with the kernel's; returns a report of the
// differences (empty when all agree), at most `max_lines` lines.
std::string compare_tables(const std::vector<Case> &cases, const std::vector<Obs> &kernel,
                           const std::vector<Obs> &shim, const char *who, size_t max_lines = 25);

} // namespace sffault
