// The Catch2 side: run a case through the kernel and every shim mode, and
// report each difference.
#pragma once

#include <vector>

#include "fixture.h"
#include "io.h"
#include "run_spec.h"

namespace sfdiff {

// Runs the kernel oracle once, then each via, each on a fresh fixture, and
// fails a Catch2 check for every via that differs. Without a list: every
// mode the shim has, AUTO inside kernels without sendfile included. Returns
// the kernel's observation so that callers can add their own sanity checks.
Observation check_against_kernel(const Spec &spec);
Observation check_against_kernel(const Spec &spec, const std::vector<sftest::Via> &vias);

// Environment knobs with defaults.
using sftest::env_u64;

} // namespace sfdiff
