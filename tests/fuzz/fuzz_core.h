// The randomised differential runner's core: an episode is a list of steps
// (sendfile calls with random descriptors, offsets, counts and pointers,
// interleaved with truncations, extensions and lseeks of the files), run on
// twin fixtures by the kernel and by one shim mode, each in its own child.
// Every step's observation must be identical.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util.h"

namespace sffuzz {

enum class Op { Send, Truncate, Extend, SeekIn, SeekOut };

struct Step {
    Op op = Op::Send;
    int in = 0;     // index into the input pool
    int out = 0;    // index into the output pool
    int ptr = 0;    // 0 NULL, 1 good, 2 PROT_NONE, 3 PROT_READ
    int64_t offset = 0;
    uint64_t count = 0;
    int64_t arg = 0; // size for Truncate/Extend, position for Seek*
    std::string describe() const;
};

// A source of randomness: a seeded generator, or the bytes of a fuzz input.
using Rand = std::function<uint64_t()>;

std::vector<Step> make_episode(Rand rand, size_t steps);

// Runs the steps in a child (with the via's seccomp filter) and returns one
// observation line per step, or an error.
std::vector<std::string> run_episode(sffault::Via via, const std::vector<Step> &steps, std::string &error);

// Index of the first step whose observations differ, or -1.
long first_difference(const std::vector<std::string> &a, const std::vector<std::string> &b);

// The shim modes a fuzz episode can use.
const std::vector<sffault::Via> &fuzz_vias();

} // namespace sffuzz
