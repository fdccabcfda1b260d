#include "differential.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "observation.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

namespace sfdiff {

// SFSHIM_DIFF_SELFCHECK=1 also compares the kernel with itself on a second
// fresh fixture: a failure there is a nondeterministic case, not a shim bug.
const std::vector<Caller> &all_shim_callers()
{
    static const std::vector<Caller> callers = [] {
        std::vector<Caller> c = {Caller::Emulate,    Caller::Mmap,      Caller::Rw,
                                 Caller::Auto,       Caller::AutoEnosys, Caller::AutoEperm,
                                 Caller::AutoFreebsd};
        // The compat profile's paths run under memcheck in the fault suite's
        // tables; here they would add a ninth of the longest memcheck entry.
        if (!RUNNING_ON_VALGRIND)
            c.push_back(Caller::AutoCompat);
        // A layer this process cannot enter is left out, said once.
        for (Caller layer : {Caller::AutoLinuxulator, Caller::AutoIllumosLx}) {
            if (const char *why = sftest::layer_unavailable(layer_of(layer)->layer))
                sftest::note_left_out(name(layer), why);
            else
                c.push_back(layer);
        }
        if (env_u64("SFSHIM_DIFF_SELFCHECK", 0))
            c.insert(c.begin(), Caller::Kernel);
        return c;
    }();
    return callers;
}

Observation check_against_kernel(const Spec &spec)
{
    return check_against_kernel(spec, all_shim_callers());
}

Observation check_against_kernel(const Spec &spec, const std::vector<Caller> &callers)
{
    INFO("case: " << spec.describe());
    Observation kernel = run_in_child(spec, Caller::Kernel);
    INFO("kernel: " << kernel.describe());
    if (!kernel.harness_error.empty()) {
        FAIL_CHECK("the kernel run itself broke: " << kernel.harness_error);
        return kernel;
    }
    for (Caller c : callers) {
        if (const char *why = cannot_run(spec, c)) {
            SUCCEED(name(c) << " not run: " << why);
            continue;
        }
        Observation shim = run_in_child(spec, c);
        std::vector<std::string> diffs = differences(spec, kernel, shim);
        if (diffs.empty()) {
            SUCCEED(name(c) << " matches the kernel");
            continue;
        }
        std::string msg = std::string(name(c)) + " differs from the kernel:";
        for (const std::string &d : diffs)
            msg += "\n    " + d;
        msg += "\n  " + std::string(name(c)) + ": " + shim.describe();
        FAIL_CHECK(msg);
    }
    return kernel;
}

} // namespace sfdiff
