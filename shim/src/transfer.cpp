// SPDX-License-Identifier: BSD-2-Clause
#include "transfer.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buffer.h"
#include "cache.h"
#include "common.h"
#include "config.h"
#include "engine.h"
#include "output.h"
#include "platform/platform.h"

namespace sfshim {
namespace {

// Slots of the kernel's internal pipe (PIPE_DEF_BUFFERS) behind sendfile to
// anything but a pipe: its size is the chunk each splice moves.
constexpr size_t kInternalPipeSlots = 16;

bool page_cache_input(const Plan& p) { return p.in == InKind::regular || p.in == InKind::block; }

// Polls the output pipe: 0 with *room telling whether a buffer is free, or
// EPIPE (and SIGPIPE, as the kernel sends it) when no reader is left. Linux
// says so with POLLERR; FreeBSD's pipe_poll with POLLHUP, which Linux never
// sets on a pipe's write end (a reader-less pipe there also reads as room).
int poll_pipe(int fd, int timeout_ms, bool* room) {
    struct pollfd pfd = {fd, POLLOUT, 0};
    int n = poll(&pfd, 1, timeout_ms);
    if (n < 0) return errno;
    if (pfd.revents & (POLLERR | POLLHUP)) {
        platform::raise_sigpipe();
        return EPIPE;
    }
    *room = (pfd.revents & POLLOUT) != 0;
    return 0;
}

// The bytes one fill of the kernel would put into the pipe now, reading from
// `pos`. `ours` bytes in the pipe were written by this call and count as
// free: the kernel would have filled their buffer itself.
size_t pipe_fill_now(const Plan& p, int64_t pos, size_t ours) {
    size_t capacity = 0, queued = 0;
    if (!platform::pipe_capacity(p.out_fd, &capacity, &queued)) return kPageSize;
    queued = queued > ours ? queued - ours : 0;
    size_t slots = capacity / kPageSize;
    size_t used = (queued + kPageSize - 1) / kPageSize;
    size_t free_slots = used < slots ? slots - used : 1;  // poll said one is free
    return pipe_fill_limit(free_slots, pos, page_cache_input(p));
}

// The socket's SO_TYPE, or -1.
int socket_type(int fd) {
    int type = 0;
    socklen_t len = sizeof type;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 ? type : -1;
}

// A Unix-domain socket (its family by getsockname, which POSIX has).
bool is_unix(int fd) {
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    return getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len) == 0 && addr.ss_family == AF_UNIX;
}

// Does the input have a read path the kernel can splice from?
int check_read_path(const Plan& p) {
    switch (p.in) {
        case InKind::directory:
        case InKind::fifo:
        case InKind::other: return EINVAL;
        case InKind::socket: return p.out == OutKind::pipe ? 0 : EINVAL;
        case InKind::regular:
            if (p.in_size == 0 && platform::input_cannot_splice(p.in_fd)) return EINVAL;
            return 0;
        case InKind::block: return 0;
        case InKind::chardev: return platform::chardev_can_splice(p.in_rdev) ? 0 : EINVAL;
    }
    return EINVAL;
}

// The not-a-socket output this thread saw last: the small-file shortcut skips
// it instead of reading the file only to be told ENOTSOCK again. A stale
// entry (the fd was reused for a socket) only costs the shortcut.
thread_local int t_last_non_socket = -1;

Engine engine_for(EngineUsed used) { return used == EngineUsed::mmap ? engine_mmap : engine_rw; }

}  // namespace

size_t pipe_fill_limit(size_t free_slots, int64_t pos, bool page_cache_input) {
    size_t room = free_slots * kPageSize;
    if (page_cache_input) room -= static_cast<size_t>(pos) % kPageSize;
    return room;
}

size_t datagram_chunk(int64_t pos, size_t remaining) {
    return min_of(remaining, kInternalPipeSlots * kPageSize - static_cast<size_t>(pos) % kPageSize);
}

EngineUsed choose_engine(const Plan& plan, sfshim_mode mode, bool unix_stream) {
    bool mappable = plan.in == InKind::regular && plan.in_size > 0;
    if (!mappable || mode == SFSHIM_MODE_RW) return EngineUsed::rw;
    if (mode == SFSHIM_MODE_MMAP) return EngineUsed::mmap;
    // The benchmark's choices (docs/performance.md). A file the mapping
    // cache keeps goes from its mapping into every output: one copy, no
    // mapping per call, and into sockets writes of up to 1 MiB (into TCP
    // 2-2.4x the kernel's throughput at 0.4x its CPU per GB, where read/write
    // gives 1.1-1.3x at 0.75-0.9x). A file it does not keep (unlinked, or
    // larger than half its cap) maps windows of its own: into TCP from
    // 256 KiB, into a Unix stream socket from 4 MiB (below, read/write costs
    // less CPU there), into a file from 1 MiB; a pipe takes one fill of at
    // most its room per call, less than a mapping costs.
    if (cache_keeps(plan.in_id)) return EngineUsed::mmap;
    const Tuning& t = config().tuning;
    if (plan.out == OutKind::pipe) return EngineUsed::rw;
    if (plan.out == OutKind::socket) {
        size_t from = unix_stream ? t.mmap_min_unix : t.mmap_min_socket;
        return plan.count >= from ? EngineUsed::mmap : EngineUsed::rw;
    }
    return plan.count >= t.mmap_min_file ? EngineUsed::mmap : EngineUsed::rw;
}

bool send_small(const Call& call, sfshim_mode mode, Plan* plan, Outcome* outcome) {
    if (!call.has_offset || call.count == 0 || mode == SFSHIM_MODE_MMAP) return false;
    const Tuning& t = config().tuning;
    if (call.count >= t.mmap_min_socket && mode != SFSHIM_MODE_RW) return false;
    if (check_range(call.offset, call.count) != 0 || call.offset >= platform::kSmallestFileSizeLimit)
        return false;
    if (call.limit > 0 && call.offset + static_cast<int64_t>(call.count) > call.limit) return false;
    // One datagram in the kernel too, and one buffer for us.
    if (call.count > datagram_chunk(call.offset, call.count) || call.count > t.rw_buffer) return false;

    if (call.out_fd == t_last_non_socket) return false;
    int out_flags = fcntl(call.out_fd, F_GETFL);
    if (out_flags < 0 || (out_flags & (O_APPEND | platform::path_only_open_flag())) ||
        (out_flags & O_ACCMODE) == O_RDONLY)
        return false;
    struct stat st;
    if (fstat(call.in_fd, &st) != 0 || !S_ISREG(st.st_mode) || call.offset >= st.st_size) return false;
    size_t want = min_of(call.count, static_cast<size_t>(st.st_size - call.offset));

    // The bytes come straight from the mapping cache when it holds (or
    // takes) the file: one copy. The input's own read checks are then asked
    // of its flags, as validate() does. Otherwise from a pooled buffer.
    FileId id = file_id(st);
    MapLease lease;
    const char* data = nullptr;
    if (mode != SFSHIM_MODE_RW && cache_on()) {
        int in_flags = fcntl(call.in_fd, F_GETFL);
        if (in_flags < 0 || !can_read_flags(in_flags)) return false;  // EBADF: the full checks say it
        if (lease.acquire(call.in_fd, id, call.offset) &&
            call.offset + static_cast<int64_t>(want) <= lease.end())
            data = lease.at(call.offset);
        else
            lease.release();
    }
    // send() refuses anything but a socket with ENOTSOCK before doing
    // anything: false then, as for a copy that faulted before its first byte
    // (a file that shrank under its mapping: the full checks see its size).
    ssize_t w = 0;
    int send_err = 0;
    auto deliver = [&](const char* bytes, size_t n) {
        w = send(call.out_fd, bytes, n, 0);
        send_err = errno;
        if (w < 0 && errno == ENOTSOCK) {
            t_last_non_socket = call.out_fd;
            return false;
        }
        if (w < 0 && errno == EFAULT && data != nullptr) return false;
        if (t_last_non_socket == call.out_fd) t_last_non_socket = -1;
        if (w > 0 && static_cast<size_t>(w) < n && !(out_flags & O_NONBLOCK))
            w += static_cast<ssize_t>(finish_short_send(call.out_fd, bytes, static_cast<size_t>(w), n));
        return true;
    };
    if (data != nullptr) {
        if (!deliver(data, want)) return false;
    } else {
        BufferLease buf;
        if (buf.size() < call.count) return false;
        ssize_t r = pread(call.in_fd, buf.data(), want, call.offset);  // EBADF, EISDIR...: the full checks say which
        if (r <= 0 || !deliver(buf.data(), static_cast<size_t>(r))) return false;
    }

    plan->out_fd = call.out_fd;
    plan->in_fd = call.in_fd;
    plan->has_offset = true;
    plan->pos = call.offset;
    plan->count = call.count;
    plan->in = InKind::regular;
    plan->out = OutKind::socket;
    plan->in_size = st.st_size;
    plan->in_id = id;
    outcome->engine = data != nullptr ? EngineUsed::mmap : EngineUsed::rw;
    outcome->result = w < 0 ? -send_err : w;
    return true;
}

Outcome transfer(const Plan& p, sfshim_mode mode) {
    Outcome out;
    size_t want = p.count;
    if (p.out == OutKind::socket && p.out_fd == t_last_non_socket) t_last_non_socket = -1;  // reused fd
    // A full blocking pipe: the kernel waits for a free buffer, then fills.
    // We let a one-byte blocking write do the waiting (signals and SA_RESTART
    // then behave as the kernel's), then fill the rest of that room.
    bool wait_by_writing = false;
    if (p.out == OutKind::pipe) {
        bool room = false;
        if (int err = poll_pipe(p.out_fd, 0, &room)) {
            out.result = -err;
            return out;
        }
        if (!room && p.out_nonblock) {
            out.result = -EAGAIN;
            return out;
        }
        int read_path = want == 0 ? 0 : check_read_path(p);
        if (!room && (want == 0 || read_path != 0)) {
            // Nothing will be written, yet the kernel waits for room first.
            int err;
            do err = poll_pipe(p.out_fd, -1, &room);
            while (err == 0 && !room);
            out.result = err != 0 ? -err : -read_path;
            return out;
        }
        if (room) {
            want = min_of(want, pipe_fill_now(p, p.pos, 0));
        } else {
            wait_by_writing = true;
            want = min_of<size_t>(want, 1);
        }
    }
    if (want == 0) return out;
    if (int err = check_read_path(p)) {
        out.result = -err;
        return out;
    }

    if (p.in == InKind::socket) {  // only into a pipe, checked above
        out.engine = EngineUsed::rw;
        out.result = engine_socket_to_pipe(p, 0, want, 0).moved;
        return out;
    }

    // The socket's type is asked once, and only where a choice depends on it.
    int sock_type = -2;
    auto type = [&] { return sock_type != -2 ? sock_type : (sock_type = socket_type(p.out_fd)); };
    bool unix_stream = p.out == OutKind::socket && (mode == SFSHIM_MODE_EMULATE || mode == SFSHIM_MODE_AUTO) &&
                       p.count >= min_of(config().tuning.mmap_min_unix, config().tuning.mmap_min_socket) &&
                       !cache_keeps(p.in_id) && type() == SOCK_STREAM && is_unix(p.out_fd);
    out.engine = choose_engine(p, mode, unix_stream);
    // A file sent into itself, the output ahead of the input and inside what
    // is still to be read: the kernel's internal pipe holds references to the
    // page cache, not copies, and its write copies forward from them, so a
    // byte read past the output position is the one this call wrote there (a
    // forward memmove). Read/write reproduces that exactly (engine_rw.cpp).
    // A mapping cannot: it is a second address of the same pages, and the
    // copy out of it may read ahead of its own writes. Only a call whose
    // fstats found one file pays the lseek.
    Plan self;
    const Plan* plan = &p;
    if (p.same_file) {
        off_t out_pos = lseek(p.out_fd, 0, SEEK_CUR);
        if (out_pos > p.pos && out_pos - p.pos < static_cast<int64_t>(want)) {
            self = p;
            self.self_gap = out_pos - p.pos;
            plan = &self;
            out.engine = EngineUsed::rw;
        }
    }
    if (p.out == OutKind::other) {
        // No splice write path: the kernel finds out after reading a chunk,
        // so an input at its end still gives 0.
        char probe;
        ssize_t r = pread(p.in_fd, &probe, 1, p.pos);
        out.result = r == 0 ? 0 : -EINVAL;
        return out;
    }

    bool datagram = p.out == OutKind::socket && want > datagram_chunk(p.pos, want) && type() >= 0 &&
                    type() != SOCK_STREAM;
    size_t done = 0;
    while (done < want) {
        int64_t pos = p.pos + static_cast<int64_t>(done);
        size_t len = want - done;
        if (datagram) len = datagram_chunk(pos, len);
        EngineResult r = engine_for(out.engine)(*plan, pos, len, done);
        if (r.cannot_map) {  // the rest through read/write
            out.mmap_fallback = true;
            out.engine = EngineUsed::rw;
            if (r.moved > 0) done += static_cast<size_t>(r.moved);
            continue;
        }
        if (r.moved < 0) {
            if (done == 0) out.result = r.moved;
            break;
        }
        done += static_cast<size_t>(r.moved);
        if (static_cast<size_t>(r.moved) < len) break;  // input ended or output full
        if (wait_by_writing) {
            // Room came, and our first byte is in it: fill what the kernel
            // would have filled from the start.
            wait_by_writing = false;
            want = min_of(p.count, pipe_fill_now(p, p.pos, done));
        }
    }
    if (out.result == 0) out.result = static_cast<ssize_t>(done);
    return out;
}

}  // namespace sfshim
