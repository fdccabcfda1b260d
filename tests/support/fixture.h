// A differential case, described as a value: which input and output, in which
// state, and how sendfile is called. Each run builds its own fresh fixture
// from this description, so the kernel and every shim mode see the same world.
#pragma once

#include <cstdint>
#include <string>

namespace sfdiff {

enum class In {
    File,       // regular file on in_fs
    Memfd,      // memfd_create
    Closed,     // a descriptor number that is not open
    MinusOne,   // -1
    Huge,       // INT_MAX
    WriteOnly,  // regular file opened O_WRONLY
    OPath,      // regular file opened O_PATH
    Pipe,       // read end of a pipe holding in_size bytes, writer closed
    UnixStream, // AF_UNIX stream socket whose peer wrote in_size bytes, then shut down
    Tcp,        // TCP loopback socket whose peer wrote in_size bytes, then shut down
    Directory,  // a directory opened O_RDONLY
    Eventfd,    // eventfd with a non-zero counter
    DevZero,    // /dev/zero
    Path,       // in_path opened O_RDONLY (/proc, /sys, ...)
    SameAsOut,  // the output descriptor itself (output must be a regular file)
    SameFile,   // the output's file opened again, O_RDONLY: another descriptor of one file
};

enum class Out {
    File,       // regular file on out_fs, opened per out_access
    Tcp,        // TCP loopback socket; the peer is the reader
    UnixStream, // AF_UNIX stream socketpair
    UnixDgram,  // AF_UNIX datagram socketpair
    Pipe,       // write end of a pipe
    DevNull,    // /dev/null
    Eventfd,    // eventfd
    Closed,
    MinusOne,
    Huge,
};

enum class Fs { Ext4, Tmpfs };
enum class Access { WriteOnly, ReadWrite, Append, ReadOnly };
enum class OffsetPtr {
    Null,       // offset == NULL
    Given,      // readable and writable memory
    Unreadable, // a PROT_NONE page
    ReadOnly,   // a PROT_READ page
};

struct Spec {
    In in = In::File;
    Fs in_fs = Fs::Ext4;
    uint64_t in_size = 0;   // content size (or pipe/socket bytes waiting)
    bool in_sparse = false; // size set with ftruncate, no data written
    int64_t in_pos = 0;     // initial file position of a seekable input
    bool in_nonblock = false;
    std::string in_path;

    Out out = Out::DevNull;
    Fs out_fs = Fs::Ext4;
    Access out_access = Access::WriteOnly;
    uint64_t out_prefill = 0; // bytes already in the output file
    int64_t out_pos = 0;      // initial position of the output file
    bool out_nonblock = false;
    bool small_buffers = false; // SO_SNDBUF/SO_RCVBUF shrunk to the minimum
    bool no_reader = false;     // pipe read end or socket peer closed before the call
    bool out_append_flag = false; // O_APPEND set with fcntl on a pipe or socket output
    bool late_reader = false;   // pipe: one read() of everything, once the call waits (or returned)
    int pipe_size = 0;          // F_SETPIPE_SZ when non-zero
    int64_t pipe_prefill = 0;   // bytes already in the pipe; -1 fills it up

    OffsetPtr offset_ptr = OffsetPtr::Null;
    int64_t offset = 0;     // stored as int32_t for the 32-bit call
    bool call32 = false;    // Linux's 32-bit `sendfile` (i386 only, see kHaveSendfile32)
    uint64_t count = 0;
    uint64_t seed = 1;

    // Fluent setters, so table rows read as one line.
    Spec &input(In k) { in = k; return *this; }
    Spec &input_path(const std::string &p) { in = In::Path; in_path = p; return *this; }
    Spec &on(Fs fs) { in_fs = fs; return *this; }
    Spec &size(uint64_t n) { in_size = n; return *this; }
    Spec &sparse(uint64_t n) { in_size = n; in_sparse = true; return *this; }
    // A file sent into itself (SameAsOut) with a hole from its second page to
    // its last.
    Spec &with_hole() { in_sparse = true; return *this; }
    Spec &position(int64_t p) { in_pos = p; return *this; }
    Spec &input_nonblocking() { in_nonblock = true; return *this; }
    Spec &output(Out k) { out = k; return *this; }
    Spec &output_file(Access a, Fs fs = Fs::Ext4) { out = Out::File; out_access = a; out_fs = fs; return *this; }
    Spec &output_prefill(uint64_t n, int64_t pos) { out_prefill = n; out_pos = pos; return *this; }
    Spec &nonblocking() { out_nonblock = true; return *this; }
    Spec &small_bufs() { small_buffers = true; return *this; }
    Spec &without_reader() { no_reader = true; return *this; }
    Spec &append_flag() { out_append_flag = true; return *this; }
    Spec &reader_later() { late_reader = true; return *this; }
    Spec &pipe(int sz, int64_t prefill) { pipe_size = sz; pipe_prefill = prefill; return *this; }
    Spec &at(int64_t off) { offset_ptr = OffsetPtr::Given; offset = off; return *this; }
    Spec &offset_in(OffsetPtr p, int64_t off) { offset_ptr = p; offset = off; return *this; }
    Spec &bytes(uint64_t n) { count = n; return *this; }
    Spec &seeded(uint64_t s) { seed = s; return *this; }
    Spec &sendfile32() { call32 = true; return *this; }

    // Non-blocking stream sockets without a reader: the exact partial counts
    // depend on buffer state, so the comparison checks consistency instead.
    // A socket as input into a pipe: the kernel moves whole socket buffers
    // (skbs), whose boundaries user space cannot see; the shim moves what the
    // pipe's room takes. Counts may differ; bytes may not (a documented
    // difference, docs/differences.md).
    bool partial_counts() const
    {
        if (out == Out::Pipe && (in == In::UnixStream || in == In::Tcp))
            return true;
        return out_nonblock && (out == Out::Tcp || out == Out::UnixStream) && !no_reader;
    }
    bool input_seekable() const;
    std::string describe() const;
};

// Linux's sendfile with a 32-bit offset (compat_off_t, MAX_NON_LFS limit) is
// an ABI of 32-bit processes: i386 `sendfile` (syscall 187), beside
// sendfile64. A 64-bit process has no such call to compare with, so specs
// with call32 exist only where this is true.
#if INTPTR_MAX == INT32_MAX
constexpr bool kHaveSendfile32 = true;
#else
constexpr bool kHaveSendfile32 = false;
#endif

// Deterministic pseudo-random content (splitmix64 stream).
std::string make_content(uint64_t seed, uint64_t n);

const char *name(In k);
const char *name(Out k);

} // namespace sfdiff

namespace sfdiff {

// A fixture built from a Spec: live descriptors, owned here. Files are
// unlinked as soon as they are open, so nothing is left behind even when the
// process is killed.
struct Built {
    int in_fd = -1;
    int out_fd = -1;
    int reader_fd = -1;  // pipe read end or socket peer, -1 when none
    bool reader_is_stream_socket = false;
    bool reader_is_datagram = false;
    int64_t *offset = nullptr; // what is passed to sendfile64
    int32_t *offset32 = nullptr; // what is passed to the 32-bit sendfile (spec.call32)
    uint32_t *offset_guard = nullptr; // the 4 bytes after offset32: must stay kOffsetGuard
    void *offset_page = nullptr;
    std::string error;   // non-empty when the fixture could not be built

    Built() = default;
    Built(const Built &) = delete;
    Built &operator=(const Built &) = delete;
    ~Built();
};

constexpr uint32_t kOffsetGuard = 0xa5c3e1f7;

// Builds everything the spec describes. Closed/-1/huge descriptors are
// chosen last so that no later open reuses the number.
void build(const Spec &spec, Built &b);

} // namespace sfdiff
