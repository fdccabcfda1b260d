// Window and chunk arithmetic, engine choice, the policy's error list.
#include <catch2/catch.hpp>

#include "cache.h"
#include "common.h"
#include "config.h"
#include "engine.h"
#include "policy.h"
#include "stats.h"
#include "transfer.h"

#include <string>

using namespace sfshim;

TEST_CASE("a pipe fill from page-cache input stops at a page boundary", "[math]") {
    // 16 free buffers, reading from offset 100: the first buffer holds 3996 bytes.
    CHECK(pipe_fill_limit(16, 100, true) == 16 * 4096 - 100);
    CHECK(pipe_fill_limit(16, 8192, true) == 16 * 4096);
    CHECK(pipe_fill_limit(1, 4095, true) == 1);
    // Devices and sockets fill whole pages.
    CHECK(pipe_fill_limit(16, 100, false) == 16 * 4096);
}

TEST_CASE("datagrams are cut where the kernel's internal pipe is full", "[math]") {
    CHECK(datagram_chunk(100, 100000) == 65436);
    CHECK(datagram_chunk(65536, 100000) == 65536);
    CHECK(datagram_chunk(0, 10) == 10);
    CHECK(datagram_chunk(4095, 1 << 20) == 65536 - 4095);
}

TEST_CASE("the engine follows the mode and what the input is", "[math]") {
    Plan p;
    p.out = OutKind::regular;
    p.in = InKind::regular;
    p.in_size = 10 << 20;
    p.count = 1 << 20;
    CHECK(choose_engine(p, SFSHIM_MODE_EMULATE, false) == EngineUsed::mmap);
    CHECK(choose_engine(p, SFSHIM_MODE_RW, false) == EngineUsed::rw);
    CHECK(choose_engine(p, SFSHIM_MODE_MMAP, false) == EngineUsed::mmap);
    p.count = config().tuning.mmap_min_file - 1;  // small: read/write unless the mode says mmap
    CHECK(choose_engine(p, SFSHIM_MODE_EMULATE, false) == EngineUsed::rw);
    CHECK(choose_engine(p, SFSHIM_MODE_MMAP, false) == EngineUsed::mmap);
    p.count = config().tuning.mmap_min_socket - 1;
    p.out = OutKind::socket;  // sockets and pipes: read/write unless the mode says mmap
    CHECK(choose_engine(p, SFSHIM_MODE_EMULATE, false) == EngineUsed::rw);
    CHECK(choose_engine(p, SFSHIM_MODE_MMAP, false) == EngineUsed::mmap);
    p.count = config().tuning.mmap_min_socket;  // TCP: mmap-writev from there on
    CHECK(choose_engine(p, SFSHIM_MODE_EMULATE, false) == EngineUsed::mmap);
    p.count = config().tuning.mmap_min_unix;  // a Unix stream socket: mmap-writev from there on
    CHECK(choose_engine(p, SFSHIM_MODE_EMULATE, true) == EngineUsed::mmap);
    CHECK(choose_engine(p, SFSHIM_MODE_AUTO, true) == EngineUsed::mmap);
    CHECK(choose_engine(p, SFSHIM_MODE_RW, true) == EngineUsed::rw);
    p.count = config().tuning.mmap_min_unix - 1;
    CHECK(choose_engine(p, SFSHIM_MODE_EMULATE, true) == EngineUsed::rw);
    p.count = 1 << 20;
    p.out = OutKind::pipe;
    CHECK(choose_engine(p, SFSHIM_MODE_EMULATE, false) == EngineUsed::rw);
    p.out = OutKind::regular;
    p.in_size = 0;  // /proc and sysfs files: size 0, content anyway
    CHECK(choose_engine(p, SFSHIM_MODE_MMAP, false) == EngineUsed::rw);
    p.in = InKind::block;
    p.in_size = 1 << 20;
    CHECK(choose_engine(p, SFSHIM_MODE_MMAP, false) == EngineUsed::rw);
}

TEST_CASE("a file the mapping cache keeps goes from its mapping into every output", "[math]") {
    REQUIRE(cache_limits().bytes > 0);  // on by default
    Plan p;
    p.in = InKind::regular;
    p.in_size = 10 << 20;
    p.count = 4096;
    p.in_id.nlink = 1;
    p.in_id.size = p.in_size;
    for (OutKind out : {OutKind::regular, OutKind::socket, OutKind::pipe, OutKind::device}) {
        p.out = out;
        CHECK(choose_engine(p, SFSHIM_MODE_EMULATE, false) == EngineUsed::mmap);
        CHECK(choose_engine(p, SFSHIM_MODE_AUTO, true) == EngineUsed::mmap);
        CHECK(choose_engine(p, SFSHIM_MODE_RW, false) == EngineUsed::rw);  // the mode says read/write
    }
    p.in_id.nlink = 0;  // unlinked: never kept, so the old choice (small: read/write)
    p.out = OutKind::socket;
    CHECK(choose_engine(p, SFSHIM_MODE_EMULATE, false) == EngineUsed::rw);
    p.out = OutKind::pipe;
    CHECK(choose_engine(p, SFSHIM_MODE_EMULATE, false) == EngineUsed::rw);
    p.in_id.nlink = 1;
    p.in_id.size = static_cast<int64_t>(cache_limits().bytes / 2) + 1;  // larger than half the cap: not kept
    p.in_size = p.in_id.size;
    CHECK(choose_engine(p, SFSHIM_MODE_EMULATE, false) == EngineUsed::rw);
    p.out = OutKind::regular;
    p.count = config().tuning.mmap_min_file;  // the old choice: file->file by mapping from 1 MiB
    CHECK(choose_engine(p, SFSHIM_MODE_EMULATE, false) == EngineUsed::mmap);
    p.in_id.size = 0;
    p.in_size = 0;  // nothing to map
    CHECK(choose_engine(p, SFSHIM_MODE_EMULATE, false) == EngineUsed::rw);
}

TEST_CASE("auto mode emulates only after a refusal that moved no byte", "[policy]") {
    for (int e : {ENOSYS, EINVAL, ENOTSOCK, EOPNOTSUPP, ENOTSUP, EPERM}) CHECK(kernel_refused(e));
    for (int e : {EBADF, EAGAIN, EFAULT, EPIPE, EIO, ESPIPE, EOVERFLOW, EINTR}) CHECK_FALSE(kernel_refused(e));
}

TEST_CASE("the mmap window and the read/write buffer are page multiples", "[math]") {
    CHECK(config().tuning.mmap_window % kPageSize == 0);
    CHECK(config().tuning.rw_buffer % kPageSize == 0);
    CHECK(kMaxRwCount == 0x7ffff000u);
}

TEST_CASE("the stats report names every counter", "[stats]") {
    sfshim_stats s{};
    s.calls = 3;
    s.bytes = 12345;
    s.mmap_calls = 2;
    s.kernel_enosys = 1;
    char buf[2048];
    size_t n = format_stats_json(s, 42, "auto", buf, sizeof buf);
    std::string json(buf, n);
    CHECK(json.find("\"pid\":42") != std::string::npos);
    CHECK(json.find("\"calls\":3") != std::string::npos);
    CHECK(json.find("\"bytes\":12345") != std::string::npos);
    CHECK(json.find("\"kernel_enosys\":true") != std::string::npos);
    n = format_stats_text(s, 42, buf, sizeof buf);
    std::string text(buf, n);
    CHECK(text.find("3 sendfile calls, 12.1 KiB") != std::string::npos);
    CHECK(text.find("mmap-writev 2 (0 B)") != std::string::npos);
    CHECK(text.find("answered ENOSYS") != std::string::npos);
    // A buffer too small is cut, never overrun.
    char small[16];
    CHECK(format_stats_json(s, 42, "auto", small, sizeof small) == sizeof small - 1);
    // With the mapping cache's figures: a line, and keys inside the one object.
    sfshim_cache_stats c{};
    c.hits = 7;
    c.misses = 2;
    c.evictions = 1;
    c.mapped_bytes = 8192;
    c.cap_bytes = 1 << 20;
    n = format_stats_json(s, 42, "auto", buf, sizeof buf, &c);
    json.assign(buf, n);
    CHECK(json.find("\"kernel_enosys\":true,\"cache_hits\":7,\"cache_misses\":2") != std::string::npos);
    CHECK(json.find("\"cache_cap_bytes\":1048576}\n") != std::string::npos);
    CHECK(json.back() == '\n');
    n = format_stats_text(s, 42, buf, sizeof buf, &c);
    text.assign(buf, n);
    CHECK(text.find("cache            7 hits   misses 2, bypasses 0, evictions 1; 0 entries, 8.0 KiB mapped") !=
          std::string::npos);
    for (size_t size = 1; size < 400; ++size) {  // cut anywhere: never past the buffer, always terminated
        std::string cut(size + 8, 'x');
        size_t m = format_stats_json(s, 42, "auto", &cut[0], size, &c);
        CHECK(m < size);
        CHECK(cut[m] == '\0');
        CHECK(cut[size] == 'x');
    }
}
