// mmap-writev: one copy, from the page cache straight into the output.
//
// The shim never reads mapped bytes itself. If the file shrinks under the
// mapping, the kernel's copy out of it faults and writev reports EFAULT or a
// short count instead of the host taking SIGBUS; we then look at the file's
// new size and never send a byte past it.
// SPDX-License-Identifier: BSD-2-Clause
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "common.h"
#include "engine.h"
#include "platform/platform.h"

namespace sfshim {

EngineResult engine_mmap(const Plan& plan, int64_t pos, size_t len) {
    EngineResult res;
    int64_t size = plan.in_size;
    size_t done = 0;
    while (done < len) {
        int64_t at = pos + static_cast<int64_t>(done);
        if (at >= size) break;  // end of input
        int64_t base = at & ~static_cast<int64_t>(kPageSize - 1);
        size_t skip = static_cast<size_t>(at - base);
        size_t n = min_of(len - done, static_cast<size_t>(size - at));
        n = min_of(n, kMmapWindow - skip);
        size_t map_len = skip + n;
        void* map = mmap(nullptr, map_len, PROT_READ, MAP_SHARED | platform::map_prefault_flag(),
                         plan.in_fd, static_cast<off_t>(base));
        if (map == MAP_FAILED) {
            res.cannot_map = true;
            break;
        }
        struct iovec iov = {static_cast<char*>(map) + skip, n};
        ssize_t w = writev(plan.out_fd, &iov, 1);
        int err = errno;
        munmap(map, map_len);
        if (w < 0) {
            if (err == EFAULT) {
                // Truncated under us: clamp to the new end and go on from there.
                struct stat st;
                if (fstat(plan.in_fd, &st) == 0 && st.st_size < at + static_cast<int64_t>(n)) {
                    size = st.st_size;
                    continue;
                }
            }
            if (done == 0) res.moved = -err;
            return done == 0 ? res : EngineResult{static_cast<ssize_t>(done), false};
        }
        done += static_cast<size_t>(w);
        if (static_cast<size_t>(w) < n) break;  // output full, a signal, or a fault mid-window
    }
    res.moved = static_cast<ssize_t>(done);
    return res;
}

}  // namespace sfshim
