// The BSD and macOS platform layer (shim/src/platform/bsd.cpp) in its
// generic form, compiled and run on Linux: the paths that are plain POSIX
// (no native call, mincore for the offset, pipe room by FIONREAD and an
// estimate, _PC_FILESIZEBITS, MAP_ANON) and the emulation on top of them.
// The native FreeBSD/macOS sendfile branches: bsd_native_test.cpp.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "platform/platform.h"
#include "sfshim/sfshim.h"

using namespace sfshim;

TEST_CASE("bsd platform: no native sendfile on NetBSD/OpenBSD gives ENOSYS", "[bsd]") {
    errno = 0;
    CHECK(platform::native_sendfile(1, 0, nullptr, 10) == -1);
    CHECK(errno == ENOSYS);
    errno = 0;
    CHECK(platform::native_sendfile_off32(1, 0, nullptr, 10) == -1);
    CHECK(errno == ENOSYS);
}

TEST_CASE("bsd platform: offsets in mapped memory are read and written, unmapped ones are EFAULT", "[bsd]") {
    int64_t v = 1234, got = 0;
    CHECK(platform::read_user(&v, &got, 8) == 0);
    CHECK(got == 1234);
    int64_t put = 99;
    CHECK(platform::write_user(&v, &put, 8) == 0);
    CHECK(v == 99);
    void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(page != MAP_FAILED);
    munmap(page, 4096);
    errno = 4321;
    CHECK(platform::read_user(page, &got, 8) == EFAULT);
    CHECK(platform::write_user(page, &put, 8) == EFAULT);
    CHECK(errno == 4321);
}

TEST_CASE("bsd platform: pipe room from FIONREAD and the PIPE_SIZE estimate", "[bsd]") {
    int p[2];
    REQUIRE(pipe(p) == 0);
    size_t cap = 0, queued = 0;
    REQUIRE(platform::pipe_capacity(p[1], &cap, &queued));
    CHECK(queued == 0);
    CHECK(cap == 16384);
    REQUIRE(write(p[1], "hello", 5) == 5);
    REQUIRE(platform::pipe_capacity(p[1], &cap, &queued));
    CHECK(queued == 5);
    close(p[0]);
    close(p[1]);
}

TEST_CASE("bsd platform: the file-size limit from _PC_FILESIZEBITS, never below 2 GiB", "[bsd]") {
    char path[] = "/tmp/sfshim-bsd-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    CHECK_FALSE(platform::offset_beyond_fs_limit(fd, 0x7fffffff, false));
    long bits = fpathconf(fd, _PC_FILESIZEBITS);
    if (bits > 0 && bits < 64)
        CHECK(platform::offset_beyond_fs_limit(fd, (int64_t{1} << (bits - 1)), false));
    else
        CHECK_FALSE(platform::offset_beyond_fs_limit(fd, INT64_MAX, false));
    close(fd);
}

TEST_CASE("bsd platform: flags and anonymous memory", "[bsd]") {
    CHECK_FALSE(platform::input_cannot_splice(0));
    CHECK(platform::chardev_can_splice(0));
    CHECK(platform::msg_dontwait_flag() == MSG_DONTWAIT);
    CHECK_FALSE(platform::kernel_wider_than_process());
    CHECK_FALSE(platform::on_live_stack(&errno, 4, &errno));
    void* p = platform::map_anonymous(1 << 16);
    REQUIRE(p != nullptr);
    CHECK(static_cast<char*>(p)[100] == 0);
    platform::unmap_anonymous(p, 1 << 16);
}

TEST_CASE("bsd platform: raise_sigpipe signals the calling thread", "[bsd]") {
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    platform::raise_sigpipe();
    sigset_t pending;
    sigpending(&pending);
    CHECK(sigismember(&pending, SIGPIPE) == 1);
    int sig = 0;
    sigwait(&set, &sig);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

TEST_CASE("bsd platform: auto mode emulates after ENOSYS, with Linux's accounting", "[bsd]") {
    char path[] = "/tmp/sfshim-bsd-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    std::string content(100000, '\0');
    for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7);
    REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int big = 1 << 20;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    int64_t off = 100;
    errno = 777;
    CHECK(sfshim_sendfile_mode(SFSHIM_MODE_AUTO, sv[0], fd, &off, 50000) == 50000);
    CHECK(errno == 777);
    CHECK(off == 50100);
    std::string got(50000, '\0');
    size_t have = 0;
    while (have < got.size()) {
        ssize_t n = read(sv[1], &got[have], got.size() - have);
        REQUIRE(n > 0);
        have += static_cast<size_t>(n);
    }
    CHECK(got == content.substr(100, 50000));
    int64_t bad = -1;
    CHECK(sfshim_sendfile_mode(SFSHIM_MODE_AUTO, sv[0], fd, &bad, 10) == -1);
    CHECK(errno == EINVAL);
    sfshim_stats st;
    sfshim_stats_get(&st);
    CHECK(st.kernel_enosys == 1);
    CHECK(st.native_calls == 0);
    close(sv[0]);
    close(sv[1]);
    close(fd);
}
