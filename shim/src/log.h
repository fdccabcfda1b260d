// Decision logging (SFSHIM_LOG). Off unless asked for: the shim writes
// nothing to the host program's stderr on its own.
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include "config.h"

namespace sfshim {

bool log_enabled(LogLevel level);
void log_write(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace sfshim

#define SFSHIM_LOG(level, ...)                                              \
    do {                                                                   \
        if (::sfshim::log_enabled(::sfshim::LogLevel::level))              \
            ::sfshim::log_write(::sfshim::LogLevel::level, __VA_ARGS__);   \
    } while (0)
