// sfshim_fuzz: a seeded randomised differential runner.
//
//   sfshim_fuzz [--seed N] [--seconds S] [--iterations N] [--steps N] [--cache]
//
// Each iteration draws an episode of random steps and a random shim mode,
// runs the episode on twin fixtures through the kernel and through the shim
// (each in its own child), and compares every step's observation. On a
// mismatch it shrinks the episode (dropping steps while the mismatch
// remains), prints the seed, the minimal episode and the first differing
// step, and exits 1. Defaults: a random seed (printed), 10 seconds,
// unlimited iterations, 24 steps; with --iterations and no --seconds, no
// time bound. SFSHIM_SEED, SFSHIM_FUZZ_SECONDS and SFSHIM_FUZZ_ITERATIONS
// also set them (the options win). --cache draws cache episodes instead
// (fuzz_core.h: linked files, the cache's limits drawn per episode, rewrites,
// replacements and unlinks between calls); a run of a fixed number of them
// also fails if the cache never hit in all its shim runs. Without --cache the
// episodes of a seed are what they always were.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "fuzz_core.h"

using namespace sffuzz;
using sffault::Via;

namespace {

struct Mismatch {
    long step = -1;
    std::string kernel, shim, error;
};

Mismatch compare(Via via, const std::vector<Step> &steps, const CacheSetup &cache, CacheCounts *counts = nullptr)
{
    Mismatch m;
    std::string ek, es;
    std::vector<std::string> k = run_episode(Via::Kernel, steps, ek, cache);
    std::vector<std::string> s = run_episode(via, steps, es, cache, counts);
    if (!ek.empty()) {
        m.error = "the kernel run broke: " + ek;
        m.step = static_cast<long>(k.size());
        return m;
    }
    if (!es.empty()) {
        m.error = "the shim run broke: " + es;
        m.step = static_cast<long>(s.size());
        return m;
    }
    m.step = first_difference(k, s);
    if (m.step >= 0) {
        m.kernel = static_cast<size_t>(m.step) < k.size() ? k[static_cast<size_t>(m.step)] : "(none)";
        m.shim = static_cast<size_t>(m.step) < s.size() ? s[static_cast<size_t>(m.step)] : "(none)";
    }
    return m;
}

uint64_t arg_u64(int argc, char **argv, const char *name, uint64_t fallback)
{
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0)
            return std::strtoull(argv[i + 1], nullptr, 0);
    return fallback;
}

} // namespace

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::puts("usage: sfshim_fuzz [--seed N] [--seconds S] [--iterations N] [--steps N] [--cache]");
            return 0;
        }
    bool cache = false;
    for (int i = 1; i < argc; ++i)
        cache = cache || std::strcmp(argv[i], "--cache") == 0;
    uint64_t seed = arg_u64(argc, argv, "--seed",
                            sffault::env_u64("SFSHIM_SEED", std::random_device{}() ^ static_cast<uint64_t>(sffault::now_ms())));
    // A number of episodes makes a run the same cases on every machine; a
    // number of seconds only bounds it. With episodes and no seconds (option
    // or SFSHIM_FUZZ_SECONDS), time does not bound the run.
    uint64_t iterations = arg_u64(argc, argv, "--iterations", sffault::env_u64("SFSHIM_FUZZ_ITERATIONS", UINT64_MAX));
    bool has_seconds = std::getenv("SFSHIM_FUZZ_SECONDS") != nullptr;
    for (int i = 1; i < argc; ++i)
        has_seconds = has_seconds || std::strcmp(argv[i], "--seconds") == 0;
    bool timed = has_seconds || iterations == UINT64_MAX;
    uint64_t seconds = arg_u64(argc, argv, "--seconds", sffault::env_u64("SFSHIM_FUZZ_SECONDS", 10));
    size_t steps_per = static_cast<size_t>(arg_u64(argc, argv, "--steps", 24));
    std::string bound = iterations != UINT64_MAX ? std::to_string(iterations) + " episodes" : std::string();
    if (timed)
        bound += (bound.empty() ? "" : " at most, ") + std::to_string(seconds) + " s";
    std::string repeat = "--seed " + std::to_string(seed);
    if (iterations != UINT64_MAX)
        repeat += " --iterations " + std::to_string(iterations);
    if (cache)
        repeat += " --cache";
    std::printf("sfshim_fuzz: seed %llu, %s, steps %zu%s (repeat with %s)\n", static_cast<unsigned long long>(seed),
                bound.c_str(), steps_per, cache ? ", cache episodes" : "", repeat.c_str());
    std::fflush(stdout);

    std::mt19937_64 master(seed);
    const int64_t deadline = sffault::now_ms() + static_cast<int64_t>(seconds) * 1000;
    uint64_t done = 0, calls = 0;
    CacheCounts total;
    while (done < iterations && (!timed || sffault::now_ms() < deadline)) {
        uint64_t episode_seed = master();
        std::mt19937_64 rng(episode_seed);
        Rand rand = [&rng] { return rng(); };
        const std::vector<Via> &vias = cache ? cache_fuzz_vias() : fuzz_vias();
        Via via = vias[rng() % vias.size()];
        std::vector<Step> steps = cache ? make_cache_episode(rand, steps_per) : make_episode(rand, steps_per);
        fit_to_via(via, steps);
        CacheSetup setup = cache ? make_cache_setup(rand) : CacheSetup();
        for (const Step &s : steps)
            calls += s.op == Op::Send;
        CacheCounts counts;
        Mismatch m = compare(via, steps, setup, &counts);
        total.hits += counts.hits;
        total.misses += counts.misses;
        total.bypasses += counts.bypasses;
        total.evictions += counts.evictions;
        ++done;
        if (m.step < 0 && m.error.empty())
            continue;

        // Shrink: drop steps while the episode still fails the same way at
        // some step.
        std::vector<Step> small = steps;
        for (size_t i = 0; i < small.size() && i < 64;) {
            std::vector<Step> trial = small;
            trial.erase(trial.begin() + static_cast<long>(i));
            Mismatch t = compare(via, trial, setup);
            if (t.step >= 0 || !t.error.empty()) {
                small = trial;
                m = t;
            } else {
                ++i;
            }
        }
        std::printf("MISMATCH: seed %llu, iteration %llu, episode seed %llu, %s\n",
                    static_cast<unsigned long long>(seed), static_cast<unsigned long long>(done),
                    static_cast<unsigned long long>(episode_seed), sffault::name(via));
        if (setup.on)
            std::printf("  %s\n", setup.describe().c_str());
        if (!m.error.empty())
            std::printf("  %s\n", m.error.c_str());
        std::printf("  minimal episode (%zu steps; the first differing step is marked):\n", small.size());
        for (size_t i = 0; i < small.size(); ++i)
            std::printf("  %s %2zu. %s\n", static_cast<long>(i) == m.step ? "=>" : "  ", i, small[i].describe().c_str());
        if (m.error.empty()) {
            std::printf("  kernel: %s\n", m.kernel.c_str());
            std::printf("  shim:   %s\n", m.shim.c_str());
        }
        return 1;
    }
    std::printf("sfshim_fuzz: %llu episodes, %llu sendfile calls per side, no difference (seed %llu)\n",
                static_cast<unsigned long long>(done), static_cast<unsigned long long>(calls),
                static_cast<unsigned long long>(seed));
    if (!cache)
        return 0;
    std::printf("sfshim_fuzz: the shim's cache: %llu hits, %llu misses, %llu bypasses, %llu evictions\n",
                static_cast<unsigned long long>(total.hits), static_cast<unsigned long long>(total.misses),
                static_cast<unsigned long long>(total.bypasses), static_cast<unsigned long long>(total.evictions));
    // A fixed number of episodes is the same run everywhere: a cache that
    // never hit in it means the episodes no longer reach the cache.
    if (!timed && total.hits == 0) {
        std::printf("FAILED: the cache never hit in %llu cache episodes\n", static_cast<unsigned long long>(done));
        return 1;
    }
    return 0;
}
