// mmap-writev: one copy, from the page cache straight into the output.
//
// The shim never reads mapped bytes itself. If the file shrinks under the
// mapping, the kernel's copy out of it faults and the write reports EFAULT or
// a short count instead of the host taking SIGBUS; we then look at the file's
// new size and never send a byte past it. The size is also asked before each
// write after the first, as the kernel reads it before each chunk: a file cut
// while earlier writes waited ends exactly at its new end, not at the fault
// past the zeroed tail of its last page. Each write takes at most
// Tuning::mmap_write (64 KiB, one internal pipe's worth, as the kernel's
// splice does: a write that waits on a slow reader then holds no more of the
// file than the kernel's would when a truncation comes), or into a socket
// Tuning::mmap_write_socket (1 MiB: a socket's send buffer takes what fits
// and the count says so; fewer system calls, docs/performance.md).
//
// The mapping is the cache's (a lease, cache.h) when the cache keeps the
// file, else a window of Tuning::mmap_window mapped for this call.
// SPDX-License-Identifier: BSD-2-Clause
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "cache.h"
#include "common.h"
#include "config.h"
#include "engine.h"
#include "output.h"
#include "platform/platform.h"

namespace sfshim {
namespace {

// The file's identity now (its size may have changed), or size -1.
FileId current_id(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) return FileId{0, 0, -1, 0, 0};
    return file_id(st);
}

}  // namespace

EngineResult engine_mmap(const Plan& plan, int64_t pos, size_t len, size_t moved_before) {
    const Tuning& t = config().tuning;
    EngineResult res;
    FileId id = plan.in_id;
    size_t done = 0;
    bool size_fresh = false;  // size was read after the last byte we sent
    MapLease lease;
    size_t piece_max = plan.out == OutKind::socket ? t.mmap_write_socket : t.mmap_write;
    while (done < len) {
        int64_t at = pos + static_cast<int64_t>(done);
        if (at >= id.size) {
            // The end we knew of. The kernel reads the size as it goes: a file
            // that grew (even by our own writes into it) has more.
            if (size_fresh) break;
            id = current_id(plan.in_fd);
            size_fresh = true;
            continue;
        }
        size_t n = min_of(len - done, static_cast<size_t>(id.size - at));
        // From the cache, or a window mapped for this call alone.
        const char* src = nullptr;
        void* map = nullptr;
        size_t map_len = 0;
        if (lease.acquire(plan.in_fd, id, at)) {
            n = min_of(n, static_cast<size_t>(lease.end() - at));
            src = lease.at(at);
        } else {
            int64_t base = at & ~static_cast<int64_t>(kPageSize - 1);
            size_t skip = static_cast<size_t>(at - base);
            n = min_of(n, t.mmap_window - skip);
            map_len = skip + n;
            bool known = cache_known_unmappable(id);
            // A file sent into itself is prefaulted whatever the setting:
            // writes into the file from a mapping of it whose pages fault in
            // during the copy (tmpfs) end with other bytes than the
            // kernel's, found by the fuzz runner (tests/fuzz).
            bool prefault = t.mmap_populate || plan.same_file;
            map = known ? nullptr : map_file(plan.in_fd, base, map_len, prefault);
            if (map == nullptr) {
                if (!known) cache_note_unmappable(id, errno);
                res.cannot_map = true;
                break;
            }
            src = static_cast<const char*>(map) + skip;
        }
        // The piece, a pipe's worth at a time.
        size_t sent = 0;
        ssize_t w = 0;
        bool ends_here = false;  // the file now ends at or before this piece's start
        // (size_fresh here: the size was just read, so the first piece needs no look.)
        while (sent < n) {
            size_t piece = min_of(n - sent, piece_max);
            if (done + sent > 0 && !(sent == 0 && size_fresh)) {
                // The kernel reads the size before each chunk: a file cut
                // since our last look ends at its new end. (A mapping's page
                // at the new end reads as zeros past it, without a fault.)
                int64_t here = at + static_cast<int64_t>(sent);
                FileId now = current_id(plan.in_fd);
                if (now.size >= 0 && now.size < here + static_cast<int64_t>(piece)) {
                    id = now;
                    if (now.size <= here) {
                        ends_here = true;
                        break;
                    }
                    piece = static_cast<size_t>(now.size - here);
                    n = sent + piece;
                }
            }
            struct iovec iov = {const_cast<char*>(src) + sent, piece};
            w = write_output(plan, &iov, 1, piece, moved_before + done + sent);
            if (w <= 0) break;
            sent += static_cast<size_t>(w);
            if (static_cast<size_t>(w) < piece) break;
        }
        int err = errno;
        if (map != nullptr) munmap(map, map_len);
        lease.release();
        done += sent;
        size_fresh = ends_here;
        if (sent == n || ends_here) continue;
        // Short: the output is full, a signal came, or the file shrank and the
        // copy faulted. Only the last goes on, from the new end's view.
        FileId now = current_id(plan.in_fd);
        if (now.size >= 0 && now.size < at + static_cast<int64_t>(n)) {
            id = now;
            size_fresh = true;
            if (w >= 0 || err == EFAULT) continue;
        }
        if (w < 0 && done == 0) res.moved = -err;
        return done == 0 ? res : EngineResult{static_cast<ssize_t>(done), false};
    }
    res.moved = static_cast<ssize_t>(done);
    return res;
}

}  // namespace sfshim
