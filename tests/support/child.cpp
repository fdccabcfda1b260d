#include "child.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "io.h"

namespace sftest {

namespace {

// The report starts with this byte, so that an empty report and no report
// differ.
constexpr char kReport = 'R';

// The child's side: runs fn and writes the report. An exception ends the
// child without a report; it must not unwind into the parent's test runner,
// which the child has a copy of.
[[noreturn]] void child_side(const std::function<std::string()> &fn, int fd)
{
    std::string r;
    try {
        r = fn();
    } catch (...) {
        _exit(4);
    }
    // A SIGPIPE must not kill the reporter. Tests that study SIGPIPE set
    // their own disposition in fn, so this comes after it.
    signal(SIGPIPE, SIG_IGN);
    _exit(write_all(fd, kReport + r) ? 0 : 3);
}

} // namespace

ChildResult run_child(const std::function<std::string()> &fn, int timeout_ms)
{
    ChildResult res;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        res.error = std::string("pipe2 for the report failed: ") + std::strerror(errno);
        return res;
    }
    // Buffered output would be written twice, once by the child.
    fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
        res.error = std::string("fork failed: ") + std::strerror(errno);
        close(p[0]);
        close(p[1]);
        return res;
    }
    if (pid == 0) {
        close(p[0]);
        child_side(fn, p[1]);
    }
    close(p[1]);

    ChildEnd end = collect_child(pid, p[0], timeout_ms, &res.report);
    int status = end.status;
    if (end.timed_out)
        res.error = "timed out after " + std::to_string(timeout_ms) + " ms (the child hung?)";
    else if (WIFSIGNALED(status))
        res.error = std::string("killed by signal ") + strsignal(WTERMSIG(status));
    else if (res.report.empty() || res.report[0] != kReport)
        res.error = "no report (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
    else if (WEXITSTATUS(status) != 0)
        res.error = "exit status " + std::to_string(WEXITSTATUS(status)) + " after the report";
    if (!res.report.empty() && res.report[0] == kReport)
        res.report.erase(0, 1);
    return res;
}

} // namespace sftest
