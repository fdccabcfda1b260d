// SPDX-License-Identifier: BSD-2-Clause
#include "config.h"

#include "common.h"
#include "log.h"
#include "once.h"
#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

namespace sfshim {
namespace {

bool equals_nocase(const char* a, const char* b) { return strcasecmp(a, b) == 0; }

struct ModeName {
    const char* name;
    sfshim_mode mode;
};
constexpr ModeName kModes[] = {
    {"auto", SFSHIM_MODE_AUTO},     {"emulate", SFSHIM_MODE_EMULATE}, {"mmap", SFSHIM_MODE_MMAP},
    {"rw", SFSHIM_MODE_RW},         {"native", SFSHIM_MODE_NATIVE},
};

Config g_config;
Once g_config_once;

// A bad variable's line waits until the configuration says where lines
// go (SFSHIM_LOG's place, else descriptor 2 when log.h finds it safe).
struct Complaints {
    char text[4][320];
    int count;
};
Complaints g_complaints;

void collect_complaint(const char* line) {
    if (g_complaints.count < 4)
        snprintf(g_complaints.text[g_complaints.count++], sizeof g_complaints.text[0], "%.300s", line);
}

void tell_complaints(const Config& c) {
    for (int i = 0; i < g_complaints.count; ++i) {
        char buf[400];
        int n = snprintf(buf, sizeof buf, "sfshim: %s\n", g_complaints.text[i]);
        if (n > 0) write_line(c.log_sink, c.log_path, buf, min_of(static_cast<size_t>(n), sizeof buf - 1));
    }
    g_complaints.count = 0;
}

// SFSHIM_STATS names a file the process writes at exit and SFSHIM_LOG what it
// tells on stderr: in a process with elevated rights (set-user-ID,
// set-group-ID, file capabilities) they come from the invoker and are
// ignored, as glibc ignores its own variables there.
const char* trusted_getenv(const char* name) { return platform::elevated_rights() ? nullptr : getenv(name); }

}  // namespace

bool parse_mode(const char* text, sfshim_mode* out) {
    if (text == nullptr) return false;
    for (const ModeName& m : kModes) {
        if (equals_nocase(text, m.name)) {
            *out = m.mode;
            return true;
        }
    }
    return false;
}

const char* mode_name(sfshim_mode mode) {
    for (const ModeName& m : kModes)
        if (m.mode == mode) return m.name;
    return "unknown";
}

bool parse_log_level(const char* text, LogLevel* out) {
    struct {
        const char* name;
        LogLevel level;
    } const levels[] = {{"off", LogLevel::off},   {"0", LogLevel::off},    {"error", LogLevel::error},
                        {"warn", LogLevel::warn}, {"warning", LogLevel::warn}, {"info", LogLevel::info},
                        {"1", LogLevel::info},    {"debug", LogLevel::debug}};
    if (text == nullptr) return false;
    for (const auto& l : levels) {
        if (equals_nocase(text, l.name)) {
            *out = l.level;
            return true;
        }
    }
    return false;
}

bool parse_log(const char* text, Config* out) {
    if (text == nullptr) return false;
    const char* colon = strchr(text, ':');
    char level[16];
    size_t n = colon != nullptr ? static_cast<size_t>(colon - text) : strlen(text);
    if (n >= sizeof level) return false;
    memcpy(level, text, n);
    level[n] = '\0';
    LogLevel lv;
    if (!parse_log_level(level, &lv)) return false;
    Sink sink = Sink::stderr_checked;
    if (colon != nullptr) {
        const char* where = colon + 1;
        if (equals_nocase(where, "stderr")) {
            sink = Sink::stderr_checked;
        } else if (equals_nocase(where, "fd2")) {
            sink = Sink::fd2;
        } else {
            size_t len = strlen(where);
            if (len == 0 || len >= sizeof out->log_path) return false;
            memcpy(out->log_path, where, len + 1);
            sink = Sink::file;
        }
    }
    out->log_level = lv;
    out->log_sink = sink;
    return true;
}

bool parse_stats(const char* text, Config* out) {
    if (text == nullptr) return false;
    if (*text == '\0' || equals_nocase(text, "off") || strcmp(text, "0") == 0) {
        out->stats = StatsTarget::none;
        return true;
    }
    if (equals_nocase(text, "stderr") || strcmp(text, "1") == 0) {
        out->stats = StatsTarget::text;
        out->stats_sink = Sink::stderr_checked;
        return true;
    }
    if (equals_nocase(text, "fd2")) {
        out->stats = StatsTarget::text;
        out->stats_sink = Sink::fd2;
        return true;
    }
    size_t len = strlen(text);
    if (len >= sizeof out->stats_path) return false;
    memcpy(out->stats_path, text, len + 1);
    out->stats = StatsTarget::live_file;
    return true;
}

bool expand_stats_path(const char* pattern, long pid, char* out, size_t out_size) {
    size_t used = 0;
    auto put = [&](const char* s, size_t n) {
        if (used + n >= out_size) return false;
        memcpy(out + used, s, n);
        used += n;
        return true;
    };
    for (const char* p = pattern; *p != '\0'; ++p) {
        if (p[0] == '%' && p[1] == 'p') {
            char num[24];
            int n = snprintf(num, sizeof num, "%ld", pid);
            if (n < 0 || !put(num, static_cast<size_t>(n))) return false;
            ++p;
        } else if (p[0] == '%' && p[1] == '%') {
            if (!put("%", 1)) return false;
            ++p;
        } else if (!put(p, 1)) {
            return false;
        }
    }
    if (out_size == 0) return false;
    out[used] = '\0';
    return true;
}

namespace {

// "64K", "1M", "4096": bytes, or false.
bool parse_size(const char* s, size_t n, size_t* out) {
    if (n == 0) return false;
    uint64_t v = 0;
    size_t i = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; ++i) {
        if (v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    }
    if (i == 0) return false;
    unsigned shift = 0;
    if (i < n) {
        char u = s[i++];
        shift = u == 'k' || u == 'K' ? 10 : u == 'm' || u == 'M' ? 20 : u == 'g' || u == 'G' ? 30 : 99;
        if (shift == 99) return false;
    }
    if (i != n || v > (SIZE_MAX >> shift)) return false;
    *out = static_cast<size_t>(v << shift);
    return true;
}

bool token_is(const char* s, size_t n, const char* word) { return strlen(word) == n && strncasecmp(s, word, n) == 0; }

// The size keys: bounds, and whether "off" (never) is a value.
struct SizeKey {
    const char* name;
    size_t Tuning::*field;
    size_t lo, hi;
    bool off_allowed;
};
constexpr SizeKey kSizeKeys[] = {
    {"rw_buffer", &Tuning::rw_buffer, 4096, 64u << 20, false},
    {"mmap_window", &Tuning::mmap_window, 4096, 1u << 30, false},
    {"mmap_write", &Tuning::mmap_write, 4096, 1u << 30, false},
    {"mmap_write_socket", &Tuning::mmap_write_socket, 4096, 1u << 30, false},
    {"mmap_min_file", &Tuning::mmap_min_file, 0, SIZE_MAX, true},
    {"mmap_min_socket", &Tuning::mmap_min_socket, 0, SIZE_MAX, true},
    {"mmap_min_unix", &Tuning::mmap_min_unix, 0, SIZE_MAX, true},
    {"cache_segment", &Tuning::cache_segment, 64u << 10, 1u << 30, false},
};

// One key=value into *t; false for an unknown key or a bad value.
bool set_tuning_key(Tuning* t, const char* k, size_t klen, const char* v, size_t vlen) {
    for (const SizeKey& key : kSizeKeys) {
        if (!token_is(k, klen, key.name)) continue;
        size_t size = 0;
        if (key.off_allowed && token_is(v, vlen, "off"))
            size = SIZE_MAX;
        else if (!parse_size(v, vlen, &size) || size < key.lo || size > key.hi || (key.lo > 0 && size % 4096 != 0))
            return false;
        t->*key.field = size;
        return true;
    }
    if (token_is(k, klen, "cache_bytes")) {  // "off" or 0: no cache
        size_t size = 0;
        if (token_is(v, vlen, "off")) size = 0;
        else if (!parse_size(v, vlen, &size) || size % 4096 != 0) return false;
        t->cache_bytes = size;
        return true;
    }
    if (token_is(k, klen, "cache_entries") || token_is(k, klen, "cache_idle")) {
        size_t n = 0;
        bool entries = token_is(k, klen, "cache_entries");
        for (size_t i = 0; i < vlen; ++i)
            if (v[i] < '0' || v[i] > '9') return false;
        if (vlen == 0 || vlen > 9 || !parse_size(v, vlen, &n)) return false;
        if (entries) {
            if (n > 256) return false;
            t->cache_entries = n;
        } else {
            t->cache_idle_ms = static_cast<uint32_t>(n);  // milliseconds
        }
        return true;
    }
    if (token_is(k, klen, "mmap_populate")) {
        if (vlen != 1 || (*v != '0' && *v != '1')) return false;
        t->mmap_populate = *v == '1';
        return true;
    }
    if (token_is(k, klen, "mmap_advice")) {
        if (token_is(v, vlen, "none")) t->mmap_advice = MmapAdvice::none;
        else if (token_is(v, vlen, "sequential")) t->mmap_advice = MmapAdvice::sequential;
        else if (token_is(v, vlen, "willneed")) t->mmap_advice = MmapAdvice::willneed;
        else return false;
        return true;
    }
    return false;
}

}  // namespace

bool parse_tuning(const char* text, Tuning* t, char* why, size_t why_size) {
    for (const char* p = text; *p != '\0';) {
        const char* end = strchr(p, ',');
        size_t len = end ? static_cast<size_t>(end - p) : strlen(p);
        const char* eq = static_cast<const char*>(memchr(p, '=', len));
        if (len > 0 && (eq == nullptr || !set_tuning_key(t, p, static_cast<size_t>(eq - p), eq + 1,
                                                         len - static_cast<size_t>(eq - p) - 1))) {
            snprintf(why, why_size, "SFSHIM_TUNE: '%.*s' is not a known key=value",
                     static_cast<int>(min_of<size_t>(len, 80)), p);
            return false;
        }
        p += len;
        if (*p == ',') ++p;
    }
    return true;
}

Config config_from_env(const char* mode, const char* log, const char* stats, const char* tune,
                       void (*complain)(const char* line)) {
    Config c;
    char line[600];
    if (mode != nullptr && *mode != '\0' && !parse_mode(mode, &c.mode)) {
        snprintf(line, sizeof line,
                 "SFSHIM_MODE='%.64s' is not one of auto, emulate, mmap, rw, native; using auto", mode);
        complain(line);
    }
    if (log != nullptr && *log != '\0' && !parse_log(log, &c)) {
        snprintf(line, sizeof line,
                 "SFSHIM_LOG='%.64s' is not LEVEL or LEVEL:WHERE (off, error, warn, info, debug; stderr, fd2 or a "
                 "path); logging is off",
                 log);
        complain(line);
    }
    if (stats != nullptr && !parse_stats(stats, &c)) {
        snprintf(line, sizeof line, "SFSHIM_STATS path is too long (%zu bytes); stats are off",
                 strlen(stats));
        complain(line);
        c.stats = StatsTarget::none;
    }
    if (tune != nullptr) {
        Tuning t;
        if (parse_tuning(tune, &t, line, sizeof line) && t.mmap_write <= t.mmap_window) {
            c.tuning = t;
        } else {
            if (t.mmap_write > t.mmap_window) snprintf(line, sizeof line, "SFSHIM_TUNE: mmap_write is larger than mmap_window");
            size_t n = strlen(line);
            snprintf(line + n, sizeof line - n, "; using the defaults");
            complain(line);
        }
    }
    return c;
}

// Read at load time as well as on first use: some servers (nginx) clear their
// workers' environment before the first sendfile. Parsing cannot fail; a bad
// value only gives its one line.
__attribute__((constructor)) static void read_environment_at_load() { config(); }

const Config& config() {
    auto read = [] {
        g_complaints.count = 0;
        Config c = config_from_env(getenv("SFSHIM_MODE"), trusted_getenv("SFSHIM_LOG"),
                                   trusted_getenv("SFSHIM_STATS"), getenv("SFSHIM_TUNE"), collect_complaint);
        // Descriptor 2 is looked at (three system calls) only in a process
        // that may write a line there: most write none.
        bool checked = c.log_sink == Sink::stderr_checked;
        if ((checked && (c.log_level != LogLevel::off || g_complaints.count > 0)) ||
            (c.stats == StatsTarget::text && c.stats_sink == Sink::stderr_checked))
            note_stderr_at_load();
        g_config = c;
        tell_complaints(g_config);
    };
    // A signal handler that interrupted this thread's own reading reads
    // again (the same values) instead of waiting for itself.
    if (!g_config_once.run(read)) read();
    return g_config;
}

}  // namespace sfshim
