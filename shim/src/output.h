// Writing to the output as the kernel's splice does, shared by the engines.
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "validate.h"

namespace sfshim {

// Writes [iov, iov + iovcnt) (`len` bytes in all) to the plan's output and
// returns the bytes it accepted, or -errno when none. `moved_before`: bytes
// this sendfile call already moved.
//
// A blocking socket is where the kernel and plain write() part ways. The
// kernel returns its partial count as soon as a signal arrives, SA_RESTART or
// not; a write() that a signal hits before it moves a byte is restarted by
// the kernel itself, unseen, and would go on waiting. So once the call has
// moved bytes, each later write waits for room in poll(), which a signal
// always ends, and only then sends, blocking: a send that finds room moves
// bytes before it can wait, so a signal then ends it short instead of
// restarting it, and the call returns. And when a blocking write comes up short
// (a signal or a socket error), one more non-blocking try collects a pending
// error (a reset peer) as the kernel's own loop does, so the next call sees
// what it would see after the kernel's sendfile.
ssize_t write_output(const Plan& plan, const struct iovec* iov, int iovcnt, size_t len, size_t moved_before);

// After a short blocking send() of buf[0, n) of which `sent` went out: the
// one extra non-blocking try. Returns the bytes it added (0 if none).
size_t finish_short_send(int fd, const char* buf, size_t sent, size_t n);

}  // namespace sfshim
