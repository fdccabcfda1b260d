// Decision logging (SFSHIM_LOG) and where every line of the shim's goes.
// Off unless asked for: the shim writes nothing to the host program's
// streams on its own.
//
// Descriptor 2 is written only while it is what it was when the library
// was loaded, and that was a terminal or a regular file open for writing:
// an inetd-style server's descriptor 2 is its client's socket, a program
// that closed it may open its own data there, a pipe may lead to a peer
// that parses what comes. A pipe or socket to a log collector is written
// when the user names it (`fd2`); a file by path is opened for each line
// as the stats file is (no symbolic link followed, regular files only).
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <stddef.h>

#include "config.h"

namespace sfshim {

bool log_enabled(LogLevel level);
void log_write(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Remembers what descriptor 2 is now (called when the configuration is
// read, at load, if a line may go there): the only file
// Sink::stderr_checked ever writes. Never called: nothing is written there.
void note_stderr_at_load();
// Whether Sink::stderr_checked would write descriptor 2 now.
bool stderr_checked_ok();
// One line (or a few, `len` bytes with their newlines) to `sink`, in one
// write; `path` is the pattern for Sink::file. Errors are dropped.
void write_line(Sink sink, const char* path, const char* buf, size_t len);

// Opens a file the shim writes lines to by path, for appending: created if
// missing; a symbolic link at the path is refused (O_NOFOLLOW), a FIFO
// never blocks (O_NONBLOCK), and anything but a regular file is refused
// (-EINVAL). The descriptor, or -errno (-ELOOP for a link, -ENXIO for a
// FIFO without a reader).
int open_line_file(const char* path);

// Appends `len` bytes to the file at `path` in one write(), so that
// processes sharing the file never interleave their lines. 0 or an errno.
int append_line_to_file(const char* path, const char* line, size_t len);

}  // namespace sfshim

#define SFSHIM_LOG(level, ...)                                              \
    do {                                                                   \
        if (::sfshim::log_enabled(::sfshim::LogLevel::level))              \
            ::sfshim::log_write(::sfshim::LogLevel::level, __VA_ARGS__);   \
    } while (0)
