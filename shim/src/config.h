// Configuration from the environment, read once.
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "sfshim/sfshim.h"

namespace sfshim {

enum class LogLevel { off = 0, error = 1, warn = 2, info = 3, debug = 4 };

// SFSHIM_STATS: none; text at exit (stderr, fd2); the live stats file (a path: stats_file.h).
enum class StatsTarget { none, text, live_file };

// Where the shim's own lines go (the log, the stats' text, a complaint
// about a variable): never into a descriptor the program uses for its data
// (log.h says how descriptor 2 is judged).
enum class Sink {
    stderr_checked,  // descriptor 2, while it is the terminal or regular file it was at load
    fd2,             // descriptor 2 whatever it is: the user chose it (a log collector's pipe or socket)
    file,            // a file by path ("%p": the pid), opened as the stats file is
};

// The engines' sizes and switches (SFSHIM_TUNE="key=value,..."), for
// benchmark sweeps; the defaults are what the benchmark chose (README).
enum class MmapAdvice { none, sequential, willneed };
struct Tuning {
    size_t rw_buffer = 128u << 10;      // read/write copy buffer (each pool slot)
    size_t mmap_window = 4u << 20;      // bytes mapped at a time (a file the cache does not keep)
    size_t mmap_write = 64u << 10;      // bytes per writev from the mapping
    size_t mmap_write_socket = 1u << 20; // the same into a socket
    bool mmap_populate = false;         // prefault that window (MAP_POPULATE); the cache always does
    MmapAdvice mmap_advice = MmapAdvice::none;
    size_t mmap_min_file = 1u << 20;    // file->file: mmap-writev from this count on
    size_t mmap_min_socket = 256u << 10; // into other sockets (TCP): from this count on
    size_t mmap_min_unix = 4u << 20;    // into Unix stream sockets: from this count on
    // The mapping cache (cache.h): bytes mapped at most (0: off), entries at
    // most, a large file's bytes per entry, and how long an unused entry stays.
    size_t cache_bytes = sizeof(void*) >= 8 ? size_t{256} << 20 : size_t{64} << 20;
    size_t cache_entries = 256;
    size_t cache_segment = 4u << 20;
    uint32_t cache_idle_ms = 5000;
};

// Parses "key=value,..." into *t (sizes take K, M, G suffixes; "off" is
// never for the mmap_min_* keys). On a bad key or value, writes a line to
// `why` and returns false; *t keeps what parsed before it.
bool parse_tuning(const char* text, Tuning* t, char* why, size_t why_size);

struct Config {
    sfshim_mode mode = SFSHIM_MODE_AUTO;
    LogLevel log_level = LogLevel::off;
    Sink log_sink = Sink::stderr_checked;
    char log_path[512] = {};    // Sink::file: with "%p" still in it
    StatsTarget stats = StatsTarget::none;
    Sink stats_sink = Sink::stderr_checked;  // StatsTarget::text: stderr_checked or fd2
    char stats_path[512] = {};  // with "%p" still in it
    Tuning tuning;
};

// Pure parsers (unit-tested). Each returns false on a value it does not know.
bool parse_mode(const char* text, sfshim_mode* out);
bool parse_log_level(const char* text, LogLevel* out);
// SFSHIM_LOG: "LEVEL" or "LEVEL:WHERE", WHERE being "stderr" (the default),
// "fd2" or a path (with "%p").
bool parse_log(const char* text, Config* out);
// "stderr" -> text on descriptor 2 when it is checked safe, "fd2" -> text on
// descriptor 2 whatever it is, a path -> live_file; empty or "0"/"off" -> none.
bool parse_stats(const char* text, Config* out);
const char* mode_name(sfshim_mode mode);

// Expands "%p" to pid and "%%" to "%"; false if it does not fit.
bool expand_stats_path(const char* pattern, long pid, char* out, size_t out_size);

// Builds a Config from the variables' values (any may be null). Bad values
// leave the default and are reported through `complain` (one line each).
Config config_from_env(const char* mode, const char* log, const char* stats, const char* tune,
                       void (*complain)(const char* line));

// The process's configuration: read from the environment on first use.
const Config& config();

}  // namespace sfshim
