// Chunked read/write: for input that cannot be mapped, and for small files,
// where a copy through a warm buffer costs less than a mapping.
// SPDX-License-Identifier: BSD-2-Clause
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "engine.h"
#include "output.h"
#include "platform/platform.h"

namespace sfshim {
namespace {

pthread_key_t g_buffer_key;
bool g_buffer_key_ok = false;
pthread_once_t g_buffer_once = PTHREAD_ONCE_INIT;

void free_buffer(void* p) { platform::unmap_anonymous(p, kRwBufferSize); }

void create_key() { g_buffer_key_ok = pthread_key_create(&g_buffer_key, free_buffer) == 0; }


}  // namespace

Buffer thread_buffer() {
    pthread_once(&g_buffer_once, create_key);
    if (!g_buffer_key_ok) return {nullptr, 0};
    void* p = pthread_getspecific(g_buffer_key);
    if (p == nullptr) {
        p = platform::map_anonymous(kRwBufferSize);
        if (p == nullptr) return {nullptr, 0};
        if (pthread_setspecific(g_buffer_key, p) != 0) {
            platform::unmap_anonymous(p, kRwBufferSize);
            return {nullptr, 0};
        }
    }
    return {static_cast<char*>(p), kRwBufferSize};
}

EngineResult engine_rw(const Plan& plan, int64_t pos, size_t len, size_t moved_before) {
    char fallback[4096];
    Buffer buf = thread_buffer();
    if (buf.size == 0) buf = {fallback, sizeof fallback};

    size_t done = 0;
    while (done < len) {
        size_t want = min_of(len - done, buf.size);
        ssize_t r = pread(plan.in_fd, buf.data, want, pos + static_cast<int64_t>(done));
        if (r < 0 && errno == ESPIPE && plan.in == InKind::chardev && !plan.has_offset)
            r = read(plan.in_fd, buf.data, want);  // a tty: a position it does not have
        if (r < 0) {
            int err = errno == EISDIR ? EINVAL : errno;
            return {done > 0 ? static_cast<ssize_t>(done) : -err, false};
        }
        if (r == 0) break;  // end of input
        struct iovec iov = {buf.data, static_cast<size_t>(r)};
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
    char fallback[4096];
    Buffer buf = thread_buffer();
    if (buf.size == 0) buf = {fallback, sizeof fallback};
    size_t want = min_of(len, buf.size);
    // Peek first: bytes the pipe does not take must stay in the socket.
    ssize_t r = recv(plan.in_fd, buf.data, want, MSG_PEEK);  // O_NONBLOCK, if set, applies
    if (r < 0) return {-errno, false};
    if (r == 0) return {0, false};
    ssize_t w = write(plan.out_fd, buf.data, static_cast<size_t>(r));
    if (w <= 0) return {w < 0 ? -errno : 0, false};
    ssize_t consumed = recv(plan.in_fd, buf.data, static_cast<size_t>(w), 0);
    (void)consumed;  // the peeked bytes are queued: this neither waits nor comes up short
    return {w, false};
}

}  // namespace sfshim
