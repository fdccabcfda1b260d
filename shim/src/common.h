// Small things every part of the library needs.
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define SFSHIM_API __attribute__((visibility("default")))

namespace sfshim {

// The kernel clamps every read and write to this (INT_MAX rounded down to a page).
constexpr size_t kMaxRwCount = 0x7ffff000;
constexpr size_t kPageSize = 4096;  // the unit the kernel's pipe buffers are counted in

template <typename T>
constexpr T min_of(T a, T b) { return a < b ? a : b; }
template <typename T>
constexpr T max_of(T a, T b) { return a > b ? a : b; }

// Restores errno when it goes out of scope unless told otherwise: the library
// makes syscalls of its own, and a successful sendfile leaves errno alone.
class ErrnoGuard {
public:
    ErrnoGuard() : saved_(errno) {}
    ~ErrnoGuard() { errno = saved_; }
    void set_result(int err) { saved_ = err; }
    ErrnoGuard(const ErrnoGuard&) = delete;
    ErrnoGuard& operator=(const ErrnoGuard&) = delete;

private:
    int saved_;
};

}  // namespace sfshim
