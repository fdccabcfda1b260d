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

using sftest::Via;

namespace {

// Every shim way of calling this process can run (sftest::shim_vias), less
// the compat profile under memcheck: its paths run under memcheck in the
// fault suite's tables; here they would add a ninth of the longest memcheck
// entry. SFSHIM_DIFF_SELFCHECK=1 also compares the kernel with itself on a
// second fresh fixture: a failure there is a nondeterministic case, not a
// shim bug.
const std::vector<Via> &all_shim_vias()
{
    static const std::vector<Via> vias = [] {
        std::vector<Via> v;
        if (env_u64("SFSHIM_DIFF_SELFCHECK", 0))
            v.push_back(Via::Kernel);
        for (Via via : sftest::shim_vias())
            if (!(via == Via::AutoCompat && RUNNING_ON_VALGRIND))
                v.push_back(via);
        return v;
    }();
    return vias;
}

} // namespace

Observation check_against_kernel(const Spec &spec)
{
    return check_against_kernel(spec, all_shim_vias());
}

Observation check_against_kernel(const Spec &spec, const std::vector<Via> &vias)
{
    INFO("case: " << spec.describe());
    Observation kernel = run_in_child(spec, Via::Kernel);
    INFO("kernel: " << kernel.describe());
    if (!kernel.harness_error.empty()) {
        FAIL_CHECK("the kernel run itself broke: " << kernel.harness_error);
        return kernel;
    }
    for (Via via : vias) {
        if (const char *why = cannot_run(spec, via)) {
            SUCCEED(name(via) << " not run: " << why);
            continue;
        }
        Observation shim = run_in_child(spec, via);
        std::vector<std::string> diffs = differences(spec, kernel, shim);
        if (diffs.empty()) {
            SUCCEED(name(via) << " matches the kernel");
            continue;
        }
        std::string msg = std::string(name(via)) + " differs from the kernel:";
        for (const std::string &d : diffs)
            msg += "\n    " + d;
        msg += "\n  " + std::string(name(via)) + ": " + shim.describe();
        FAIL_CHECK(msg);
    }
    return kernel;
}

} // namespace sfdiff
