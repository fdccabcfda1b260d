// The checks of Linux's do_sendfile, in the kernel's order. Each failed check
// is the errno the kernel gives; a passed one leaves facts for the engines.
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "plan.h"

namespace sfshim {

// Pure part of the checks on counts and positions (rw_verify_area for the
// input): 0 or EINVAL. Unit-tested.
int check_range(int64_t pos, size_t count);

// The input's open flags allow reading (not write-only, not path-only).
bool can_read_flags(int flags);

// Runs every check up to the point where the kernel starts moving data.
// Returns 0 and fills `plan`, or the errno the kernel would give.
int validate(const Call& call, Plan* plan);

}  // namespace sfshim
