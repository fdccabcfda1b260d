// Configuration parsing: every variable, good and bad values.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cache.h"
#include "config.h"
#include "stats_file.h"

using namespace sfshim;

TEST_CASE("every mode name parses, in any case", "[config]") {
    sfshim_mode m = SFSHIM_MODE_AUTO;
    CHECK((parse_mode("auto", &m) && m == SFSHIM_MODE_AUTO));
    CHECK((parse_mode("emulate", &m) && m == SFSHIM_MODE_EMULATE));
    CHECK((parse_mode("MMAP", &m) && m == SFSHIM_MODE_MMAP));
    CHECK((parse_mode("rw", &m) && m == SFSHIM_MODE_RW));
    CHECK((parse_mode("Native", &m) && m == SFSHIM_MODE_NATIVE));
    CHECK(std::string(mode_name(SFSHIM_MODE_RW)) == "rw");
}

TEST_CASE("an unknown mode is refused and leaves the value alone", "[config]") {
    sfshim_mode m = SFSHIM_MODE_RW;
    CHECK_FALSE(parse_mode("fast", &m));
    CHECK_FALSE(parse_mode("", &m));
    CHECK_FALSE(parse_mode(nullptr, &m));
    CHECK_FALSE(parse_mode("auto ", &m));
    CHECK(m == SFSHIM_MODE_RW);
}

TEST_CASE("log levels parse by name and by number", "[config]") {
    LogLevel l = LogLevel::off;
    CHECK((parse_log_level("debug", &l) && l == LogLevel::debug));
    CHECK((parse_log_level("warning", &l) && l == LogLevel::warn));
    CHECK((parse_log_level("1", &l) && l == LogLevel::info));
    CHECK((parse_log_level("off", &l) && l == LogLevel::off));
    CHECK_FALSE(parse_log_level("verbose", &l));
}

namespace {
std::vector<std::string> g_lines;
void collect(const char* line) { g_lines.emplace_back(line); }
}  // namespace

TEST_CASE("stats go to stderr, to a file, or nowhere", "[config]") {
    Config c;
    CHECK((parse_stats("stderr", &c) && c.stats == StatsTarget::text && c.stats_sink == Sink::stderr_checked));
    CHECK((parse_stats("fd2", &c) && c.stats == StatsTarget::text && c.stats_sink == Sink::fd2));
    CHECK((parse_stats("/tmp/s.%p.json", &c) && c.stats == StatsTarget::live_file));
    CHECK(std::string(c.stats_path) == "/tmp/s.%p.json");
    CHECK((parse_stats("", &c) && c.stats == StatsTarget::none));
    CHECK((parse_stats("off", &c) && c.stats == StatsTarget::none));
    std::string longpath(600, 'x');
    CHECK_FALSE(parse_stats(longpath.c_str(), &c));
}

TEST_CASE("the log goes to a checked stderr, to descriptor 2 as the user asks, or to a file", "[config]") {
    Config c;
    REQUIRE(parse_log("debug", &c));
    CHECK(c.log_level == LogLevel::debug);
    CHECK(c.log_sink == Sink::stderr_checked);
    REQUIRE(parse_log("info:fd2", &c));
    CHECK(c.log_level == LogLevel::info);
    CHECK(c.log_sink == Sink::fd2);
    REQUIRE(parse_log("WARN:stderr", &c));
    CHECK(c.log_level == LogLevel::warn);
    CHECK(c.log_sink == Sink::stderr_checked);
    REQUIRE(parse_log("error:/var/log/sfshim/%p.log", &c));
    CHECK(c.log_level == LogLevel::error);
    CHECK(c.log_sink == Sink::file);
    CHECK(std::string(c.log_path) == "/var/log/sfshim/%p.log");
    Config before;
    std::string too_long = std::string("info:/") + std::string(600, 'x');
    for (const char* bad : {"loud", "loud:/tmp/x", "debug:", too_long.c_str()}) {
        Config d;
        CAPTURE(bad);
        CHECK_FALSE(parse_log(bad, &d));
        CHECK(d.log_level == before.log_level);
        CHECK(d.log_sink == before.log_sink);
    }
    g_lines.clear();
    Config e = config_from_env(nullptr, "debug:", nullptr, nullptr, collect);
    CHECK(e.log_level == LogLevel::off);
    REQUIRE(g_lines.size() == 1);
    CHECK(g_lines[0].find("SFSHIM_LOG='debug:'") != std::string::npos);
}

TEST_CASE("%p in the stats path becomes the pid, %% a percent sign", "[config]") {
    char out[64];
    REQUIRE(expand_stats_path("/tmp/sf.%p.json", 4242, out, sizeof out));
    CHECK(std::string(out) == "/tmp/sf.4242.json");
    REQUIRE(expand_stats_path("a%%p%p", 7, out, sizeof out));
    CHECK(std::string(out) == "a%p7");
    CHECK_FALSE(expand_stats_path("/a/very/long/path/%p", 123456789, out, 16));
}

TEST_CASE("bad environment values give one line each and the defaults", "[config]") {
    g_lines.clear();
    Config c = config_from_env("turbo", "loud", nullptr, nullptr, collect);
    CHECK(c.mode == SFSHIM_MODE_AUTO);
    CHECK(c.log_level == LogLevel::off);
    CHECK(c.stats == StatsTarget::none);
    REQUIRE(g_lines.size() == 2);
    CHECK(g_lines[0].find("SFSHIM_MODE='turbo'") != std::string::npos);
    CHECK(g_lines[1].find("SFSHIM_LOG='loud'") != std::string::npos);
}

TEST_CASE("good environment values are taken without a word", "[config]") {
    g_lines.clear();
    Config c = config_from_env("rw", "debug", "stderr", "", collect);
    CHECK(c.mode == SFSHIM_MODE_RW);
    CHECK(c.log_level == LogLevel::debug);
    CHECK(c.stats == StatsTarget::text);
    CHECK(g_lines.empty());
    c = config_from_env(nullptr, "", nullptr, nullptr, collect);
    CHECK(c.mode == SFSHIM_MODE_AUTO);
    CHECK(g_lines.empty());
}

TEST_CASE("SFSHIM_TUNE sets the engines' sizes and switches, with size suffixes", "[config]") {
    g_lines.clear();
    Config c = config_from_env(nullptr, nullptr, nullptr,
                               "rw_buffer=64K,mmap_window=2M,mmap_write=256k,mmap_populate=1,"
                               "mmap_advice=sequential,mmap_min_file=off,mmap_min_socket=1M,mmap_min_unix=64M",
                               collect);
    CHECK(g_lines.empty());
    CHECK(c.tuning.rw_buffer == 64u << 10);
    CHECK(c.tuning.mmap_window == 2u << 20);
    CHECK(c.tuning.mmap_write == 256u << 10);
    CHECK(c.tuning.mmap_populate);
    CHECK(c.tuning.mmap_advice == MmapAdvice::sequential);
    CHECK(c.tuning.mmap_min_file == SIZE_MAX);
    CHECK(c.tuning.mmap_min_socket == 1u << 20);
    CHECK(c.tuning.mmap_min_unix == 64u << 20);
    Tuning defaults;
    c = config_from_env(nullptr, nullptr, nullptr, "rw_buffer=1G", collect);  // one 16 MiB buffer too many
    CHECK(c.tuning.rw_buffer == defaults.rw_buffer);
    REQUIRE(g_lines.size() == 1);
    CHECK(g_lines[0].find("rw_buffer=1G") != std::string::npos);
}

TEST_CASE("SFSHIM_TUNE sets the mapping cache's bounds, and turns it off", "[config]") {
    g_lines.clear();
    Config c = config_from_env(nullptr, nullptr, nullptr,
                               "cache_bytes=64M,cache_entries=256,cache_segment=1M,cache_idle=250,mmap_write_socket=2M",
                               collect);
    CHECK(g_lines.empty());
    CHECK(c.tuning.cache_bytes == 64u << 20);
    CHECK(c.tuning.cache_entries == 256);
    CHECK(c.tuning.cache_segment == 1u << 20);
    CHECK(c.tuning.cache_idle_ms == 250);
    CHECK(c.tuning.mmap_write_socket == 2u << 20);
    c = config_from_env(nullptr, nullptr, nullptr, "cache_bytes=off", collect);
    CHECK(c.tuning.cache_bytes == 0);
    c = config_from_env(nullptr, nullptr, nullptr, "cache_entries=0", collect);
    CHECK(c.tuning.cache_entries == 0);
    CHECK(g_lines.empty());
    Tuning defaults;
    for (const char* bad : {"cache_bytes=5000", "cache_entries=257", "cache_entries=4K", "cache_idle=1s",
                            "cache_segment=4K", "cache_segment=100000", "cache_idle="}) {
        g_lines.clear();
        c = config_from_env(nullptr, nullptr, nullptr, bad, collect);
        CAPTURE(bad);
        CHECK(g_lines.size() == 1);
        CHECK(c.tuning.cache_bytes == defaults.cache_bytes);
        CHECK(c.tuning.cache_entries == defaults.cache_entries);
        CHECK(c.tuning.cache_segment == defaults.cache_segment);
        CHECK(c.tuning.cache_idle_ms == defaults.cache_idle_ms);
    }
}

TEST_CASE("a bad SFSHIM_TUNE gives one line and leaves every default", "[config]") {
    Tuning defaults;
    for (const char* bad : {"rw_buffer=5000", "mmap_window=1X", "mmap_window", "speed=11", "mmap_populate=yes",
                            "mmap_window=64K,mmap_write=1M", "rw_buffer=64K,mmap_advice=random",
                            "mmap_min_file=99999999999999999999999"}) {
        g_lines.clear();
        Config c = config_from_env(nullptr, nullptr, nullptr, bad, collect);
        CAPTURE(bad);
        CHECK(g_lines.size() == 1);
        CHECK(c.tuning.rw_buffer == defaults.rw_buffer);
        CHECK(c.tuning.mmap_window == defaults.mmap_window);
        CHECK(c.tuning.mmap_write == defaults.mmap_write);
        CHECK(c.tuning.mmap_advice == defaults.mmap_advice);
        CHECK(c.tuning.mmap_min_file == defaults.mmap_min_file);
    }
}

// The README's table gives SFSHIM_TUNE's defaults as one string: parsed, it
// must be exactly what the library starts from, so a default changed in
// config.h without the README (or the other way) fails here.
TEST_CASE("the README's SFSHIM_TUNE defaults are the library's", "[config]") {
    std::ifstream in(SFSHIM_SOURCE_DIR "/README.md");
    REQUIRE(in.good());
    std::string line, row;
    while (std::getline(in, line))
        if (line.rfind("| `SFSHIM_TUNE` |", 0) == 0) row = line;
    REQUIRE(!row.empty());
    // The last cell opens with the defaults in backticks.
    size_t cell = row.rfind(" | `");
    REQUIRE(cell != std::string::npos);
    size_t from = cell + 4, to = row.find('`', from);
    REQUIRE(to != std::string::npos);
    std::string text = row.substr(from, to - from);
    CAPTURE(text);
    Tuning t;
    t.rw_buffer = t.mmap_window = t.mmap_write = t.mmap_write_socket = t.mmap_min_file = t.mmap_min_socket =
        t.mmap_min_unix = t.cache_bytes = t.cache_entries = t.cache_segment = 12345;
    t.mmap_populate = !Tuning{}.mmap_populate;
    t.mmap_advice = MmapAdvice::willneed;
    t.cache_idle_ms = 1;
    char why[256] = "";
    REQUIRE(parse_tuning(text.c_str(), &t, why, sizeof why));
    Tuning d;
    CHECK(t.rw_buffer == d.rw_buffer);
    CHECK(t.mmap_window == d.mmap_window);
    CHECK(t.mmap_write == d.mmap_write);
    CHECK(t.mmap_write_socket == d.mmap_write_socket);
    CHECK(t.mmap_populate == d.mmap_populate);
    CHECK(t.mmap_advice == d.mmap_advice);
    CHECK(t.mmap_min_file == d.mmap_min_file);
    CHECK(t.mmap_min_socket == d.mmap_min_socket);
    CHECK(t.mmap_min_unix == d.mmap_min_unix);
    if (sizeof(void*) >= 8)
        CHECK(t.cache_bytes == d.cache_bytes);
    else  // the README names the 32-bit default after the string
        CHECK(d.cache_bytes == size_t{64} << 20);
    CHECK(t.cache_entries == d.cache_entries);
    CHECK(t.cache_segment == d.cache_segment);
    CHECK(t.cache_idle_ms == d.cache_idle_ms);
}

TEST_CASE("the version string is the header's and the project's", "[config]") {
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", SFSHIM_VERSION_MAJOR, SFSHIM_VERSION_MINOR, SFSHIM_VERSION_PATCH);
    CHECK(std::string(sfshim_version()) == expect);
}

namespace {

// A document's text with every run of white space (a man page's line
// breaks, a wrapped paragraph's) made one space, and roff's "\-" a "-".
std::string doc_text(const char* relative) {
    std::ifstream in(std::string(SFSHIM_SOURCE_DIR "/") + relative);
    REQUIRE(in.good());
    std::string text, word;
    while (in >> word) {
        for (size_t i; (i = word.find("\\-")) != std::string::npos;) word.erase(i, 1);
        text += word;
        text += ' ';
    }
    return text;
}

std::string human(size_t bytes) {
    char buf[32];
    if (bytes % (size_t{1} << 20) == 0)
        snprintf(buf, sizeof buf, "%zu MiB", bytes >> 20);
    else
        snprintf(buf, sizeof buf, "%zu KiB", bytes >> 10);
    return buf;
}

}  // namespace

// Numbers the documents state about the code, from the code: the mapping
// cache's sweep, the engine's thresholds for a file the cache does not
// keep, and the live stats file's size. A constant changed without the
// documents (or the other way) fails here.
TEST_CASE("the documents' numbers are the code's", "[config]") {
    Tuning d;
    char sweep[160];
    snprintf(sweep, sizeof sweep, "a call at least %u ms after the last sweep asks %zu of the %zu entries",
             kSweepMs, kSweepChecks, kCacheMaxEntries);
    CHECK_THAT(doc_text("docs/differences.md"), Catch::Contains(sweep));
    CHECK_THAT(doc_text("shim/man/sfshim.7"), Catch::Contains(sweep));
    char every[160];
    snprintf(every, sizeof every, "at most every %u ms", kSweepMs);
    CHECK_THAT(doc_text("docs/how-it-works.md"), Catch::Contains(every));
    // "four" in words, here as in the man page and differences.md.
    CHECK(kCacheMaxEntries / kSweepChecks == 4);
    snprintf(every, sizeof every, "Each sweep asks %zu entries in turn, so every one of %zu within four sweeps",
             kSweepChecks, kCacheMaxEntries);
    CHECK_THAT(doc_text("docs/how-it-works.md"), Catch::Contains(every));
    std::string engines = human(d.mmap_min_file) + " and more into a file (`mmap_min_file`), " +
                          human(d.mmap_min_socket) + " and more into TCP and other sockets (`mmap_min_socket`) and " +
                          human(d.mmap_min_unix) + " and more into Unix stream sockets";
    CHECK_THAT(doc_text("docs/how-it-works.md"), Catch::Contains(engines));
    std::string man = human(d.mmap_min_socket) + " into TCP, " + human(d.mmap_min_unix) + " into Unix stream sockets, " +
                      human(d.mmap_min_file) + " into files";
    CHECK_THAT(doc_text("shim/man/sfshim.7"), Catch::Contains(man));
    char slots[64];
    snprintf(slots, sizeof slots, "holds %u slots", SFSHIM_STATS_SLOTS - 1);
    CHECK_THAT(doc_text("shim/man/sfshim.7"), Catch::Contains(slots));
    snprintf(slots, sizeof slots, "with %u slots", SFSHIM_STATS_SLOTS - 1);
    CHECK_THAT(doc_text("README.md"), Catch::Contains(slots));
    CHECK(human(SFSHIM_STATS_FILE_SIZE - SFSHIM_STATS_HEADER_SIZE) == "1 MiB");  // "The file is 1 MiB"
    CHECK_THAT(doc_text("README.md"), Catch::Contains("The file is 1 MiB"));
}
