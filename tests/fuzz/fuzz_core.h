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

// Rewrite, Replace and Unlink come only in cache episodes (below).
enum class Op { Send, Truncate, Extend, SeekIn, SeekOut, Rewrite, Replace, Unlink };

struct Step {
    Op op = Op::Send;
    int in = 0;     // index into the input pool (Rewrite, Replace, Unlink: fileA or ext4C)
    int out = 0;    // index into the output pool
    int ptr = 0;    // 0 NULL, 1 good, 2 PROT_NONE, 3 PROT_READ
    int64_t offset = 0; // Send: *offset; Rewrite, Replace: the new bytes' seed
    uint64_t count = 0; // Send: count; Rewrite: how many bytes
    int64_t arg = 0; // size for Truncate/Extend/Replace, position for Seek*/Rewrite
    std::string describe() const;
};

// A source of randomness: a seeded generator, or the bytes of a fuzz input.
using Rand = std::function<uint64_t()>;

std::vector<Step> make_episode(Rand rand, size_t steps);

// Cache episodes (sfshim_fuzz --cache): fileA and ext4C stay linked, in
// directories of their own, so that the shim's mapping cache keeps them
// (every other episode's files are unlinked, which the cache never keeps),
// within limits drawn per episode; their steps add bytes rewritten in
// place, a new file renamed over the name (and reopened) and unlinks, and
// lean on small calls with an offset. The shim's runs also check the cache's
// limits after every call. Other episodes are what they always were.
struct CacheSetup {
    bool on = false;
    uint64_t bytes = 0, entries = 0, segment = 0;
    uint32_t idle_ms = 0;
    std::string describe() const;
};
CacheSetup make_cache_setup(Rand rand);
std::vector<Step> make_cache_episode(Rand rand, size_t steps);

// What the shim's cache counted in one run (zero for the kernel's).
struct CacheCounts {
    uint64_t hits = 0, misses = 0, bypasses = 0, evictions = 0;
};

// Runs the steps in a child (with the via's seccomp filter) and returns one
// observation line per step, or an error.
std::vector<std::string> run_episode(sffault::Via via, const std::vector<Step> &steps, std::string &error,
                                     const CacheSetup &cache = CacheSetup(), CacheCounts *counts = nullptr);

// Index of the first step whose observations differ, or -1.
long first_difference(const std::vector<std::string> &a, const std::vector<std::string> &b);

// The shim modes a fuzz episode can use; those of a cache episode (the
// modes that use the cache, and RW, which never does).
const std::vector<sffault::Via> &fuzz_vias();
const std::vector<sffault::Via> &cache_fuzz_vias();
// Makes an episode fit a way of calling: under a layer whose pipes' queue
// cannot be seen (layers.h), its sends into the pipe go to the Unix socket.
void fit_to_via(sffault::Via via, std::vector<Step> &steps);

} // namespace sffuzz
