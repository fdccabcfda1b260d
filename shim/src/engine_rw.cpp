// Chunked read/write: for sockets, pipes, input that cannot be mapped and
// small files, where a copy through a warm buffer costs less than a mapping.
// SPDX-License-Identifier: BSD-2-Clause
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common.h"
#include "engine.h"
#include "output.h"
#include "platform/platform.h"

namespace sfshim {

namespace {

// Fills buf[have, want) with the bytes that repeat with period `gap` (buf[i] =
// buf[i - gap]), in copies that double: memcpy never overlaps.
void repeat_period(char* buf, size_t gap, size_t have, size_t want) {
    while (have < want) {
        size_t period_run = have - have % gap;  // a whole number of periods ends at `have`
        size_t n = min_of(want - have, period_run);
        memcpy(buf + have, buf + have - period_run, n);
        have += n;
    }
}

// The pages a chunk spans: 16 slots' worth from an unaligned start.
constexpr size_t kChunkPages = 17;

// Marks in hole_page[] the pages of [from, from + n) (counted from from's
// page) that are a hole of the file now (SEEK_DATA: tmpfs keeps whole pages,
// so a hole is a whole page); the description's position, which may be the
// output's, is put back. Without those seeks: no holes. A few bytes of
// stack: this may run on a signal handler's.
void find_holes(int fd, int64_t from, size_t n, int64_t size, bool* hole_page) {
    for (size_t p = 0; p < kChunkPages; ++p) hole_page[p] = false;
#if defined(SEEK_DATA) && defined(SEEK_HOLE)
    off_t saved = lseek(fd, 0, SEEK_CUR);
    if (saved < 0) return;
    int64_t first_page = from / static_cast<int64_t>(kPageSize);
    int64_t end = from + static_cast<int64_t>(n);
    for (int64_t at = from; at < end;) {
        off_t data = lseek(fd, static_cast<off_t>(at), SEEK_DATA);
        if (data < 0) data = errno == ENXIO ? static_cast<off_t>(size) : static_cast<off_t>(at);  // ENXIO: a hole to the end
        for (int64_t k = at; k < min_of<int64_t>(data, end); k += static_cast<int64_t>(kPageSize))
            hole_page[k / static_cast<int64_t>(kPageSize) - first_page] = true;
        if (data >= end) break;
        off_t next_hole = lseek(fd, data, SEEK_HOLE);
        if (next_hole <= data) break;
        at = next_hole;
    }
    lseek(fd, saved, SEEK_SET);
#else
    (void)fd, (void)from, (void)n, (void)size;
#endif
}

// A file sent into itself on a file system whose splice read hands holes on
// as the zero page: the kernel's chunks as its internal pipe takes them (16
// page slots from `pos`, up to the size at each read), each a forward copy
// in which a byte whose source was a hole at the chunk's read is zero.
EngineResult self_send_with_holes(const Plan& plan, int64_t pos, size_t len, size_t moved_before, size_t gap,
                                  BufferLease& buf) {
    constexpr size_t kChunk = 16 * kPageSize;
    bool hole_page[kChunkPages];
    char* out = buf.data();
    size_t done = 0;
    while (done < len) {
        int64_t at = pos + static_cast<int64_t>(done);
        struct stat st;
        if (fstat(plan.in_fd, &st) != 0 || at >= st.st_size) break;
        size_t n = min_of(len - done, kChunk - static_cast<size_t>(at) % kPageSize);
        n = min_of(n, static_cast<size_t>(st.st_size - at));
        ssize_t r = pread(plan.in_fd, out, n, at);
        if (r <= 0) {
            if (r < 0 && done == 0) return {-errno, false};
            break;
        }
        n = static_cast<size_t>(r);
        find_holes(plan.in_fd, at, n, st.st_size, hole_page);
        size_t skip = static_cast<size_t>(at) % kPageSize;
        for (size_t i = 0; i < n; ++i)
            out[i] = hole_page[(skip + i) / kPageSize] ? 0 : i >= gap ? out[i - gap] : out[i];
        struct iovec iov = {out, n};
        ssize_t w = write_output(plan, &iov, 1, n, moved_before + done);
        if (w < 0) return {done > 0 ? static_cast<ssize_t>(done) : -errno, false};
        done += static_cast<size_t>(w);
        if (static_cast<size_t>(w) < n) break;
    }
    return {static_cast<ssize_t>(done), false};
}

}  // namespace

EngineResult engine_rw(const Plan& plan, int64_t pos, size_t len, size_t moved_before) {
    BufferLease buf;
    // A file sent into itself with the output `gap` bytes ahead of the input
    // and inside what is still to be read (transfer.cpp): the kernel's copy
    // goes forward through the page cache, so each byte read past the output
    // position is one this call wrote there, and the bytes repeat with period
    // `gap`. One chunk reads at most `gap` bytes, which earlier chunks have
    // written in full, and repeats them to the chunk's length.
    size_t gap = plan.self_gap > 0 && static_cast<uint64_t>(plan.self_gap) < len
                     ? static_cast<size_t>(plan.self_gap)
                     : 0;
    if (gap > 0 && buf.size() >= 16 * kPageSize && platform::splice_reads_holes_as_zero_page(plan.in_fd))
        return self_send_with_holes(plan, pos, len, moved_before, gap, buf);
    size_t done = 0;
    while (done < len) {
        size_t want = min_of(len - done, buf.size());
        size_t ask = gap > 0 ? min_of(want, gap) : want;
        ssize_t r = pread(plan.in_fd, buf.data(), ask, pos + static_cast<int64_t>(done));
        if (r < 0 && errno == ESPIPE && plan.in == InKind::chardev && !plan.has_offset)
            r = read(plan.in_fd, buf.data(), want);  // a tty: a position it does not have
        if (r < 0) {
            int err = errno == EISDIR ? EINVAL : errno;
            return {done > 0 ? static_cast<ssize_t>(done) : -err, false};
        }
        if (r == 0) break;  // end of input
        if (gap > 0 && static_cast<size_t>(r) == ask && ask < want) {
            repeat_period(buf.data(), gap, ask, want);
            r = static_cast<ssize_t>(want);
        }
        // (A short read there: the output is past the end of the file; the
        // write extends it, and the next pread reads the hole and our bytes.)
        struct iovec iov = {buf.data(), static_cast<size_t>(r)};
        ssize_t w = write_output(plan, &iov, 1, static_cast<size_t>(r), moved_before + done);
        if (w < 0) return {done > 0 ? static_cast<ssize_t>(done) : -errno, false};
        done += static_cast<size_t>(w);
        if (w < r) break;  // the output took less: stop, the rest is re-read next call
        // A short read is no end yet: the file may have grown (even through
        // our own writes into it); the next pread says.
    }
    return {static_cast<ssize_t>(done), false};
}

EngineResult engine_socket_to_pipe(const Plan& plan, int64_t, size_t len, size_t) {
    BufferLease buf;
    size_t want = min_of(len, buf.size());
    // Peek first: bytes the pipe does not take must stay in the socket.
    ssize_t r = recv(plan.in_fd, buf.data(), want, MSG_PEEK);  // O_NONBLOCK, if set, applies
    if (r < 0) return {-errno, false};
    if (r == 0) return {0, false};
    ssize_t w = write(plan.out_fd, buf.data(), static_cast<size_t>(r));
    if (w <= 0) return {w < 0 ? -errno : 0, false};
    ssize_t consumed = recv(plan.in_fd, buf.data(), static_cast<size_t>(w), 0);
    (void)consumed;  // the peeked bytes are queued: this neither waits nor comes up short
    return {w, false};
}

}  // namespace sfshim
