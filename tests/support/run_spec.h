// Runs one differential case in a forked child, the call made the way a Via
// says (possibly inside a kernel that refuses sendfile or a compat layer),
// and brings the observation back.
#pragma once

#include "fixture.h"
#include "observation.h"
#include "via.h"

namespace sfdiff {

// Why a case cannot be made under the via's kernel, or nullptr. Under a
// layer without /proc: an input under /proc; under one that refuses
// F_SETPIPE_SZ: a pipe of another size than the default.
const char *cannot_run(const Spec &spec, sftest::Via via);

// Fork, build the fixture fresh, make the call(s), observe, report over a
// pipe (sftest::run_child). A crash, a hang (timeout_ms) or a broken report
// becomes Observation::harness_error instead of taking the test binary down.
// The deadline only catches a hung call: far beyond the slowest case (2 GiB
// through the kernel) on a loaded machine.
Observation run_in_child(const Spec &spec, sftest::Via via, int timeout_ms = 120000);

} // namespace sfdiff
