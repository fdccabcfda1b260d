// Small I/O helpers shared by every test library.
#pragma once

#include <cstdint>
#include <string>

#include <sys/types.h>

namespace sftest {

// Writes all of s to fd (retrying after EINTR and short writes); false on error.
bool write_all(int fd, const std::string &s);

// Appends what fd delivers to *out until end of file, an error, or timeout_ms;
// true when the time ran out first.
bool read_until_eof(int fd, int timeout_ms, std::string *out);

// The end of a forked child that reports through the pipe `fd`: reads the
// report into *out for at most timeout_ms, closes fd, kills the child if the
// time ran out, and reaps it.
struct ChildEnd {
    bool timed_out = false;
    int status = 0; // waitpid's
};
ChildEnd collect_child(pid_t pid, int fd, int timeout_ms, std::string *out);

// A connected TCP pair on the loopback (the listener on port 0, closed
// again). false, with *err set when given, on failure; then nothing is left
// open.
bool tcp_pair(int &a, int &b, std::string *err = nullptr);

// Sets or clears O_NONBLOCK; false on error.
bool set_nonblock(int fd, bool on = true);

// An unsigned number from the environment (decimal, 0x hex or 0 octal), or
// fallback when unset, empty or not a number.
uint64_t env_u64(const char *name, uint64_t fallback);

// The harness's own view of /proc, which it keeps where the program under
// test has none (the compat profile's empty /proc): opens "/proc/" + rel, or
// rel under the real /proc given to set_real_proc (an O_PATH descriptor).
int proc_open(const std::string &rel, int flags);
void set_real_proc(int dirfd);

} // namespace sftest
