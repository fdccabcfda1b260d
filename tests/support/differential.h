// The Catch2 side: run a case through the kernel and every shim mode, and
// report each difference.
#pragma once

#include <initializer_list>
#include <vector>

#include "child.h"
#include "fixture.h"
#include "io.h"

namespace sfdiff {

// Every mode the shim has, including AUTO inside kernels without sendfile.
const std::vector<Caller> &all_shim_callers();

// Runs the kernel oracle once, then each caller, each on a fresh fixture,
// and fails a Catch2 check for every caller that differs. Returns the
// kernel's observation so that callers can add their own sanity checks.
Observation check_against_kernel(const Spec &spec);
Observation check_against_kernel(const Spec &spec, const std::vector<Caller> &callers);

// Environment knobs with defaults.
using sftest::env_u64;

} // namespace sfdiff
