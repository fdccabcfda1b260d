// Runs a function in a forked child and brings back the string it returns,
// so that a crash (SIGBUS, SIGSEGV), a hang or a filter that cannot be
// undone stays in the child and becomes a test failure.
#pragma once

#include <functional>
#include <string>

namespace sftest {

struct ChildResult {
    std::string report; // what fn returned (what arrived of it, when the child broke)
    std::string error;  // empty when the child returned a whole report and exited 0
};

// Forks; the child runs fn, sends back its string and exits. `error` says
// what went wrong otherwise: the child was killed by a signal, it exited
// without a whole report (an exception counts), it exited non-zero after
// one (a checker's exit code, such as valgrind's --error-exitcode), or it
// ran past timeout_ms, and was then killed. The deadline only catches a
// hang: make it far beyond the slowest run on a loaded machine.
ChildResult run_child(const std::function<std::string()> &fn, int timeout_ms = 60000);

} // namespace sftest
