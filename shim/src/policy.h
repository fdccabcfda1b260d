// Which way a call goes: the kernel, the emulation, or the kernel first.
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sfshim/sfshim.h"

namespace sfshim {

// The errors after which `auto` emulates the call: the kernel refused the
// operation, and a refused call has moved no byte, so a retry cannot
// duplicate data. (ENOSYS is also remembered for the whole process.)
bool kernel_refused(int err);

// True once the kernel's sendfile answered ENOSYS in this process (or the
// parent it was forked from): `auto` then emulates without asking again.
bool kernel_answered_enosys();

// The one entry point behind sendfile64 (and sendfile where off_t has 64
// bits) and the sfshim_ API.
ssize_t dispatch(sfshim_mode mode, int out_fd, int in_fd, int64_t* offset, size_t count);

// Linux's sendfile with a 32-bit offset, as i386 programs call `sendfile`:
// the offset is read and written as 32 bits, and a transfer with an offset
// stops at 2 GiB - 1 (EOVERFLOW at or past it). Without an offset it is
// sendfile64.
ssize_t dispatch_off32(sfshim_mode mode, int out_fd, int in_fd, int32_t* offset, size_t count);

// The caller's offset: where it is and how wide (8 bytes, or 4 for the
// 32-bit call). ptr null: no offset.
struct OffsetRef {
    void* ptr;
    unsigned width;
};

// The emulation alone: offset handling, validation, transfer, accounting.
// `limit`: see Call::limit.
ssize_t emulate(sfshim_mode mode, int out_fd, int in_fd, OffsetRef offset, size_t count, int64_t limit);

}  // namespace sfshim
