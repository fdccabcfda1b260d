// The files the shim writes by path: what is opened, how a line is
// appended (the log file), and how the live stats file is made and shared.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "log.h"
#include "platform/platform.h"
#include "stats.h"
#include "stats_format.h"

using namespace sfshim;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/sfshim-stats-XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::string cmd = "rm -rf '" + path + "'";
        if (system(cmd.c_str()) != 0) WARN("could not remove " << path);
    }
    std::string at(const char* name) const { return path + "/" + name; }
};

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Runs `child(i)` in n forked processes at once (each exits with what it
// returns) and waits for them all: how many failed.
template <class F>
int in_children(int n, F child) {
    for (int i = 0; i < n; ++i) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) _exit(child(i));
    }
    int failed = 0;
    for (int i = 0; i < n; ++i) {
        int st = 0;
        wait(&st);
        failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    return failed;
}

}  // namespace

TEST_CASE("a log file is created and appended to", "[stats]") {
    TempDir d;
    std::string p = d.at("s.json");
    CHECK(append_line_to_file(p.c_str(), "one\n", 4) == 0);
    CHECK(append_line_to_file(p.c_str(), "two\n", 4) == 0);
    CHECK(slurp(p) == "one\ntwo\n");
}

TEST_CASE("a symbolic link at a log file's path is not followed", "[stats]") {
    TempDir d;
    std::string target = d.at("target"), link = d.at("link.json");
    { std::ofstream(target) << "keep\n"; }
    REQUIRE(symlink(target.c_str(), link.c_str()) == 0);
    CHECK(open_line_file(link.c_str()) == -ELOOP);
    CHECK(append_line_to_file(link.c_str(), "x\n", 2) == ELOOP);
    CHECK(slurp(target) == "keep\n");

    std::string dangling = d.at("dangling.json"), planted = d.at("planted");
    REQUIRE(symlink(planted.c_str(), dangling.c_str()) == 0);
    CHECK(append_line_to_file(dangling.c_str(), "x\n", 2) == ELOOP);
    CHECK(access(planted.c_str(), F_OK) != 0);
}

TEST_CASE("a FIFO at a log file's path neither blocks nor is written", "[stats]") {
    TempDir d;
    std::string fifo = d.at("fifo.json");
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    // No reader: a blocking open would wait for one forever.
    CHECK(open_line_file(fifo.c_str()) == -ENXIO);
    // A reader: the open succeeds, the file type refuses it.
    int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    REQUIRE(reader >= 0);
    CHECK(append_line_to_file(fifo.c_str(), "x\n", 2) == EINVAL);
    char c;
    CHECK(read(reader, &c, 1) <= 0);
    close(reader);
}

TEST_CASE("a directory or a device at a log file's path is refused", "[stats]") {
    TempDir d;
    CHECK(open_line_file(d.path.c_str()) == -EISDIR);
    CHECK(open_line_file("/dev/null") == -EINVAL);
}

TEST_CASE("processes appending to one log file never interleave their lines", "[stats]") {
    TempDir d;
    std::string p = d.at("shared.json");
    constexpr int kProcs = 16, kLines = 200;
    int failed = in_children(kProcs, [&](int i) {
        // Lines as long as a report, each its own letter.
        std::string line(1500, static_cast<char>('a' + i));
        line.back() = '\n';
        for (int k = 0; k < kLines; ++k)
            if (append_line_to_file(p.c_str(), line.data(), line.size()) != 0) return 1;
        return 0;
    });
    CHECK(failed == 0);
    std::istringstream in(slurp(p));
    std::string line;
    int lines = 0, whole = 0;
    while (std::getline(in, line)) {
        ++lines;
        whole += line.size() == 1499 && line.find_first_not_of(line[0]) == std::string::npos;
    }
    CHECK(lines == kProcs * kLines);
    CHECK(whole == lines);
}

TEST_CASE("a process started by its own user has no elevated rights", "[stats]") {
    // The test runs unprivileged or as root, never set-user-ID: AT_SECURE is 0
    // (tests/security/setuid_test.sh checks the other side).
    CHECK_FALSE(platform::elevated_rights());
}

namespace {

off_t size_of(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

}  // namespace

TEST_CASE("the live stats file is made whole, and found again", "[stats]") {
    TempDir d;
    std::string p = d.at("live.stats");
    int err = 0;
    sfshim_stats_header* h = map_live_stats_file(p.c_str(), &err);
    REQUIRE(h != nullptr);
    CHECK(h->magic == SFSHIM_STATS_MAGIC);
    CHECK(h->slots == SFSHIM_STATS_SLOTS);
    CHECK(size_of(p) == static_cast<off_t>(SFSHIM_STATS_FILE_SIZE));
    // Allocated, not sparse: a full disk is found now, not as SIGBUS later.
    struct stat st;
    REQUIRE(stat(p.c_str(), &st) == 0);
    CHECK(static_cast<uint64_t>(st.st_blocks) * 512 >= SFSHIM_STATS_FILE_SIZE);
    h->claimed = 7;
    sfshim_stats_header* again = map_live_stats_file(p.c_str(), &err);
    REQUIRE(again != nullptr);
    CHECK(again->claimed == 7);  // the same file, not made anew
    munmap(h, SFSHIM_STATS_FILE_SIZE);
    munmap(again, SFSHIM_STATS_FILE_SIZE);
}

TEST_CASE("a file that is not a live stats file is left as it is", "[stats]") {
    TempDir d;
    int err = 0;
    SECTION("an old report of JSON lines") {
        std::string p = d.at("old.json");
        std::ofstream(p) << "{\"pid\":1,\"calls\":3}\n";
        CHECK(map_live_stats_file(p.c_str(), &err) == nullptr);
        CHECK(err == EEXIST);
        CHECK(slurp(p) == "{\"pid\":1,\"calls\":3}\n");
    }
    SECTION("a larger file") {
        std::string p = d.at("big");
        std::ofstream(p) << std::string(SFSHIM_STATS_FILE_SIZE + 1, '\0');
        CHECK(map_live_stats_file(p.c_str(), &err) == nullptr);
        CHECK(err == EEXIST);
        CHECK(size_of(p) == static_cast<off_t>(SFSHIM_STATS_FILE_SIZE) + 1);
    }
    SECTION("a symbolic link, a directory, a FIFO") {
        std::string target = d.at("target"), link = d.at("link");
        std::ofstream(target) << "precious";
        REQUIRE(symlink(target.c_str(), link.c_str()) == 0);
        CHECK(map_live_stats_file(link.c_str(), &err) == nullptr);
        CHECK(err == ELOOP);
        CHECK(slurp(target) == "precious");
        CHECK(map_live_stats_file(d.path.c_str(), &err) == nullptr);
        CHECK(err == EISDIR);
        std::string fifo = d.at("fifo");
        REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
        CHECK(map_live_stats_file(fifo.c_str(), &err) == nullptr);
        CHECK(err == EINVAL);
    }
}

TEST_CASE("processes that find the live stats file new at once share one", "[stats]") {
    TempDir d;
    std::string p = d.at("race.stats");
    constexpr int kProcs = 16;
    int failed = in_children(kProcs, [&](int) {
        int err = 0;
        sfshim_stats_header* h = map_live_stats_file(p.c_str(), &err);
        if (h == nullptr || h->magic != SFSHIM_STATS_MAGIC) return 1;
        __atomic_fetch_add(&h->claimed, 1, __ATOMIC_RELAXED);
        return 0;
    });
    CHECK(failed == 0);
    int err = 0;
    sfshim_stats_header* h = map_live_stats_file(p.c_str(), &err);
    REQUIRE(h != nullptr);
    CHECK(h->claimed == kProcs);  // no process made the file over another's
    munmap(h, SFSHIM_STATS_FILE_SIZE);
}

TEST_CASE("a slot's words are read as the counters they are", "[stats]") {
    // stats_format.h names the slot's words by hand; the Counter list is the
    // order they are written in.
    sfshim_stats_slot slot{};
    for (int i = 0; i < SFSHIM_COUNTER_COUNT; ++i) slot.counters[i] = 1000 + static_cast<uint64_t>(i);
    slot.kernel_enosys = 1;
    slot.cache_entries = 5;
    slot.cache_cap_bytes = 9;
    sfshim_stats s;
    sfshim_cache_stats c;
    sfshim_slot_read(&slot, &s, &c);
    auto w = [](Counter k) { return 1000 + static_cast<uint64_t>(k); };
    CHECK(s.calls == w(Counter::calls));
    CHECK(s.native_calls == w(Counter::native_calls));
    CHECK(s.emulated_calls == w(Counter::emulated_calls));
    CHECK(s.mmap_calls == w(Counter::mmap_calls));
    CHECK(s.rw_calls == w(Counter::rw_calls));
    CHECK(s.bytes == w(Counter::bytes));
    CHECK(s.native_bytes == w(Counter::native_bytes));
    CHECK(s.mmap_bytes == w(Counter::mmap_bytes));
    CHECK(s.rw_bytes == w(Counter::rw_bytes));
    CHECK(s.fallbacks == w(Counter::fallbacks));
    CHECK(s.mmap_fallbacks == w(Counter::mmap_fallbacks));
    CHECK(s.errors == w(Counter::errors));
    CHECK(s.retries == w(Counter::retries));
    CHECK(c.hits == w(Counter::cache_hits));
    CHECK(c.misses == w(Counter::cache_misses));
    CHECK(c.bypasses == w(Counter::cache_bypasses));
    CHECK(c.evictions == w(Counter::cache_evictions));
    CHECK(s.kernel_enosys == 1);
    CHECK(c.entries == 5);
    CHECK(c.cap_bytes == 9);
}
