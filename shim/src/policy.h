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

// The one entry point behind sendfile, sendfile64 and the sfshim_ API.
ssize_t dispatch(sfshim_mode mode, int out_fd, int in_fd, int64_t* offset, size_t count);

// The emulation alone: offset handling, validation, transfer, accounting.
ssize_t emulate(sfshim_mode mode, int out_fd, int in_fd, int64_t* offset, size_t count);

}  // namespace sfshim
