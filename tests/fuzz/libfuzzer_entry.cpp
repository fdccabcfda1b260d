// libFuzzer entry point: the input's bytes drive the choices of an episode
// (mode, steps, offsets, counts); a difference from the kernel aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fuzz_core.h"

using namespace sffuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t at = 0;
    Rand rand = [&]() -> uint64_t {
        uint64_t x = 0;
        for (int i = 0; i < 8; ++i)
            x = (x << 8) | (at < size ? data[at++] : 0);
        return x;
    };
    sffault::Via via = fuzz_vias()[rand() % fuzz_vias().size()];
    std::vector<Step> steps = make_episode(rand, std::min<size_t>(16, size / 24 + 1));
    fit_to_via(via, steps);
    std::string ek, es;
    std::vector<std::string> k = run_episode(sffault::Via::Kernel, steps, ek);
    std::vector<std::string> s = run_episode(via, steps, es);
    long d = first_difference(k, s);
    if (!es.empty() || (ek.empty() && d >= 0)) {
        std::fprintf(stderr, "MISMATCH (%s) at step %ld%s%s\n", sffault::name(via), d, es.empty() ? "" : ": ", es.c_str());
        for (size_t i = 0; i < steps.size(); ++i)
            std::fprintf(stderr, "  %s %zu. %s\n", static_cast<long>(i) == d ? "=>" : "  ", i, steps[i].describe().c_str());
        if (d >= 0)
            std::fprintf(stderr, "  kernel: %s\n  shim:   %s\n", static_cast<size_t>(d) < k.size() ? k[static_cast<size_t>(d)].c_str() : "",
                         static_cast<size_t>(d) < s.size() ? s[static_cast<size_t>(d)].c_str() : "");
        std::abort();
    }
    return 0;
}
