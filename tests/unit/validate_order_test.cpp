// The order of the checks: when several are wrong at once, the one the kernel
// checks first decides the errno. Real descriptors, the validation alone.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "platform/platform.h"
#include "validate.h"

using namespace sfshim;

namespace {

struct Fds {
    int file_r = -1, file_w = -1, append = -1, pipe_r = -1, pipe_w = -1, dir = -1;
    char path[64] = "/tmp/sfshim-order-XXXXXX";
    Fds() {
        file_w = mkstemp(path);
        REQUIRE(file_w >= 0);
        REQUIRE(write(file_w, "hello world", 11) == 11);
        file_r = open(path, O_RDONLY);
        append = open(path, O_WRONLY | O_APPEND);
        int p[2];
        REQUIRE(pipe(p) == 0);
        pipe_r = p[0];
        pipe_w = p[1];
        dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    }
    ~Fds() {
        for (int fd : {file_r, file_w, append, pipe_r, pipe_w, dir}) close(fd);
        unlink(path);
    }
};

int check(int out, int in, bool has_offset, int64_t offset, size_t count) {
    Plan p;
    return validate(Call{out, in, has_offset, offset, count}, &p);
}

constexpr size_t kNegative = static_cast<size_t>(-1);

}  // namespace

TEST_CASE("a bad input beats every other error", "[order]") {
    Fds f;
    CHECK(check(-1, -1, true, -5, kNegative) == EBADF);
    CHECK(check(f.file_r, f.file_w, true, 0, 1) == EBADF);  // input not open for reading
}

TEST_CASE("an offset on a pipe input is ESPIPE before count and output checks", "[order]") {
    Fds f;
    CHECK(check(-1, f.pipe_r, true, -1, kNegative) == ESPIPE);
}

TEST_CASE("a negative count or offset is EINVAL before the output is looked at", "[order]") {
    Fds f;
    // An i386 process on a 64-bit kernel: 0xffffffff is no negative count
    // there (the syscall entry zero-extends it), so the output decides.
    CHECK(check(-1, f.file_r, true, 0, kNegative) ==
          (platform::kernel_wider_than_process() ? EBADF : EINVAL));
    CHECK(check(-1, f.file_r, true, -1, 1) == EINVAL);
    CHECK(check(-1, f.file_r, true, INT64_MAX - 5, 10) == EINVAL);  // offset + count overflows
}

TEST_CASE("a count past MAX_RW_COUNT is clamped, not refused", "[order]") {
    Fds f;
    Plan p;
    REQUIRE(validate(Call{f.file_w, f.file_r, true, 0, static_cast<size_t>(SSIZE_MAX)}, &p) == 0);
    CHECK(p.count == 0x7ffff000u);
}

TEST_CASE("a bad output comes before the file-size limit and O_APPEND", "[order]") {
    Fds f;
    CHECK(check(-1, f.file_r, true, 0, 1) == EBADF);
    CHECK(check(f.file_r, f.file_r, true, 0, 1) == EBADF);  // output not open for writing
    CHECK(check(-1, f.dir, false, 0, 1) == EBADF);
}

TEST_CASE("O_APPEND output and unseekable input are EINVAL, but not into a pipe", "[order]") {
    Fds f;
    CHECK(check(f.append, f.file_r, true, 0, 0) == EINVAL);
    CHECK(check(f.file_w, f.pipe_r, false, 0, 1) == EINVAL);
    CHECK(check(f.pipe_w, f.pipe_r, false, 0, 1) == 0);  // the pipe path decides later
}

TEST_CASE("the file-size limit is EOVERFLOW once the offset reaches it", "[order]") {
    Fds f;
    // ext4 and tmpfs both stop short of INT64_MAX - 1.
    CHECK(check(f.file_w, f.file_r, true, INT64_MAX - 1, 0) == EOVERFLOW);
    CHECK(check(f.file_w, f.file_r, true, 1 << 20, 1) == 0);
}

TEST_CASE("validation leaves the facts the engines need", "[order]") {
    Fds f;
    Plan p;
    REQUIRE(lseek(f.file_r, 3, SEEK_SET) == 3);
    REQUIRE(validate(Call{f.pipe_w, f.file_r, false, 0, 100}, &p) == 0);
    CHECK(p.pos == 3);
    CHECK(p.in == InKind::regular);
    CHECK(p.out == OutKind::pipe);
    CHECK(p.in_size == 11);
    CHECK_FALSE(p.has_offset);
}
