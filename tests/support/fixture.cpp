#include "fixture.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "io.h"

namespace sfdiff {

std::string make_content(uint64_t seed, uint64_t n)
{
    std::string s(n, '\0');
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    for (uint64_t i = 0; i < n; i += 8) {
        x += 0x9E3779B97F4A7C15ull;
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        std::memcpy(&s[i], &z, (n - i) < 8 ? (n - i) : 8);
    }
    return s;
}

const char *name(In k)
{
    switch (k) {
    case In::File: return "file";
    case In::Memfd: return "memfd";
    case In::Closed: return "closed fd";
    case In::MinusOne: return "fd -1";
    case In::Huge: return "fd INT_MAX";
    case In::WriteOnly: return "write-only file";
    case In::OPath: return "O_PATH file";
    case In::Pipe: return "pipe";
    case In::UnixStream: return "unix stream socket";
    case In::Tcp: return "tcp socket";
    case In::Directory: return "directory";
    case In::Eventfd: return "eventfd";
    case In::DevZero: return "/dev/zero";
    case In::Path: return "path";
    case In::SameAsOut: return "the output fd";
    case In::SameFile: return "the output's file, opened again";
    }
    return "?";
}

const char *name(Out k)
{
    switch (k) {
    case Out::File: return "file";
    case Out::Tcp: return "tcp socket";
    case Out::UnixStream: return "unix stream socket";
    case Out::UnixDgram: return "unix datagram socket";
    case Out::Pipe: return "pipe";
    case Out::DevNull: return "/dev/null";
    case Out::Eventfd: return "eventfd";
    case Out::Closed: return "closed fd";
    case Out::MinusOne: return "fd -1";
    case Out::Huge: return "fd INT_MAX";
    }
    return "?";
}

static const char *name(Fs f) { return f == Fs::Ext4 ? "ext4" : "tmpfs"; }

static const char *name(Access a)
{
    switch (a) {
    case Access::WriteOnly: return "O_WRONLY";
    case Access::ReadWrite: return "O_RDWR";
    case Access::Append: return "O_WRONLY|O_APPEND";
    case Access::ReadOnly: return "O_RDONLY";
    }
    return "?";
}

bool Spec::input_seekable() const
{
    return in == In::File || in == In::Memfd || in == In::SameAsOut || in == In::SameFile ||
           in == In::Path || in == In::DevZero || in == In::Directory;
}

std::string Spec::describe() const
{
    std::ostringstream o;
    o << "in=" << name(in);
    if (in == In::File)
        o << (in_sparse ? " (sparse, " : " (") << name(in_fs) << ")";
    if (in == In::Path)
        o << " " << in_path;
    o << " size=" << in_size << " in_pos=" << in_pos;
    if (in_nonblock)
        o << " in O_NONBLOCK";
    o << " | out=" << name(out);
    if (out == Out::File)
        o << " (" << name(out_fs) << ", " << name(out_access) << ", prefill " << out_prefill
          << ", pos " << out_pos << ")";
    if (out == Out::Pipe)
        o << " (pipe_size " << pipe_size << ", prefill " << pipe_prefill << ")";
    if (out_nonblock)
        o << " O_NONBLOCK";
    if (small_buffers)
        o << " small buffers";
    if (no_reader)
        o << " no reader";
    if (out_append_flag)
        o << " O_APPEND";
    if (late_reader)
        o << " reader comes late (once the call waits)";
    o << " | offset=";
    switch (offset_ptr) {
    case OffsetPtr::Null: o << "NULL"; break;
    case OffsetPtr::Given: o << offset; break;
    case OffsetPtr::Unreadable: o << "PROT_NONE page"; break;
    case OffsetPtr::ReadOnly: o << "PROT_READ page holding " << offset; break;
    }
    if (call32)
        o << " | 32-bit sendfile (32-bit offset, MAX_NON_LFS)";
    o << " count=" << count << " (0x" << std::hex << count << std::dec << ") seed=" << seed;
    return o.str();
}

Built::~Built()
{
    if (in_fd >= 0 && in_fd != out_fd)
        close(in_fd);
    if (out_fd >= 0)
        close(out_fd);
    if (reader_fd >= 0)
        close(reader_fd);
    if (offset_page)
        munmap(offset_page, 4096);
}


static std::string sys_error(const char *what)
{
    return std::string(what) + ": " + std::strerror(errno);
}

// Creates a file with `content` (or a sparse file of `sparse_size`) in the
// file system's scratch directory, opens it with `flags`, unlinks it.
static int scratch_file(Fs fs, const std::string &content, uint64_t sparse_size, int flags,
                        std::string &err)
{
    static unsigned counter = 0;
    std::string dir = fs == Fs::Ext4 ? sftest::scratch_dir() : sftest::scratch_dir_tmpfs();
    std::string path = dir + "/sfshim-diff-" + std::to_string(getpid()) + "-" +
                       std::to_string(counter++);
    int w = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w < 0) {
        err = sys_error(("create " + path).c_str());
        return -1;
    }
    bool ok = sparse_size ? ftruncate(w, static_cast<off_t>(sparse_size)) == 0 : sftest::write_all(w, content);
    int fd = -1;
    if (ok)
        fd = open(path.c_str(), flags | O_CLOEXEC);
    if (!ok || fd < 0)
        err = sys_error(("fill/open " + path).c_str());
    unlink(path.c_str());
    close(w);
    return fd;
}

// Unix sockets get the kernel's minimum. TCP gets 16 KiB: with the minimum
// receive buffer, loopback TCP drops spliced segments and crawls on
// retransmission timers, which tests the network stack, not sendfile.
static void shrink_buffers(int sender, int receiver, bool tcp)
{
    int size = tcp ? 16384 : 1;
    setsockopt(sender, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    if (receiver >= 0)
        setsockopt(receiver, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

static void build_output(const Spec &s, Built &b)
{
    std::string err;
    switch (s.out) {
    case Out::File: {
        int flags = 0;
        switch (s.out_access) {
        case Access::WriteOnly: flags = O_WRONLY; break;
        case Access::ReadWrite: flags = O_RDWR; break;
        case Access::Append: flags = O_WRONLY | O_APPEND; break;
        case Access::ReadOnly: flags = O_RDONLY; break;
        }
        std::string prefill = s.in == In::SameAsOut || s.in == In::SameFile ? make_content(s.seed, s.in_size)
                                                    : make_content(s.seed + 7777, s.out_prefill);
        b.out_fd = scratch_file(s.out_fs, prefill, 0, flags, err);
        // A file sent into itself with a hole: every page but the first and
        // the last punched out (zeros the file system need not store).
        if (b.out_fd >= 0 && s.in == In::SameAsOut && s.in_sparse && s.in_size > 2 * 4096 &&
            fallocate(b.out_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096,
                      static_cast<off_t>((s.in_size - 4096) / 4096 * 4096 - 4096)) != 0)
            err = sys_error("fallocate punch hole");
        if (b.out_fd >= 0 && lseek(b.out_fd, s.out_pos, SEEK_SET) < 0)
            err = sys_error("lseek out");
        break;
    }
    case Out::Tcp:
        if (!sftest::tcp_pair(b.out_fd, b.reader_fd, &err))
            break;
        b.reader_is_stream_socket = true;
        break;
    case Out::UnixStream:
    case Out::UnixDgram: {
        int sv[2];
        int type = s.out == Out::UnixStream ? SOCK_STREAM : SOCK_DGRAM;
        if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) != 0) {
            err = sys_error("socketpair");
            break;
        }
        b.out_fd = sv[0];
        b.reader_fd = sv[1];
        b.reader_is_stream_socket = s.out == Out::UnixStream;
        b.reader_is_datagram = s.out == Out::UnixDgram;
        break;
    }
    case Out::Pipe: {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) {
            err = sys_error("pipe2");
            break;
        }
        b.reader_fd = p[0];
        b.out_fd = p[1];
        if (s.pipe_size && fcntl(p[1], F_SETPIPE_SZ, s.pipe_size) < 0)
            err = sys_error("F_SETPIPE_SZ");
        if (s.pipe_prefill) {
            int cap = fcntl(p[1], F_GETPIPE_SZ);
            uint64_t n = s.pipe_prefill < 0 ? static_cast<uint64_t>(cap) * 2
                                            : static_cast<uint64_t>(s.pipe_prefill);
            std::string fill = make_content(s.seed + 31337, n);
            sftest::set_nonblock(p[1]);
            size_t done = 0;
            while (done < fill.size()) {
                ssize_t w = write(p[1], fill.data() + done, fill.size() - done);
                if (w <= 0)
                    break;
                done += static_cast<size_t>(w);
            }
            if (s.pipe_prefill > 0 && done != fill.size())
                err = "pipe prefill did not fit";
            sftest::set_nonblock(p[1], false);
        }
        break;
    }
    case Out::DevNull:
        b.out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        break;
    case Out::Eventfd:
        b.out_fd = eventfd(0, EFD_CLOEXEC);
        break;
    case Out::Closed:
    case Out::MinusOne:
    case Out::Huge:
        break; // chosen last
    }
    if (s.small_buffers && b.reader_fd >= 0 && s.out != Out::Pipe)
        shrink_buffers(b.out_fd, b.reader_fd, s.out == Out::Tcp);
    if (s.out_nonblock && b.out_fd >= 0)
        sftest::set_nonblock(b.out_fd);
    if (s.out_append_flag && b.out_fd >= 0)
        fcntl(b.out_fd, F_SETFL, fcntl(b.out_fd, F_GETFL) | O_APPEND);
    if (s.no_reader && b.reader_fd >= 0) {
        close(b.reader_fd);
        b.reader_fd = -1;
    }
    if (!err.empty() && b.error.empty())
        b.error = err;
}

static void build_input(const Spec &s, Built &b)
{
    std::string err;
    int nb = s.in_nonblock ? O_NONBLOCK : 0;
    switch (s.in) {
    case In::File:
        b.in_fd = scratch_file(s.in_fs, s.in_sparse ? std::string() : make_content(s.seed, s.in_size),
                               s.in_sparse ? s.in_size : 0, O_RDONLY | nb, err);
        break;
    case In::WriteOnly:
        b.in_fd = scratch_file(s.in_fs, make_content(s.seed, s.in_size), 0, O_WRONLY, err);
        break;
    case In::OPath:
        b.in_fd = scratch_file(s.in_fs, make_content(s.seed, s.in_size), 0, O_PATH, err);
        break;
    case In::Memfd:
        b.in_fd = memfd_create("sfshim-diff", MFD_CLOEXEC);
        if (b.in_fd < 0 || !sftest::write_all(b.in_fd, make_content(s.seed, s.in_size)))
            err = sys_error("memfd");
        if (nb)
            sftest::set_nonblock(b.in_fd);
        break;
    case In::Pipe: {
        int p[2];
        if (pipe2(p, O_CLOEXEC | nb) != 0) {
            err = sys_error("pipe2 in");
            break;
        }
        if (s.in_size > 65536)
            fcntl(p[1], F_SETPIPE_SZ, static_cast<int>(s.in_size));
        if (!sftest::write_all(p[1], make_content(s.seed, s.in_size)))
            err = sys_error("fill input pipe");
        close(p[1]);
        b.in_fd = p[0];
        break;
    }
    case In::UnixStream:
    case In::Tcp: {
        int a = -1, peer = -1;
        if (s.in == In::Tcp) {
            if (!sftest::tcp_pair(a, peer, &err))
                break;
        } else {
            int sv[2];
            if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
                err = sys_error("socketpair in");
                break;
            }
            a = sv[0];
            peer = sv[1];
        }
        if (!sftest::write_all(peer, make_content(s.seed, s.in_size)))
            err = sys_error("fill input socket");
        shutdown(peer, SHUT_WR);
        close(peer);
        if (nb)
            sftest::set_nonblock(a);
        b.in_fd = a;
        break;
    }
    case In::Directory:
        b.in_fd = open(sftest::scratch_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | nb);
        break;
    case In::Eventfd:
        b.in_fd = eventfd(5, EFD_CLOEXEC | (nb ? EFD_NONBLOCK : 0));
        break;
    case In::DevZero:
        b.in_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC | nb);
        break;
    case In::Path:
        b.in_fd = open(s.in_path.c_str(), O_RDONLY | O_CLOEXEC | nb);
        if (b.in_fd < 0)
            err = sys_error(("open " + s.in_path).c_str());
        break;
    case In::SameAsOut:
        b.in_fd = b.out_fd;
        break;
    case In::SameFile: // the file is already unlinked: reopen it through /proc
        b.in_fd = open(("/proc/self/fd/" + std::to_string(b.out_fd)).c_str(), O_RDONLY | O_CLOEXEC | nb);
        if (b.in_fd < 0)
            err = sys_error("reopen the output file");
        break;
    case In::Closed:
    case In::MinusOne:
    case In::Huge:
        break; // chosen last
    }
    if (b.in_fd >= 0 && s.input_seekable() && s.in != In::Directory && s.in != In::SameAsOut &&
        lseek(b.in_fd, s.in_pos, SEEK_SET) < 0)
        err = sys_error("lseek in");
    if (!err.empty() && b.error.empty())
        b.error = err;
}

static int special_fd(bool closed, bool minus_one)
{
    if (minus_one)
        return -1;
    if (!closed)
        return INT_MAX;
    int fd = dup(2);
    close(fd);
    return fd;
}

void build(const Spec &s, Built &b)
{
    build_output(s, b);
    build_input(s, b);
    // Closed numbers last: the lowest free number, freed again. Input and
    // output both closed get the same number, as it would be in real life.
    if (s.out == Out::Closed || s.out == Out::MinusOne || s.out == Out::Huge)
        b.out_fd = special_fd(s.out == Out::Closed, s.out == Out::MinusOne);
    if (s.in == In::Closed || s.in == In::MinusOne || s.in == In::Huge)
        b.in_fd = special_fd(s.in == In::Closed, s.in == In::MinusOne);

    if (s.offset_ptr != OffsetPtr::Null) {
        void *page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED) {
            b.error = sys_error("mmap offset page");
            return;
        }
        b.offset_page = page;
        // The value sits at the end of the page, as a stack variable might.
        b.offset = reinterpret_cast<int64_t *>(static_cast<char *>(page) + 4096 - 8);
        *b.offset = s.offset;
        if (s.call32) {
            // A 32-bit offset followed by a guard word: a 64-bit store
            // where 32 bits belong shows up as a changed guard.
            b.offset32 = reinterpret_cast<int32_t *>(b.offset);
            b.offset_guard = reinterpret_cast<uint32_t *>(static_cast<char *>(page) + 4096 - 4);
            *b.offset32 = static_cast<int32_t>(s.offset);
            *b.offset_guard = kOffsetGuard;
        }
        if (s.offset_ptr == OffsetPtr::ReadOnly)
            mprotect(page, 4096, PROT_READ);
        if (s.offset_ptr == OffsetPtr::Unreadable)
            mprotect(page, 4096, PROT_NONE);
    }
}

} // namespace sfdiff
