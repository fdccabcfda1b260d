// A regular file that cannot be mapped (a FUSE file opened with direct_io
// refuses mmap with ENODEV): sent through read/write, exactly, without
// evicting what the mapping cache holds and without asking mmap again on
// every call. This program replaces mmap for its own process (the library
// is linked in statically, so its calls come here): a mapping of the file
// whose inode is g_refused fails with ENODEV and is counted; every other
// goes to the C library's. Its own executable: the replacement must not
// reach the other fault tests. Not under the sanitizers, which replace mmap
// themselves.
#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include <sfshim/sfshim.h>

#include "cache.h"

namespace {

std::atomic<unsigned long> g_refused{0};  // inode; 0: none
std::atomic<int> g_refusals{0};

bool refuse(int fd) {
    unsigned long ino = g_refused.load();
    if (fd < 0 || ino == 0) return false;
    struct stat st;
    return fstat(fd, &st) == 0 && static_cast<unsigned long>(st.st_ino) == ino;
}

// The C library's function of that name, with that offset type.
template <class Off>
void *forward(const char *name, void *addr, size_t len, int prot, int flags, int fd, Off off) {
    if (refuse(fd)) {
        g_refusals++;
        errno = ENODEV;
        return MAP_FAILED;
    }
    using Fn = void *(*)(void *, size_t, int, int, int, Off);
    auto real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
    return real(addr, len, prot, flags, fd, off);
}

}  // namespace

// By symbol name, not through the header's declaration (which 64-bit
// offsets redirect to mmap64): the library, built with 64-bit offsets,
// calls mmap64 on glibc; both names are caught, each with its offset type.
extern "C" void *sfshim_test_mmap(void *, size_t, int, int, int, long) __asm__("mmap");
extern "C" void *sfshim_test_mmap(void *addr, size_t len, int prot, int flags, int fd, long off) {
    return forward<long>("mmap", addr, len, prot, flags, fd, off);
}
#if defined(__GLIBC__)
extern "C" void *sfshim_test_mmap64(void *, size_t, int, int, int, long long) __asm__("mmap64");
extern "C" void *sfshim_test_mmap64(void *addr, size_t len, int prot, int flags, int fd, long long off) {
    return forward<long long>("mmap64", addr, len, prot, flags, fd, off);
}
#endif

namespace {

struct TempFile {
    std::string path;
    int fd = -1;
    std::string bytes;
    TempFile(size_t size, char seed) {
        char tmpl[] = "/var/tmp/sfshim-unmappable-XXXXXX";
        fd = mkstemp(tmpl);
        path = tmpl;
        for (size_t i = 0; i < size; ++i) bytes.push_back(static_cast<char>(seed + i * 7 + i / 4096));
        REQUIRE(fd >= 0);
        REQUIRE(write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    }
    ~TempFile() {
        close(fd);
        unlink(path.c_str());
    }
    unsigned long ino() const {
        struct stat st;
        fstat(fd, &st);
        return static_cast<unsigned long>(st.st_ino);
    }
};

// Sends the whole file in one call into a socket pair and reads it back.
std::string send_through(sfshim_mode mode, const TempFile &f) {
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int size = 1 << 20;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    int64_t off = 0;
    ssize_t r = sfshim_sendfile_mode(mode, sv[0], f.fd, &off, f.bytes.size());
    close(sv[0]);
    std::string got;
    char buf[65536];
    for (ssize_t n; (n = read(sv[1], buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
    close(sv[1]);
    CHECK(r == static_cast<ssize_t>(f.bytes.size()));
    CHECK(off == static_cast<int64_t>(r));
    return got;
}

}  // namespace

TEST_CASE("a file that cannot be mapped goes through read/write, evicts nothing and is not mapped again",
          "[cache][no-asan][no-tsan]") {
    // One entry: the unmappable file's miss would need the cached file's slot.
    sfshim::cache_set_limits_for_tests(sfshim::CacheLimits{4u << 20, 1, 4u << 20, 60000});
    TempFile kept(48 << 10, 'a'), refused(48 << 10, 'k');
    CHECK(send_through(SFSHIM_MODE_EMULATE, kept) == kept.bytes);
    sfshim_cache_stats before{};
    sfshim_cache_stats_get(&before);
    REQUIRE(before.entries == 1);

    g_refused = refused.ino();
    for (int i = 0; i < 17; ++i) {
        CAPTURE(i);
        CHECK(send_through(SFSHIM_MODE_EMULATE, refused) == refused.bytes);  // the small-call path
        CHECK(send_through(SFSHIM_MODE_MMAP, refused) == refused.bytes);     // the engine's own window
    }
    sfshim_cache_stats after{};
    sfshim_cache_stats_get(&after);
    CHECK(g_refusals.load() == 1);
    CHECK(after.entries == 1);
    CHECK(after.evictions == before.evictions);
    // The kept file is still a hit.
    CHECK(send_through(SFSHIM_MODE_EMULATE, kept) == kept.bytes);
    sfshim_cache_stats last{};
    sfshim_cache_stats_get(&last);
    CHECK(last.hits == after.hits + 1);

    // Changed (grown: its size is part of its identity), the file is asked
    // again, once.
    g_refusals = 0;
    REQUIRE(pwrite(refused.fd, "z", 1, static_cast<off_t>(refused.bytes.size())) == 1);
    refused.bytes.push_back('z');
    CHECK(send_through(SFSHIM_MODE_EMULATE, refused) == refused.bytes);
    CHECK(send_through(SFSHIM_MODE_EMULATE, refused) == refused.bytes);
    CHECK(g_refusals.load() == 1);
    g_refused = 0;
}
