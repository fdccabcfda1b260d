// The one contract every engine meets.
//
// An engine moves the input's bytes [pos, pos + len) to the output, copying as
// little as it can, and returns how many bytes the output accepted. It stops
// early, with a short count, when the input ends or the output takes no more
// (a full non-blocking socket or pipe, a signal, a full disk): the caller then
// stops too, so a short count is never followed by more writes. When nothing
// moved it returns -errno (or 0 at end of input). Engines know nothing of
// validation, offsets, file positions or stats: validate.cpp checks the call
// before, transfer.cpp picks the engine and applies the output's rules, and
// policy.cpp's emulate() moves the offset and counts, once, after.
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buffer.h"
#include "validate.h"

namespace sfshim {

struct EngineResult {
    ssize_t moved = 0;         // bytes accepted by the output, or -errno if none
    bool cannot_map = false;   // mmap engine only: the rest needs another engine
};

// `moved_before`: bytes this sendfile call already moved (output.h says why
// the output cares).
using Engine = EngineResult (*)(const Plan& plan, int64_t pos, size_t len, size_t moved_before);

// mmap-writev: read-only windows of the input written straight from the mapping.
EngineResult engine_mmap(const Plan& plan, int64_t pos, size_t len, size_t moved_before);

// Chunked pread/write through a pooled buffer (buffer.h).
EngineResult engine_rw(const Plan& plan, int64_t pos, size_t len, size_t moved_before);

// A socket input into a pipe: peek, write, then consume what was written.
EngineResult engine_socket_to_pipe(const Plan& plan, int64_t pos, size_t len, size_t moved_before);

// Their sizes and switches: Tuning in config.h.

}  // namespace sfshim
