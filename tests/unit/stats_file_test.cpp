// SFSHIM_STATS's file: what is opened and how the report is appended.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "platform/platform.h"
#include "stats.h"

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

}  // namespace

TEST_CASE("the stats file is created and appended to", "[stats]") {
    TempDir d;
    std::string p = d.at("s.json");
    CHECK(append_stats_line(p.c_str(), "one\n", 4) == 0);
    CHECK(append_stats_line(p.c_str(), "two\n", 4) == 0);
    CHECK(slurp(p) == "one\ntwo\n");
}

TEST_CASE("a symbolic link at the stats path is not followed", "[stats]") {
    TempDir d;
    std::string target = d.at("target"), link = d.at("link.json");
    { std::ofstream(target) << "keep\n"; }
    REQUIRE(symlink(target.c_str(), link.c_str()) == 0);
    CHECK(open_stats_file(link.c_str()) == -ELOOP);
    CHECK(append_stats_line(link.c_str(), "x\n", 2) == ELOOP);
    CHECK(slurp(target) == "keep\n");

    std::string dangling = d.at("dangling.json"), planted = d.at("planted");
    REQUIRE(symlink(planted.c_str(), dangling.c_str()) == 0);
    CHECK(append_stats_line(dangling.c_str(), "x\n", 2) == ELOOP);
    CHECK(access(planted.c_str(), F_OK) != 0);
}

TEST_CASE("a FIFO at the stats path neither blocks nor is written", "[stats]") {
    TempDir d;
    std::string fifo = d.at("fifo.json");
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    // No reader: a blocking open would wait for one forever.
    CHECK(open_stats_file(fifo.c_str()) == -ENXIO);
    // A reader: the open succeeds, the file type refuses it.
    int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    REQUIRE(reader >= 0);
    CHECK(append_stats_line(fifo.c_str(), "x\n", 2) == EINVAL);
    char c;
    CHECK(read(reader, &c, 1) <= 0);
    close(reader);
}

TEST_CASE("a directory or a device at the stats path is refused", "[stats]") {
    TempDir d;
    CHECK(open_stats_file(d.path.c_str()) == -EISDIR);
    CHECK(open_stats_file("/dev/null") == -EINVAL);
}

TEST_CASE("processes appending to one stats file never interleave their lines", "[stats]") {
    TempDir d;
    std::string p = d.at("shared.json");
    constexpr int kProcs = 16, kLines = 200;
    for (int i = 0; i < kProcs; ++i) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            // Lines as long as a report, each its own letter.
            std::string line(1500, static_cast<char>('a' + i));
            line.back() = '\n';
            for (int k = 0; k < kLines; ++k)
                if (append_stats_line(p.c_str(), line.data(), line.size()) != 0) _exit(1);
            _exit(0);
        }
    }
    int failed = 0;
    for (int i = 0; i < kProcs; ++i) {
        int st = 0;
        wait(&st);
        failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
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
