// platform/bsd.cpp's native FreeBSD or macOS branch (by SFSHIM_BSD_MODEL_*),
// compiled on Linux and run against the model of that system's sendfile in
// bsd_sendfile_model.h: Linux's results on top of the native call.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "bsd_sendfile_model.h"
#include "common.h"
#include "platform/platform.h"

#if defined(SFSHIM_BSD_MODEL_FREEBSD)
#define MODEL "bsd native (FreeBSD model): "
#else
#define MODEL "bsd native (macOS model): "
#endif

using namespace sfshim;

namespace {

std::string pattern(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
    return s;
}

struct Fixture {
    std::string content = pattern(2 << 20);
    int fd = -1;
    int sv[2] = {-1, -1};
    Fixture() {
        char path[] = "/tmp/sfshim-bsd-native-XXXXXX";
        fd = mkstemp(path);
        REQUIRE(fd >= 0);
        unlink(path);
        REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        sfshim_bsd_model = SfshimBsdModel{};
    }
    ~Fixture() {
        close(fd);
        if (sv[0] >= 0) close(sv[0]);
        if (sv[1] >= 0) close(sv[1]);
    }
    void big_buffers() {
        int big = 4 << 20;
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
        setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    }
    std::string receive(size_t n) {
        std::string got(n, '\0');
        size_t have = 0;
        while (have < n) {
            ssize_t r = read(sv[1], &got[have], n - have);
            REQUIRE(r > 0);
            have += static_cast<size_t>(r);
        }
        return got;
    }
};

}  // namespace

TEST_CASE(MODEL "a range is sent in one native call, *offset advances, errno is kept", "[bsd-native]") {
    Fixture f;
    f.big_buffers();
    int64_t off = 100;
    errno = 777;
    CHECK(platform::native_sendfile(f.sv[0], f.fd, &off, 50000) == 50000);
    CHECK(errno == 777);
    CHECK(off == 50100);
    CHECK(f.receive(50000) == f.content.substr(100, 50000));
    CHECK(sfshim_bsd_model.calls == 1);
    CHECK(sfshim_bsd_model.last_offset == 100);
    CHECK(sfshim_bsd_model.last_request == 50000);
    CHECK(sfshim_bsd_model.last_hdtr == nullptr);
    CHECK(sfshim_bsd_model.last_flags == 0);
    CHECK(lseek(f.fd, 0, SEEK_CUR) == static_cast<off_t>(f.content.size()));  // untouched
}

TEST_CASE(MODEL "without an offset the file position is used and advanced", "[bsd-native]") {
    Fixture f;
    f.big_buffers();
    REQUIRE(lseek(f.fd, 4000, SEEK_SET) == 4000);
    CHECK(platform::native_sendfile(f.sv[0], f.fd, nullptr, 5000) == 5000);
    CHECK(lseek(f.fd, 0, SEEK_CUR) == 9000);
    CHECK(sfshim_bsd_model.last_offset == 4000);
    CHECK(f.receive(5000) == f.content.substr(4000, 5000));
}

TEST_CASE(MODEL "a range past the end gives a short count, an offset past the end 0", "[bsd-native]") {
    Fixture f;
    f.big_buffers();
    int64_t size = static_cast<int64_t>(f.content.size());
    int64_t off = size - 1000;
    CHECK(platform::native_sendfile(f.sv[0], f.fd, &off, 5000) == 1000);
    CHECK(off == size);
    CHECK(f.receive(1000) == f.content.substr(f.content.size() - 1000));
    off = size + 5;
    CHECK(platform::native_sendfile(f.sv[0], f.fd, &off, 10) == 0);
    CHECK(off == size + 5);
    CHECK(sfshim_bsd_model.last_request == 10);
}

TEST_CASE(MODEL "what the native call would do otherwise than Linux is refused before it, with EINVAL",
          "[bsd-native]") {
    Fixture f;
    // Non-blocking: a call that should not have been made fails the test, not hangs it.
    REQUIRE(fcntl(f.sv[0], F_SETFL, fcntl(f.sv[0], F_GETFL) | O_NONBLOCK) == 0);
    int64_t off = 0;
    // count 0 means "to the end of the file" natively, 0 bytes on Linux
    CHECK(platform::native_sendfile(f.sv[0], f.fd, &off, 0) == -1);
    CHECK(errno == EINVAL);
    CHECK(platform::native_sendfile(f.sv[0], f.fd, &off, kMaxRwCount + 1) == -1);
    CHECK(errno == EINVAL);
    off = 0x7fffffff - 10;  // beyond the smallest file-size limit: the emulation checks it
    CHECK(platform::native_sendfile(f.sv[0], f.fd, &off, 20) == -1);
    CHECK(errno == EINVAL);
    off = 0;
    int p[2];
    REQUIRE(pipe(p) == 0);
    CHECK(platform::native_sendfile(p[1], f.fd, &off, 10) == -1);  // not a socket
    CHECK(errno == EINVAL);
    CHECK(platform::native_sendfile(f.sv[0], p[0], &off, 10) == -1);  // not a regular file
    CHECK(errno == EINVAL);
    close(p[0]);
    close(p[1]);
    int d[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, d) == 0);
    CHECK(platform::native_sendfile(d[0], f.fd, &off, 10) == -1);
    CHECK(errno == EINVAL);
    close(d[0]);
    close(d[1]);
    CHECK(sfshim_bsd_model.calls == 0);
    CHECK(off == 0);
}

TEST_CASE(MODEL "an unmapped offset is EFAULT, without a call", "[bsd-native]") {
    Fixture f;
    void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(page != MAP_FAILED);
    munmap(page, 4096);
    CHECK(platform::native_sendfile(f.sv[0], f.fd, static_cast<int64_t*>(page), 10) == -1);
    CHECK(errno == EFAULT);
    CHECK(sfshim_bsd_model.calls == 0);
}

TEST_CASE(MODEL "a non-blocking socket that fills: the bytes it took, then EAGAIN", "[bsd-native]") {
    Fixture f;
    int small = 16384;
    setsockopt(f.sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    REQUIRE(fcntl(f.sv[0], F_SETFL, fcntl(f.sv[0], F_GETFL) | O_NONBLOCK) == 0);
    int64_t off = 100;
    errno = 777;
    ssize_t n = platform::native_sendfile(f.sv[0], f.fd, &off, 1 << 20);
    REQUIRE(n > 0);
    CHECK(n < (1 << 20));
    CHECK(errno == 777);
    CHECK(off == 100 + n);
    CHECK(platform::native_sendfile(f.sv[0], f.fd, &off, 1 << 20) == -1);  // still full
    CHECK(errno == EAGAIN);
    CHECK(off == 100 + n);
    CHECK(sfshim_bsd_model.calls == 2);
    CHECK(f.receive(static_cast<size_t>(n)) == f.content.substr(100, static_cast<size_t>(n)));
}

TEST_CASE(MODEL "a signal: the bytes sent before it, or EINTR when there were none", "[bsd-native]") {
    Fixture f;
    f.big_buffers();
    sfshim_bsd_model.interrupt_after = 3000;
    int64_t off = 10;
    CHECK(platform::native_sendfile(f.sv[0], f.fd, &off, 100000) == 3000);
    CHECK(off == 3010);
    CHECK(f.receive(3000) == f.content.substr(10, 3000));
    sfshim_bsd_model.interrupt_after = 0;
    CHECK(platform::native_sendfile(f.sv[0], f.fd, &off, 100000) == -1);
    CHECK(errno == EINTR);
    CHECK(off == 3010);
    REQUIRE(lseek(f.fd, 500, SEEK_SET) == 500);
    CHECK(platform::native_sendfile(f.sv[0], f.fd, nullptr, 100000) == -1);
    CHECK(errno == EINTR);
    CHECK(lseek(f.fd, 0, SEEK_CUR) == 500);
}

namespace {
// Runs fn with SIGPIPE blocked; true when it left one pending (taken away).
template <typename Fn>
bool leaves_sigpipe(Fn fn) {
    sigset_t set, old, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    REQUIRE(pthread_sigmask(SIG_BLOCK, &set, &old) == 0);
    fn();
    sigpending(&pending);
    bool raised = sigismember(&pending, SIGPIPE) == 1;
    int sig = 0;
    if (raised) sigwait(&set, &sig);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return raised;
}

// The model called directly: its result, errno, and the bytes it reported.
int model_call(int fd, int s, off_t offset, off_t request, off_t* sent, int* err) {
#if defined(SFSHIM_BSD_MODEL_FREEBSD)
    *sent = -1;
    int r = sfshim_model_sendfile(fd, s, offset, static_cast<size_t>(request), nullptr, sent, 0);
#else
    *sent = request;
    int r = sfshim_model_sendfile(fd, s, offset, sent, nullptr, 0);
#endif
    *err = errno;
    return r;
}
}  // namespace

TEST_CASE(MODEL "a socket that can send no more: EPIPE and SIGPIPE, as Linux's sendfile", "[bsd-native]") {
    Fixture f;
    REQUIRE(shutdown(f.sv[0], SHUT_WR) == 0);
    off_t sent = 0;
    int r = 0, err = 0;
    CHECK_FALSE(leaves_sigpipe([&] { r = model_call(f.fd, f.sv[0], 0, 10, &sent, &err); }));
    CHECK(r == -1);
    CHECK(err == EPIPE);
    CHECK(sent == 0);
    int64_t off = 0;
    ssize_t n = 0;
    CHECK(leaves_sigpipe([&] {
        n = platform::native_sendfile(f.sv[0], f.fd, &off, 10);
        err = errno;
    }));
    CHECK(n == -1);
    CHECK(err == EPIPE);
    CHECK(off == 0);
}

TEST_CASE(MODEL "a peer that has closed: EPIPE and SIGPIPE, or EINVAL where the system says ENOTCONN",
          "[bsd-native]") {
    Fixture f;
    close(f.sv[1]);
    f.sv[1] = -1;
    off_t sent = 0;
    int r = 0, err = 0;
    CHECK_FALSE(leaves_sigpipe([&] { r = model_call(f.fd, f.sv[0], 0, 10, &sent, &err); }));
    CHECK(r == -1);
    CHECK(sent == 0);
    int64_t off = 0;
    ssize_t n = 0;
    int native_err = 0;
    bool raised = leaves_sigpipe([&] {
        n = platform::native_sendfile(f.sv[0], f.fd, &off, 10);
        native_err = errno;
    });
    CHECK(n == -1);
    CHECK(off == 0);
#if defined(SFSHIM_BSD_MODEL_FREEBSD)
    CHECK(err == EPIPE);
    CHECK(native_err == EPIPE);
    CHECK(raised);
#else
    CHECK(err == ENOTCONN);
    CHECK(native_err == EINVAL);  // `auto` emulates: its send says EPIPE
    CHECK_FALSE(raised);
#endif
}

// The model itself, where the library relies on it: the semantics the
// adapter is written against.
TEST_CASE(MODEL "the model: a request of 0 sends to the end, failures report 0 bytes", "[bsd-native]") {
    Fixture f;
    f.big_buffers();
    off_t start = static_cast<off_t>(f.content.size()) - 3000;
    off_t sent = 0;
#if defined(SFSHIM_BSD_MODEL_FREEBSD)
    CHECK(sfshim_model_sendfile(f.fd, f.sv[0], start, 0, nullptr, &sent, 0) == 0);
    CHECK(sent == 3000);
    sent = 12345;
    CHECK(sfshim_model_sendfile(f.fd, f.sv[0], -1, 10, nullptr, &sent, 0) == -1);
    CHECK(errno == EINVAL);
    CHECK(sent == 12345);  // FreeBSD returns before writing *sbytes
    CHECK(sfshim_model_sendfile(f.fd, f.fd, 0, 10, nullptr, &sent, 0) == -1);
    CHECK(errno == ENOTSOCK);
    CHECK(sent == 0);
#else
    CHECK(sfshim_model_sendfile(f.fd, f.sv[0], start, &sent, nullptr, 0) == 0);
    CHECK(sent == 3000);
    sent = 10;
    CHECK(sfshim_model_sendfile(f.fd, f.sv[0], -1, &sent, nullptr, 0) == -1);
    CHECK(errno == EINVAL);
    CHECK(sent == 0);  // macOS writes *len on every return
    sent = 10;
    CHECK(sfshim_model_sendfile(f.fd, f.fd, 0, &sent, nullptr, 0) == -1);
    CHECK(errno == ENOTSOCK);
    CHECK(sent == 0);
#endif
    CHECK(f.receive(3000) == f.content.substr(f.content.size() - 3000));
}
