// Configuration from the environment, read once.
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include "sfshim/sfshim.h"

namespace sfshim {

enum class LogLevel { off = 0, error = 1, warn = 2, info = 3, debug = 4 };

enum class StatsTarget { none, stderr_text, file_json };

struct Config {
    sfshim_mode mode = SFSHIM_MODE_AUTO;
    LogLevel log_level = LogLevel::off;
    StatsTarget stats = StatsTarget::none;
    char stats_path[512] = {};  // with "%p" still in it
};

// Pure parsers (unit-tested). Each returns false on a value it does not know.
bool parse_mode(const char* text, sfshim_mode* out);
bool parse_log_level(const char* text, LogLevel* out);
// "stderr" -> stderr_text, a path -> file_json; empty or "0"/"off" -> none.
bool parse_stats(const char* text, Config* out);
const char* mode_name(sfshim_mode mode);

// Expands "%p" to pid and "%%" to "%"; false if it does not fit.
bool expand_stats_path(const char* pattern, long pid, char* out, size_t out_size);

// Builds a Config from the three variable values (any may be null). Bad values
// leave the default and are reported through `complain` (one line each).
Config config_from_env(const char* mode, const char* log, const char* stats,
                       void (*complain)(const char* line));

// The process's configuration: read from the environment on first use.
const Config& config();

}  // namespace sfshim
