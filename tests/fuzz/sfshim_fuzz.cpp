// sfshim_fuzz: a seeded randomised differential runner.
//
//   sfshim_fuzz [--seed N] [--seconds S] [--iterations N] [--steps N]
//
// Each iteration draws an episode of random steps and a random shim mode,
// runs the episode on twin fixtures through the kernel and through the shim
// (each in its own child), and compares every step's observation. On a
// mismatch it shrinks the episode (dropping steps while the mismatch
// remains), prints the seed, the minimal episode and the first differing
// step, and exits 1. Defaults: a random seed (printed), 10 seconds,
// unlimited iterations, 24 steps; with --iterations and no --seconds, no
// time bound. SFSHIM_SEED, SFSHIM_FUZZ_SECONDS and SFSHIM_FUZZ_ITERATIONS
// also set them (the options win).
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

Mismatch compare(Via via, const std::vector<Step> &steps)
{
    Mismatch m;
    std::string ek, es;
    std::vector<std::string> k = run_episode(Via::Kernel, steps, ek);
    std::vector<std::string> s = run_episode(via, steps, es);
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
            std::puts("usage: sfshim_fuzz [--seed N] [--seconds S] [--iterations N] [--steps N]");
            return 0;
        }
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
    std::printf("sfshim_fuzz: seed %llu, %s, steps %zu (repeat with %s)\n", static_cast<unsigned long long>(seed),
                bound.c_str(), steps_per, repeat.c_str());
    std::fflush(stdout);

    std::mt19937_64 master(seed);
    const int64_t deadline = sffault::now_ms() + static_cast<int64_t>(seconds) * 1000;
    uint64_t done = 0, calls = 0;
    while (done < iterations && (!timed || sffault::now_ms() < deadline)) {
        uint64_t episode_seed = master();
        std::mt19937_64 rng(episode_seed);
        Rand rand = [&rng] { return rng(); };
        Via via = fuzz_vias()[rng() % fuzz_vias().size()];
        std::vector<Step> steps = make_episode(rand, steps_per);
        for (const Step &s : steps)
            calls += s.op == Op::Send;
        Mismatch m = compare(via, steps);
        ++done;
        if (m.step < 0 && m.error.empty())
            continue;

        // Shrink: drop steps while the episode still fails the same way at
        // some step.
        std::vector<Step> small = steps;
        for (size_t i = 0; i < small.size() && i < 64;) {
            std::vector<Step> trial = small;
            trial.erase(trial.begin() + static_cast<long>(i));
            Mismatch t = compare(via, trial);
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
    return 0;
}
