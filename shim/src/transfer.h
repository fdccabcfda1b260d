// From a validated plan to the bytes moved: picks the engine, applies the
// output's own rules (one fill of a pipe, datagram boundaries), and falls
// back from mmap to read/write. It reports what it did (Outcome); the
// caller, policy.cpp's emulate(), moves the offset or file position and
// counts the call and its bytes, once.
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <sys/types.h>

#include "sfshim/sfshim.h"
#include "validate.h"

namespace sfshim {

enum class EngineUsed { none, mmap, rw };

struct Outcome {
    ssize_t result = 0;  // bytes moved, or -errno
    EngineUsed engine = EngineUsed::none;
    bool mmap_fallback = false;
};

// mode is EMULATE, MMAP or RW (AUTO emulates as EMULATE).
Outcome transfer(const Plan& plan, sfshim_mode mode);

// The shortcut for what servers do on every small response: a piece of a
// regular file, at an offset, into a socket. emulate() tries it before
// validate(): it makes the checks it needs itself (four system calls in
// all, where validate() + transfer() make seven) and hands the call to
// them (returns false) whenever anything is unusual, always before a byte
// is written.
bool send_small(const Call& call, sfshim_mode mode, Plan* plan, Outcome* outcome);

// Which engine a call uses; pure, unit-tested. `unix_stream`: the output is a
// Unix stream socket (asked only for counts that could use mmap there).
EngineUsed choose_engine(const Plan& plan, sfshim_mode mode, bool unix_stream);

// Bytes the kernel would put into a pipe with `free_slots` empty buffers,
// reading from `pos` (page-cache input fills buffers page by page). Pure.
size_t pipe_fill_limit(size_t free_slots, int64_t pos, bool page_cache_input);

// The kernel's chunk for a datagram socket: one internal-pipe fill. Pure.
size_t datagram_chunk(int64_t pos, size_t remaining);

}  // namespace sfshim
