// Randomised differential runs: random fixtures, offsets and counts, each run
// through the kernel and every shim mode. Two runs: one from a fixed seed
// (SFSHIM_DIFF_FIXED_SEED changes it), the same cases every time, and one
// from a new seed each run (SFSHIM_SEED fixes it); both print their seed.
// SFSHIM_DIFF_ITERATIONS sets how many cases each (default 150).
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

#include "differential.h"

using namespace sfdiff;

namespace {

// The fixed run's seed (any number would do; this one is the date it was chosen).
constexpr uint64_t kFixedSeed = 20261201;

uint64_t random_size(std::mt19937_64 &rng)
{
    std::uniform_int_distribution<int> pick(0, 99);
    int p = pick(rng);
    if (p < 10)
        return std::uniform_int_distribution<uint64_t>(0, 16)(rng);
    if (p < 45)
        return std::uniform_int_distribution<uint64_t>(0, 70000)(rng);
    if (p < 85)
        return std::uniform_int_distribution<uint64_t>(0, 4 << 20)(rng);
    if (p < 97)
        return std::uniform_int_distribution<uint64_t>(4 << 20, 16 << 20)(rng);
    return std::uniform_int_distribution<uint64_t>(16 << 20, 64 << 20)(rng);
}

// Offsets that hit the interesting places: start, unaligned, page edges, EOF.
int64_t random_offset(std::mt19937_64 &rng, uint64_t size)
{
    int64_t sz = static_cast<int64_t>(size);
    switch (std::uniform_int_distribution<int>(0, 7)(rng)) {
    case 0: return 0;
    case 1: return std::uniform_int_distribution<int64_t>(0, 4095)(rng);
    case 2: return 4096 * std::uniform_int_distribution<int64_t>(0, sz / 4096 + 1)(rng);
    case 3: return sz;
    case 4: return sz + std::uniform_int_distribution<int64_t>(1, 100000)(rng);
    case 5: return sz > 0 ? sz - std::uniform_int_distribution<int64_t>(1, sz < 5000 ? sz : 5000)(rng) : 0;
    default: return std::uniform_int_distribution<int64_t>(0, sz)(rng);
    }
}

uint64_t random_count(std::mt19937_64 &rng, uint64_t size, int64_t offset)
{
    uint64_t left = offset < static_cast<int64_t>(size) ? size - static_cast<uint64_t>(offset) : 0;
    switch (std::uniform_int_distribution<int>(0, 5)(rng)) {
    case 0: return 0;
    case 1: return left;
    case 2: return left + std::uniform_int_distribution<uint64_t>(1, 100000)(rng);
    case 3: return std::uniform_int_distribution<uint64_t>(1, 4096)(rng);
    default: return std::uniform_int_distribution<uint64_t>(0, left + 1)(rng);
    }
}

Spec random_spec(std::mt19937_64 &rng)
{
    Spec s;
    s.seed = rng();
    int in = std::uniform_int_distribution<int>(0, 9)(rng);
    if (in < 4)
        s.input(In::File).on(Fs::Ext4);
    else if (in < 7)
        s.input(In::File).on(Fs::Tmpfs);
    else if (in < 9)
        s.input(In::Memfd);
    else
        s.input(In::UnixStream);
    s.size(random_size(rng));

    int out = std::uniform_int_distribution<int>(0, 11)(rng);
    switch (out) {
    case 0: s.output(Out::Tcp); break;
    case 1: s.output(Out::Tcp).nonblocking().small_bufs(); break;
    case 2: s.output(Out::UnixStream); break;
    case 3: s.output(Out::UnixStream).nonblocking().small_bufs(); break;
    case 4: s.output(Out::UnixDgram); break;
    case 5: s.output(Out::Pipe).nonblocking(); break;
    case 6: // blocking: at least one free slot, or the kernel would wait for a reader
        s.output(Out::Pipe).pipe(1 << std::uniform_int_distribution<int>(13, 20)(rng),
                                 std::uniform_int_distribution<int64_t>(0, 4000)(rng));
        break;
    case 7: s.output(Out::Pipe).nonblocking().pipe(0, -1); break;
    case 8: s.output_file(Access::WriteOnly, Fs::Ext4); break;
    case 9: s.output_file(Access::ReadWrite, Fs::Tmpfs); break;
    case 10: s.output(Out::DevNull); break;
    default: s.output_file(Access::Append); break;
    }
    if (s.out == Out::File)
        s.output_prefill(std::uniform_int_distribution<uint64_t>(0, 10000)(rng),
                         std::uniform_int_distribution<int64_t>(0, 12000)(rng));

    if (s.in == In::UnixStream) {
        // Sockets only reach outputs through the pipe path; keep the data
        // within the socket buffer so that the writer never blocks.
        s.size(s.in_size % 100000);
        // A blocking pipe with too little room for a socket buffer keeps the
        // kernel's own call waiting for a reader that never comes.
        if (s.out == Out::Pipe && !s.out_nonblock)
            s.nonblocking();
        if (std::uniform_int_distribution<int>(0, 3)(rng) == 0)
            s.at(0); // ESPIPE
        s.bytes(random_count(rng, s.in_size, 0));
        return s;
    }
    int64_t off = random_offset(rng, s.in_size);
    if (std::uniform_int_distribution<int>(0, 2)(rng) == 0)
        s.position(off);
    else
        s.at(off);
    s.bytes(random_count(rng, s.in_size, off));
    // i386: a third of the cases through the 32-bit sendfile (offsets here
    // stay far below 2 GiB), the rest through sendfile64.
    if (kHaveSendfile32 && std::uniform_int_distribution<int>(0, 2)(rng) == 0)
        s.sendfile32();
    return s;
}

// One run of `iterations` cases from `seed`, printed before the first case
// (CTest keeps the output) and attached to a failure.
void random_run(uint64_t seed, const char *repeat)
{
    uint64_t iterations = env_u64("SFSHIM_DIFF_ITERATIONS", 150);
    std::printf("random differential run: seed %llu, %llu cases (repeat with %s SFSHIM_DIFF_ITERATIONS=%llu)\n",
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(iterations), repeat,
                static_cast<unsigned long long>(iterations));
    std::fflush(stdout);
    CAPTURE(seed);
    INFO("rerun with " << repeat << " SFSHIM_DIFF_ITERATIONS=" << iterations);
    std::mt19937_64 rng(seed);
    for (uint64_t i = 0; i < iterations; ++i) {
        Spec s = random_spec(rng);
        CAPTURE(i);
        check_against_kernel(s);
    }
}

} // namespace

// The same cases every run (SFSHIM_DIFF_FIXED_SEED changes the seed): a
// failure here repeats as it is.
TEST_CASE("random cases behave as the kernel does (fixed seed)", "[random]")
{
    uint64_t seed = env_u64("SFSHIM_DIFF_FIXED_SEED", kFixedSeed);
    std::string repeat = "SFSHIM_DIFF_FIXED_SEED=" + std::to_string(seed);
    random_run(seed, repeat.c_str());
}

// New cases each run, from a seed that is printed (SFSHIM_SEED fixes it).
TEST_CASE("random cases behave as the kernel does (new seed each run)", "[random-new-seed]")
{
    uint64_t seed = env_u64("SFSHIM_SEED", static_cast<uint64_t>(
                                               std::chrono::system_clock::now().time_since_epoch().count()));
    std::string repeat = "SFSHIM_SEED=" + std::to_string(seed);
    random_run(seed, repeat.c_str());
}
